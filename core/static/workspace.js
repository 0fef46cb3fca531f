// Keyboard shortcuts of the agent workspace; ignored while typing in a field.
(function () {
  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("table[data-keynav] tbody tr"));
  var current = -1;
  function select(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (row, n) { row.classList.toggle("selected", n === current); });
    var link = rows[current].querySelector("a");
    if (link) link.focus();
  }
  document.addEventListener("keydown", function (event) {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    var body = document.getElementById("body");
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "r":
        if (body) { document.getElementById("kind-reply").checked = true; body.focus(); event.preventDefault(); }
        break;
      case "n":
        if (body) { document.getElementById("kind-note").checked = true; body.focus(); event.preventDefault(); }
        break;
      case "s":
        var resolve = document.getElementById("resolve-button");
        if (resolve) resolve.click();
        break;
      case "e":
        var escalate = document.getElementById("escalate");
        if (escalate && escalate.tagName === "DETAILS") {
          escalate.open = true; document.getElementById("escalate-reason").focus(); event.preventDefault();
        } else if (escalate) { escalate.click(); event.preventDefault(); }
        break;
      case "x":
        if (current >= 0) { var box = rows[current].querySelector("input[type=checkbox]"); if (box) box.checked = !box.checked; }
        break;
      case "t":
        var next = document.getElementById("take-next");
        if (next) next.click();
        break;
      default: return;
    }
  });

  // A macro's text, already filled in for this ticket, goes into the reply box.
  var macro = document.querySelector("select[data-macro-target]");
  if (macro) {
    macro.addEventListener("change", function () {
      var option = macro.options[macro.selectedIndex];
      var box = document.getElementById(macro.dataset.macroTarget);
      if (!option.dataset.text || !box) return;
      box.value = box.value.replace(/\s+$/, "") + (box.value.trim() ? "\n\n" : "") + option.dataset.text;
      document.getElementById("kind-reply").checked = true;
      box.focus();
    });
  }

  // An article's answer, already in the ticket's language with its placeholders filled, goes
  // into the reply box; the form then tells the server which article was used.
  document.querySelectorAll("button.kb-insert").forEach(function (button) {
    button.addEventListener("click", function () {
      var box = document.getElementById("body");
      var used = document.getElementById("kb-article");
      if (!box) return;
      box.value = box.value.replace(/\s+$/, "") + (box.value.trim() ? "\n\n" : "") + button.dataset.text;
      if (used) used.value = button.dataset.article;
      document.getElementById("kind-reply").checked = true;
      box.focus();
    });
  });

  // The running timer on a ticket counts up while the page is open.
  var timer = document.querySelector(".timer[data-started]");
  if (timer) {
    var started = Date.parse(timer.dataset.started);
    var show = function () {
      var s = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      timer.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
    };
    show();
    setInterval(show, 1000);
  }
})();
