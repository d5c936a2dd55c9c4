// A publishing batch's page: ask for the progress every second, show it, and reload the page once the batch is
// published or has failed. Without JavaScript the page refreshes itself (a meta refresh inside <noscript>).
(function () {
  "use strict";
  var section = document.getElementById("publishing");
  if (!section || !window.fetch) { return; }
  var url = section.getAttribute("data-progress-url");
  var bar = document.getElementById("publish-progress");
  var status = document.getElementById("publish-status");
  var format = function (n) { return n.toLocaleString("en-US"); };
  var poll = function () {
    window.fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 3000); return; }
        if (data.status !== "Publishing" || (data.error && bar)) { window.location.reload(); return; }
        if (!bar) { window.setTimeout(poll, 1000); return; }
        var percent = data.row_count ? Math.floor(100 * data.rows_published / data.row_count) : 0;
        bar.max = data.row_count;
        bar.value = data.rows_published;
        bar.textContent = percent + "%";
        status.textContent = format(data.rows_published) + " of " + format(data.row_count) +
          " tasks written (" + percent + "%).";
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  };
  window.setTimeout(poll, 1000);
})();
