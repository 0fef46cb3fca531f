/* Firstline live chat loader for {{ config.name }}: configuration, then the widget itself. */
(function () {
  if (window.FirstlineChat) return;
  window.FirstlineChat = {{ config|tojson }};
  var script = document.createElement("script");
  script.src = {{ script|tojson }};
  script.async = true;
  document.head.appendChild(script);
})();
