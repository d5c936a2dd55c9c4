// The task page: a countdown to the assignment's deadline, frame sizing, and moving on once the task's own
// form (in its sandboxed frame) reports that the work was submitted.
(function () {
  "use strict";
  var countdown = document.getElementById("countdown");
  if (countdown) {
    // Counted from the seconds left when the server rendered the page, not the browser's clock (which may be off).
    var deadline = Date.now() + 1000 * parseInt(countdown.getAttribute("data-seconds-left"), 10);
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      countdown.textContent = (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s" + (left === 0 ? " (time is up)" : "");
      if (left > 0) { window.setTimeout(tick, 1000); }
    };
    tick();
  }
  var frame = document.querySelector("iframe.task");
  if (frame) {
    var height = parseInt(frame.getAttribute("data-frame-height"), 10);
    frame.style.height = height > 0 ? height + "px" : Math.max(480, window.innerHeight - 160) + "px";
  }
  var bar = document.getElementById("taskbar");
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!bar || !data || data.type !== "kempelen:submitted") { return; }
    if (data.assignmentId !== bar.getAttribute("data-assignment-id")) { return; }
    window.location.assign(bar.getAttribute("data-submitted-url"));
  });
})();
