// Fieldstock front-end glue. No inline scripts: the CSP allows our own static files only.
(function () {
  "use strict";
  // Buttons with data-confirm ask before submitting.
  document.addEventListener("click", function (event) {
    const el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  // Forms with data-once disable their submit buttons after the first submit (double-clicks).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.hasAttribute("data-once")) {
      if (form.dataset.submitted === "1") { event.preventDefault(); return; }
      form.dataset.submitted = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }
  });
})();
