// Refresh the screen pop every few seconds, unless the agent is typing in it or has typed
// something into one of its forms that is not sent yet.
(function () {
  var box = document.getElementById("calls");
  if (!box) return;
  function busy() {
    var active = document.activeElement;
    if (box.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    var fields = box.querySelectorAll("input:not([type=hidden]), textarea");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) return true;
    }
    return false;
  }
  setInterval(function () {
    if (busy()) return;
    fetch(box.dataset.refresh, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && !busy()) box.innerHTML = html; })
      .catch(function () {});
  }, 4000);
})();
