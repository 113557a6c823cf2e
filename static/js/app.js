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
  // A box ticked, a choice made or a search typed while the page was still loading, before
  // htmx had bound the element's hx-trigger, was lost: nothing was sent and the page said
  // nothing. htmx binds on DOMContentLoaded, before this handler (its script comes first); here
  // each such element whose field the person already changed from what the server rendered
  // gets the event it waits for.
  function changedByHand(field) {
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.type === "select-one") {  // none marked selected: the first one is shown
      const marked = Array.prototype.filter.call(field.options, function (option) {
        return option.defaultSelected;
      });
      const shown = marked.length ? marked[marked.length - 1] : field.options[0];
      return field.options.length > 0 && field.options[field.selectedIndex] !== shown;
    }
    if (field.type === "select-multiple") {
      return Array.prototype.some.call(field.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return "defaultValue" in field && field.value !== field.defaultValue;
  }
  // A .table-stack table becomes one card per row on a phone, each cell labelled by its
  // data-label (static/css/app.css). A cell without one takes its column's header, so that a
  // report table needs only the class.
  function labelStackedCells(root) {
    root.querySelectorAll("table.table-stack").forEach(function (table) {
      const heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, index) {
          if (!cell.hasAttribute("data-label") && cell.colSpan === 1 && heads[index]) {
            cell.setAttribute("data-label", heads[index]);
          }
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { labelStackedCells(document); });
  document.addEventListener("htmx:afterSwap", function (event) { labelStackedCells(event.target); });
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.htmx) { return; }
    document.querySelectorAll("[hx-trigger~=change], [hx-trigger^=input]").forEach(function (el) {
      const fields = el.elements ? Array.prototype.slice.call(el.elements) : [el];
      if (fields.some(changedByHand)) {
        const trigger = el.getAttribute("hx-trigger");
        window.htmx.trigger(el, /^input\b/.test(trigger) ? "input" : "change");
      }
    });
  });
})();
