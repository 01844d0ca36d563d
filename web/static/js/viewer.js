/* Designer pages: show a deployed version with the bpmn-js viewer (when installed).
   The server-drawn SVG stays on the page until bpmn-js has drawn the diagram, and comes back
   whenever bpmn-js cannot (no layout in the file, a script error, an old browser). */
(function () {
  "use strict";
  var el = document.getElementById("bpmn-viewer");
  var fallback = document.getElementById("svg-diagram");
  if (!el || typeof window.BpmnJS !== "function" || !window.fetch) { return; }
  fetch(el.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) {
      el.hidden = false;
      var viewer = new window.BpmnJS({ container: el });
      return viewer.importXML(xml).then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        if (fallback) { fallback.hidden = true; }
        el.setAttribute("data-ready", "true");
      });
    })
    .catch(function (error) {
      el.hidden = true;
      if (fallback) { fallback.hidden = false; }
      if (window.console) { console.warn("bpmn-js viewer failed; showing the server-drawn diagram", error); }
    });
})();
