/* Dashboard and migration pages: "select all" check boxes.  Works without it (the server reads
   the "all" box itself); the script only keeps the boxes in step with each other. */
(function () {
  "use strict";
  document.querySelectorAll("[data-select-scope]").forEach(function (scope) {
    var all = scope.querySelector("[data-select-all]");
    var items = scope.querySelectorAll("[data-select-item]");
    if (!all || !items.length) { return; }
    all.addEventListener("change", function () {
      items.forEach(function (box) { box.checked = all.checked; });
    });
    items.forEach(function (box) {
      box.addEventListener("change", function () {
        if (!box.checked) { all.checked = false; }
      });
    });
  });
})();
