// The agents' chat console: one event stream for the queue and every chat the agent holds.
// Text from visitors is only ever inserted with textContent, never as HTML.
(function () {
  var root = document.getElementById("chat-console");
  if (!root || !window.EventSource) return;
  var d = root.dataset;
  var current = d.chat ? Number(d.chat) : null;
  var log = document.getElementById("chat-log");
  var seen = {};
  if (log) {
    Array.prototype.forEach.call(log.querySelectorAll("[data-id]"), function (li) { seen[li.dataset.id] = true; });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addMessage(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var li = el("li", "msg chat-msg chat-" + m.author);
    li.dataset.id = m.id;
    var head = el("p", "msg-head");
    head.appendChild(el("strong", "", m.name));
    li.appendChild(head);
    li.appendChild(el("div", "msg-body", m.body));
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  function unread(sessionId) {
    var item = document.querySelector('#chat-held li[data-id="' + sessionId + '"] .chat-unread');
    if (!item) return;
    item.textContent = String(Number(item.textContent || "0") + 1);
    item.hidden = false;
  }

  function renderQueue(chats) {
    var list = document.getElementById("chat-queue");
    if (!list) return;
    list.textContent = "";
    if (!chats.length) { list.appendChild(el("li", "muted", d.textEmpty)); return; }
    chats.forEach(function (c) {
      var li = el("li");
      li.dataset.id = c.id;
      li.appendChild(el("strong", "", c.name));
      li.appendChild(document.createTextNode(" · " + c.tenant + " · " + c.language + " · " + c.topic + " "));
      var form = el("form", "inline");
      form.method = "post";
      form.action = d.accept.replace("/0/", "/" + c.id + "/");
      var csrf = el("input");
      csrf.type = "hidden"; csrf.name = "csrf_token"; csrf.value = d.csrf;
      form.appendChild(csrf);
      var button = el("button", "btn btn-small", d.textAccept);
      button.type = "submit";
      form.appendChild(button);
      li.appendChild(form);
      list.appendChild(li);
    });
  }

  var typingBox = document.getElementById("chat-typing");
  var typingTimer = null;
  function showTyping() {
    if (!typingBox) return;
    typingBox.textContent = d.textTyping;
    typingBox.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingBox.hidden = true; }, 4000);
  }

  function ended() {
    var composer = document.getElementById("chat-composer");
    var status = document.getElementById("chat-status");
    if (status) status.textContent = d.textEnded;
    if (composer) {
      var body = document.getElementById("chat-body");
      var send = document.getElementById("chat-send");
      if (body) body.disabled = true;
      if (send) send.disabled = true;
    }
  }

  var source = new EventSource(d.events);
  source.addEventListener("message", function (event) {
    var m = JSON.parse(event.data);
    if (current !== null && m.session_id === current) {
      addMessage(m);
      if (typingBox && m.author === "visitor") typingBox.hidden = true;
      if (m.event === "ended") ended();
    } else if (m.author !== "agent") {
      unread(m.session_id);
    }
  });
  source.addEventListener("typing", function (event) {
    var t = JSON.parse(event.data);
    if (t.session_id === current) showTyping();
    else unread(t.session_id);
  });
  source.addEventListener("queue", function (event) {
    renderQueue(JSON.parse(event.data).chats);
  });

  function post(url, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": d.csrf },
      body: JSON.stringify(payload || {})
    });
  }

  // A knowledge-base answer goes into the message box; the server records it on the chat's ticket.
  Array.prototype.forEach.call(document.querySelectorAll("button.kb-insert"), function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById("chat-body");
      if (!box) return;
      box.value = box.value.replace(/\s+$/, "") + (box.value.trim() ? "\n\n" : "") + button.dataset.text;
      box.focus();
      post(button.dataset.used);
    });
  });

  var form = document.getElementById("chat-form");
  if (form) {
    var box = document.getElementById("chat-body");
    var error = document.getElementById("chat-error");
    var lastTyping = 0;
    var send = function () {
      var text = box.value.trim();
      if (!text) return;
      error.hidden = true;
      post(d.post, { body: text }).then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error((data.error && data.error.message) || d.textError);
          box.value = "";
          addMessage(data);
        });
      }).catch(function (err) {
        error.textContent = err.message || d.textError;
        error.hidden = false;
      });
    };
    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(); }
    });
    box.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000) { lastTyping = now; post(d.typing); }
    });
    box.focus();
  }
  if (log && log.lastElementChild) log.lastElementChild.scrollIntoView({ block: "end" });
})();
