// Shown inside the task's frame after a form post to externalSubmit: tell the worker's task page (the parent)
// that the assignment was submitted, so it can move on. Only the assignment id is sent.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (main && main.getAttribute("data-ok") === "1" && window.parent !== window) {
    window.parent.postMessage({ type: "kempelen:submitted", assignmentId: main.getAttribute("data-assignment-id") }, "*");
  }
})();
