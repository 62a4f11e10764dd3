/*
 * The SMS code's own time limit (RGAA 13.1, WCAG 2.2.1; issue 13 §2), on every code page
 * (templates/components/code_step.html, core.code_step). The box is shown
 * `data-warn-seconds` before `data-seconds-left` (the seconds left, at render, before the last
 * code of the flow expires) have passed; when they have, it says that the code has expired.
 * Its « Recevoir un nouveau code » is a plain form posting to the resend: a new code restarts
 * the count on the page that follows. Once expired, it is the page's only resend: the
 * « Renvoyer le SMS » form ([data-code-resend-other]) and the lead saying that a code was
 * sent ([data-code-sent-lead]) are hidden, as the server leaves them out of a page served
 * after the expiry. The box is an alert (read at once when shown); focus
 * stays where the person is. Mirrors static/js/time-limit.js (the session's warning).
 */
(function () {
  "use strict";

  var box = document.getElementById("code-expiry");
  if (!box) {
    return;
  }
  var seconds = parseInt(box.getAttribute("data-seconds-left"), 10);
  var warnSeconds = parseInt(box.getAttribute("data-warn-seconds"), 10);
  if (!(seconds > 0)) {
    return; // already expired at render: the page shows the expired box
  }
  var title = box.querySelector("[data-code-expiry-title]");
  var warning = box.querySelector("[data-code-expiry-warning]");
  var expiredText = box.querySelector("[data-code-expiry-expired]");

  window.setTimeout(function () {
    box.hidden = false;
  }, Math.max(0, seconds - warnSeconds) * 1000);

  window.setTimeout(function () {
    title.textContent = title.getAttribute("data-expired-title");
    warning.hidden = true;
    expiredText.hidden = false;
    box.hidden = false;
    document.querySelectorAll("[data-code-resend-other], [data-code-sent-lead]").forEach(
      function (element) {
        element.hidden = true;
      }
    );
  }, seconds * 1000);
})();
