// Refresh the screen pop every few seconds, unless the agent is typing in it.
(function () {
  var box = document.getElementById("calls");
  if (!box) return;
  setInterval(function () {
    if (box.contains(document.activeElement) && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) return;
    fetch(box.dataset.refresh, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {});
  }, 4000);
})();
