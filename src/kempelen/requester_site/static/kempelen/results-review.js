// Results pages: a "select all on this page" box, and a confirmation before reviewing many assignments at once
// or reversing a rejection (buttons with a data-confirm question).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var all = form.querySelector(".results-select-all");
  var picks = Array.prototype.slice.call(form.querySelectorAll(".results-pick"));
  if (!all || !picks.length) { return; }
  all.hidden = false;
  var sync = function () {
    var checked = picks.filter(function (p) { return p.checked; }).length;
    all.checked = checked === picks.length;
    all.indeterminate = checked > 0 && checked < picks.length;
  };
  all.addEventListener("change", function () {
    picks.forEach(function (p) { p.checked = all.checked; });
  });
  picks.forEach(function (p) { p.addEventListener("change", sync); });
  sync();
}());
