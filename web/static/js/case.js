/* Case page: scroll the diagram so that the current position is in view (phones show a part). */
(function () {
  "use strict";
  var box = document.querySelector(".diagram");
  var current = box && box.querySelector(".current");
  if (!box || !current || !current.getBBox) { return; }
  var svg = box.querySelector("svg");
  var bbox = current.getBBox();
  var view = svg.viewBox && svg.viewBox.baseVal;
  var scale = view && view.width ? svg.getBoundingClientRect().width / view.width : 1;
  var x = ((bbox.x - (view ? view.x : 0)) + bbox.width / 2) * scale;
  var y = ((bbox.y - (view ? view.y : 0)) + bbox.height / 2) * scale;
  box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
  box.scrollTop = Math.max(0, y - box.clientHeight / 2);
})();
