/*
 * Warns before the session's idle lifetime ends and lets the person extend it (RGAA 13.1,
 * WCAG 2.2.1; issue 13 §2). The box is templates/components/time_limit.html: shown
 * `data-warn-seconds` before `data-seconds` have passed since the page loaded (every request
 * renews the session); « Prolonger » posts to the keep-alive URL (with the header it
 * requires), starts the count again and says so in the box (an alert: read at once) before
 * hiding it; when the time is up, or the keep-alive fails, the box says that the session has
 * expired.
 */
(function () {
  "use strict";

  var box = document.getElementById("time-limit");
  if (!box) {
    return;
  }
  var EXTENDED_SHOWN_MS = 6000;
  var warning = box.querySelector("[data-time-limit-warning]");
  var title = box.querySelector("[data-time-limit-title]");
  var warningTitle = title.textContent;
  var button = box.querySelector("[data-keep-alive]");
  var seconds = parseInt(box.getAttribute("data-seconds"), 10);
  var warnSeconds = parseInt(box.getAttribute("data-warn-seconds"), 10);
  var warnTimer = null;
  var expireTimer = null;

  function schedule(lifetime) {
    window.clearTimeout(warnTimer);
    window.clearTimeout(expireTimer);
    warnTimer = window.setTimeout(function () {
      title.textContent = warningTitle;
      warning.hidden = false;
      box.hidden = false;
    }, Math.max(0, lifetime - warnSeconds) * 1000);
    expireTimer = window.setTimeout(expired, lifetime * 1000);
  }

  function expired() {
    box.hidden = false;
    title.textContent = box.getAttribute("data-expired-title");
    warning.hidden = true;
    box.querySelector("[data-time-limit-expired]").hidden = false;
  }

  button.addEventListener("click", function () {
    fetch(button.getAttribute("data-keep-alive"), {
      method: "POST",
      headers: {"Accept": "application/json", "X-EduConnect-Keep-Alive": "1"},
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.json();
    }).then(function (data) {
      warning.hidden = true;
      title.textContent = box.getAttribute("data-extended-title");
      schedule(data.seconds);
      window.setTimeout(function () {
        if (warning.hidden) {
          box.hidden = true;
        }
      }, EXTENDED_SHOWN_MS);
    }).catch(function () {
      expired();
    });
  });

  schedule(seconds);
})();
