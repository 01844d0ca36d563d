/* Designer pages: edit a version in the bpmn-js modeler, then send the XML to the validation
   report (the same page an uploaded file gets); deploying stays a separate, explicit step. */
(function () {
  "use strict";
  var el = document.getElementById("bpmn-modeler");
  var form = document.getElementById("modeler-form");
  var error = document.getElementById("modeler-error");
  if (!el || !form || typeof window.BpmnJS !== "function" || !window.fetch) { return; }
  var modeler = new window.BpmnJS({ container: el });
  fetch(el.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      modeler.get("canvas").zoom("fit-viewport");
      el.setAttribute("data-ready", "true");
    })
    .catch(function () { if (error) { error.hidden = false; } });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    modeler.saveXML({ format: true }).then(function (result) {
      form.elements.xml.value = result.xml;
      form.submit();
    }).catch(function () { if (error) { error.hidden = false; } });
  });
})();
