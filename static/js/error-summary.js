/*
 * After a refused submit, move the focus to the error summary (RGAA 11.10 and 11.11, WCAG
 * 3.3.1): the summary (templates/components/error_summary.html, id "error-summary",
 * tabindex="-1", role="alert") names each error and links to its field, so a keyboard or
 * screen-reader user starts from the list of what to fix, not from the top of the page.
 * Loaded by every page (templates/base.html and the back-office's admin/base_site.html):
 * pages added later inherit it; in the back-office, Django's « errornote » is focused alike. A link of the summary moves the focus to its field (an
 * anchor to an input only scrolls in some browsers).
 */
(function () {
  "use strict";

  function focusSummary() {
    // The back-office's own pages (Django's admin) say « corrigez les erreurs » in a
    // p.errornote: the same rule applies there.
    var summary = document.getElementById("error-summary") || document.querySelector(".errornote");
    if (!summary) {
      return;
    }
    if (!summary.hasAttribute("tabindex")) {
      summary.setAttribute("tabindex", "-1");
    }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) {
        return;
      }
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (target && typeof target.focus === "function") {
        event.preventDefault();
        target.scrollIntoView({block: "center"});
        target.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
})();
