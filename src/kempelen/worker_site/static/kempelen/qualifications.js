// The qualification test page: a countdown to the test's deadline.
// It counts down from the seconds left when the server rendered the page (data-seconds-left), so a browser
// clock that disagrees with the server's does not matter. The deadline itself is in a <time> element on the
// page, which says when the test ends without JavaScript. Screen readers hear the time left at five minutes,
// one minute and when time is up (a separate live region), not every second.
(function () {
  "use strict";
  var timer = document.getElementById("test-countdown");
  if (!timer) { return; }
  var total = parseInt(timer.getAttribute("data-seconds-left"), 10);
  if (isNaN(total)) { return; }
  var announce = document.getElementById("test-countdown-announce");
  var started = Date.now();
  var said = {};

  function format(left) {
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }

  function tell(key, text) {
    if (!announce || said[key]) { return; }
    said[key] = true;
    announce.textContent = text;
  }

  function tick() {
    var left = Math.max(0, total - Math.floor((Date.now() - started) / 1000));
    if (left === 0) {
      timer.textContent = "0s (time is up)";
      timer.classList.add("bad");
      tell("up", "Time is up: answers handed in now will not be accepted.");
      return;
    }
    timer.textContent = format(left);
    if (left <= 60 && total > 60) { tell("1m", "One minute left to hand in the test."); }
    else if (left <= 300 && total > 300) { tell("5m", "Five minutes left to hand in the test."); }
    window.setTimeout(tick, 1000 - ((Date.now() - started) % 1000));
  }

  tick();
})();
