// Firstline live chat widget: plain JavaScript, no build step, no requests to anyone but the desk.
// Loaded by /chat/<key>/widget.js, which sets window.FirstlineChat (key, languages, texts).
// Everything a visitor or agent wrote is inserted with textContent, never as HTML.
(function () {
  var cfg = window.FirstlineChat;
  if (!cfg || document.getElementById("flc-launcher")) return;
  var base = cfg.base;
  var store = "flc:" + base;
  var hostLang = (document.documentElement.lang || "").slice(0, 2).toLowerCase();
  var codes = cfg.languages.map(function (l) { return l.code; });
  var lang = codes.indexOf(hostLang) >= 0 ? hostLang : cfg.default;
  var t = function (name) { return (cfg.texts[lang] || cfg.texts[cfg.default])[name]; };
  var online = {};
  var token = null;
  var source = null;
  var seen = {};
  var hasEmail = false;

  var css = "#flc-launcher{position:fixed;right:1.25rem;bottom:1.25rem;z-index:2147483000;border:0;border-radius:2rem;" +
    "padding:.8rem 1.2rem;color:#fff;font:600 15px/1.2 system-ui,sans-serif;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25)}" +
    "#flc-panel{position:fixed;right:1.25rem;bottom:4.75rem;z-index:2147483000;width:22rem;max-width:calc(100vw - 2.5rem);" +
    "max-height:75vh;display:flex;flex-direction:column;background:#fff;color:#1d2733;border-radius:.75rem;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.3);font:14px/1.4 system-ui,sans-serif;overflow:hidden}" +
    "#flc-panel[hidden]{display:none}#flc-panel header{display:flex;justify-content:space-between;align-items:center;padding:.7rem 1rem;color:#fff}" +
    "#flc-panel header button{background:none;border:0;color:#fff;font-size:1.2rem;cursor:pointer}" +
    "#flc-body{padding:.75rem 1rem;overflow:auto;flex:1}#flc-body label{display:block;margin:.5rem 0 .15rem;font-weight:600}" +
    "#flc-body input[type=text],#flc-body input[type=email],#flc-body select,#flc-body textarea{width:100%;box-sizing:border-box;" +
    "padding:.45rem;border:1px solid #b8c2cc;border-radius:.35rem;font:inherit}" +
    "#flc-body .flc-check{display:flex;gap:.4rem;align-items:center;font-weight:400}" +
    ".flc-btn{margin-top:.6rem;border:0;border-radius:.35rem;padding:.5rem .9rem;color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer}" +
    ".flc-btn-ghost{background:#e9edf1!important;color:#1d2733}.flc-error{color:#b00020;margin:.2rem 0}.flc-note{color:#4a5663}" +
    "#flc-log{list-style:none;margin:0;padding:0}#flc-log li{margin:.35rem 0;padding:.45rem .6rem;border-radius:.5rem;background:#eef2f6;" +
    "white-space:pre-wrap;overflow-wrap:anywhere}#flc-log li.flc-visitor{background:#dff0ff;margin-left:2rem}" +
    "#flc-log li.flc-system{background:none;color:#4a5663;font-style:italic;text-align:center}#flc-log .flc-name{display:block;font-size:.8rem;color:#4a5663}" +
    "#flc-compose{border-top:1px solid #e2e7ec;padding:.6rem 1rem}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "className") node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var style = el("style", {}, css);
  document.head.appendChild(style);
  var launcher = el("button", { id: "flc-launcher", type: "button" }, t("open"));
  launcher.style.background = cfg.brand;
  var panel = el("section", { id: "flc-panel", role: "dialog", "aria-label": t("title") });
  panel.hidden = true;
  var header = el("header");
  header.style.background = cfg.brand;
  var title = el("strong", {}, cfg.name);
  var close = el("button", { type: "button", "aria-label": t("close") }, "×");
  header.appendChild(title);
  header.appendChild(close);
  var body = el("div", { id: "flc-body" });
  var compose = el("div", { id: "flc-compose" });
  compose.hidden = true;
  panel.appendChild(header);
  panel.appendChild(body);
  panel.appendChild(compose);
  document.body.appendChild(panel);
  document.body.appendChild(launcher);

  function button(id, text, ghost) {
    var b = el("button", { id: id, type: "button", className: "flc-btn" + (ghost ? " flc-btn-ghost" : "") }, text);
    if (!ghost) b.style.background = cfg.brand;
    return b;
  }

  function api(method, path, payload) {
    return fetch(base + path, {
      method: method,
      headers: payload ? { "Content-Type": "application/json" } : {},
      body: payload ? JSON.stringify(payload) : undefined,
      credentials: "omit"
    }).then(function (response) {
      if (response.status === 204) return { status: 204, data: {} };
      return response.json().then(function (data) { return { status: response.status, data: data }; },
        function () { return { status: response.status, data: {} }; });
    });
  }

  function notice(text, cls) {
    return el("p", { id: "flc-notice", className: cls || "flc-note" }, text);
  }

  function unavailable() {
    body.textContent = "";
    compose.hidden = true;
    body.appendChild(notice(t("unavailable")));
  }

  // --- the pre-chat form (or, with nobody online, the leave-a-message form) -------------------
  var values = { name: "", email: "", topic: "", message: "", transcript: false };

  function field(id, label, input) {
    var wrap = el("div");
    wrap.appendChild(el("label", { "for": id }, label));
    wrap.appendChild(input);
    wrap.appendChild(el("p", { className: "flc-error", id: id + "-error" }));
    return wrap;
  }

  function remember() {
    ["name", "email", "topic", "message"].forEach(function (k) {
      var input = document.getElementById("flc-" + k);
      if (input) values[k] = input.value;
    });
    var box = document.getElementById("flc-transcript");
    if (box) values.transcript = box.checked;
  }

  function form() {
    remember();
    body.textContent = "";
    compose.hidden = true;
    var offline = online[lang] === false;
    body.appendChild(notice(offline ? t("offline") : t("intro")));
    var name = el("input", { id: "flc-name", type: "text", maxlength: "200", autocomplete: "name" });
    name.value = values.name;
    body.appendChild(field("flc-name", t("name"), name));
    var email = el("input", { id: "flc-email", type: "email", maxlength: "254", autocomplete: "email" });
    email.value = values.email;
    body.appendChild(field("flc-email", offline ? t("email") : t("email_optional"), email));
    var select = el("select", { id: "flc-language" });
    cfg.languages.forEach(function (l) {
      var option = el("option", { value: l.code, lang: l.code }, l.name);
      if (l.code === lang) option.selected = true;
      select.appendChild(option);
    });
    select.addEventListener("change", function () { lang = select.value; refreshTexts(); form(); });
    body.appendChild(field("flc-language", t("language"), select));
    var topic = el("input", { id: "flc-topic", type: "text", maxlength: "300" });
    topic.value = values.topic;
    body.appendChild(field("flc-topic", t("topic"), topic));
    if (offline) {
      var message = el("textarea", { id: "flc-message", rows: "4" });
      message.value = values.message;
      body.appendChild(field("flc-message", t("message"), message));
      var leave = button("flc-leave", t("leave"));
      leave.addEventListener("click", submitOffline);
      body.appendChild(leave);
    } else {
      var check = el("label", { className: "flc-check" });
      var box = el("input", { id: "flc-transcript", type: "checkbox" });
      box.checked = values.transcript;
      check.appendChild(box);
      check.appendChild(document.createTextNode(t("transcript")));
      body.appendChild(check);
      var start = button("flc-start", t("start"));
      start.addEventListener("click", submitStart);
      body.appendChild(start);
    }
    body.appendChild(el("p", { className: "flc-error", id: "flc-form-error" }));
  }

  function payload() {
    remember();
    return { name: values.name, email: values.email, language: lang, topic: values.topic,
             transcript: values.transcript, message: values.message };
  }

  function showErrors(result) {
    var error = (result.data && result.data.error) || {};
    var fields = error.fields || {};
    Array.prototype.forEach.call(body.querySelectorAll(".flc-error"), function (p) { p.textContent = ""; });
    Object.keys(fields).forEach(function (k) {
      var target = document.getElementById("flc-" + k + "-error");
      if (target) target.textContent = fields[k];
    });
    if (!Object.keys(fields).length) {
      document.getElementById("flc-form-error").textContent = error.message || t("error");
    }
  }

  function submitStart() {
    api("POST", "/start", payload()).then(function (result) {
      if (result.status === 201) {
        token = result.data.token;
        hasEmail = !!values.email;
        sessionStorage.setItem(store, token);
        chat();
      } else if (result.status === 409) {
        online[lang] = false;
        form();
      } else if (result.status === 403) {
        unavailable();
      } else {
        showErrors(result);
      }
    }, function () { showErrors({}); });
  }

  function submitOffline() {
    api("POST", "/offline", payload()).then(function (result) {
      if (result.status === 201) {
        body.textContent = "";
        body.appendChild(notice(t("left")));
      } else if (result.status === 403) {
        unavailable();
      } else {
        showErrors(result);
      }
    }, function () { showErrors({}); });
  }

  // --- the conversation -----------------------------------------------------------------------
  var log, typingLine, input, typingTimer, lastTyping = 0;

  function addMessage(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var li = el("li", { className: "flc-" + m.author });
    li.dataset.id = m.id;
    if (m.author !== "system") li.appendChild(el("span", { className: "flc-name" }, m.author === "visitor" ? t("you") : m.name));
    li.appendChild(document.createTextNode(m.body));
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
    if (m.author === "agent") typingLine.hidden = true;
    if (m.event === "ended") finished();
  }

  function chat() {
    body.textContent = "";
    log = el("ol", { id: "flc-log", "aria-live": "polite" });
    typingLine = el("p", { id: "flc-typing", className: "flc-note" }, t("typing"));
    typingLine.hidden = true;
    body.appendChild(log);
    body.appendChild(typingLine);
    compose.textContent = "";
    compose.hidden = false;
    input = el("textarea", { id: "flc-input", rows: "2", placeholder: t("placeholder"), "aria-label": t("message") });
    var send = button("flc-send", t("send"));
    var end = button("flc-end", t("end"), true);
    var error = el("p", { className: "flc-error", id: "flc-send-error" });
    compose.appendChild(input);
    compose.appendChild(error);
    compose.appendChild(send);
    compose.appendChild(document.createTextNode(" "));
    compose.appendChild(end);
    var post = function () {
      var text = input.value.trim();
      if (!text) return;
      error.textContent = "";
      api("POST", "/s/" + token + "/messages", { body: text }).then(function (result) {
        if (result.status === 201) { input.value = ""; addMessage(result.data); }
        else error.textContent = (result.data.error && result.data.error.message) || t("error");
      }, function () { error.textContent = t("error"); });
    };
    send.addEventListener("click", post);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); post(); }
    });
    input.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000) { lastTyping = now; api("POST", "/s/" + token + "/typing"); }
    });
    end.addEventListener("click", function () { api("POST", "/s/" + token + "/end"); });
    connect();
    input.focus();
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(base + "/s/" + token + "/events");
    source.addEventListener("message", function (event) { addMessage(JSON.parse(event.data)); });
    source.addEventListener("typing", function () {
      typingLine.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingLine.hidden = true; }, 4000);
    });
  }

  function finished() {
    if (source) { source.close(); source = null; }
    sessionStorage.removeItem(store);
    compose.textContent = "";
    compose.appendChild(notice(t("ended")));
    if (hasEmail) {
      var mail = button("flc-send-transcript", t("send_transcript"), true);
      mail.addEventListener("click", function () {
        api("POST", "/s/" + token + "/transcript", {}).then(function (result) {
          if (result.status === 200) { mail.replaceWith(notice(t("transcript_sent"))); }
        });
      });
      compose.appendChild(mail);
    }
  }

  function refreshTexts() {
    launcher.textContent = t("open");
    close.setAttribute("aria-label", t("close"));
  }

  // --- opening --------------------------------------------------------------------------------
  function open() {
    panel.hidden = false;
    if (!cfg.available) { unavailable(); return; }
    if (token) return;
    var saved = sessionStorage.getItem(store);
    if (saved) {
      api("GET", "/s/" + saved).then(function (result) {
        if (result.status === 200 && (result.data.session.status === "queued" || result.data.session.status === "active")) {
          token = saved;
          lang = result.data.session.language;
          hasEmail = result.data.email;
          chat();
        } else {
          sessionStorage.removeItem(store);
          start();
        }
      }, start);
      return;
    }
    start();
  }

  function start() {
    api("GET", "/config?lang=" + encodeURIComponent(lang)).then(function (result) {
      if (result.status !== 200) { unavailable(); return; }
      result.data.languages.forEach(function (l) { online[l.code] = l.online; });
      form();
    }, unavailable);
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else panel.hidden = true; });
  close.addEventListener("click", function () { panel.hidden = true; });
})();
