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
      default: return;
    }
  });
})();
