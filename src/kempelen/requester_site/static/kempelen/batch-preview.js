// The batch preview: size the sandboxed frame as the worker's task page does (the project's frame height, or the
// window's height when it is 0), and step through rows with the arrow keys when the focus is not in a field.
(function () {
  "use strict";
  var frame = document.querySelector("iframe.batch-preview-frame");
  if (frame) {
    var height = parseInt(frame.getAttribute("data-frame-height"), 10);
    frame.style.height = height > 0 ? height + "px" : Math.max(480, window.innerHeight - 200) + "px";
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey || (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName))) {
      return;
    }
    var link = document.getElementById(event.key === "ArrowLeft" ? "previous-row" : event.key === "ArrowRight" ? "next-row" : "");
    if (link) { window.location.assign(link.href); }
  });
})();
