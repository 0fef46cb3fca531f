(function () {
  var script = document.currentScript;
  var frame = document.createElement("iframe");
  frame.src = {{ src|tojson }} + "?lang=" + encodeURIComponent((document.documentElement.lang || "").slice(0, 2));
  frame.title = {{ title|tojson }};
  frame.style.width = "100%";
  frame.style.minHeight = "900px";
  frame.style.border = "0";
  frame.setAttribute("loading", "lazy");
  script.parentNode.insertBefore(frame, script);
})();
