// The progress bar of a letter run (templates/admin/letters/run.html): asks the run's
// progress every 1.5 s, updates the bar and the status line (role="status": read by screen
// readers), and reloads the page once the run is finished (the PDF's link appears).
(function () {
  "use strict";
  var box = document.getElementById("letter-run-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("letter-progress");
  var status = document.getElementById("letter-status");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (run) {
        bar.value = run.percent;
        bar.textContent = run.percent + " %";
        // French agrees with the first number: « 1 lettre sur 3 », « 2 lettres sur 3 ».
        var of = box.getAttribute(run.done > 1 ? "data-of-many" : "data-of-one");
        status.textContent = run.status_label + " : " + run.done + " " + of + " " + run.total + ".";
        if (run.finished) { window.location.reload(); } else { window.setTimeout(tick, 1500); }
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 1000);
})();
