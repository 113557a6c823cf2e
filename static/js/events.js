// Events screens: Create Event (case-only fields, "Add New" contact dialog) and the
// "Mark Used Inventory" tab. No inline scripts (CSP).
(function () {
  "use strict";

  // Create Event: Patient ID and Surgeon are for cases only.
  function syncCaseFields() {
    const type = document.getElementById("id_event_type");
    if (!type) { return; }
    document.querySelectorAll("[data-case-only]").forEach(function (el) {
      el.classList.toggle("d-none", type.value !== "case");
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_event_type") { syncCaseFields(); }
  });
  document.addEventListener("DOMContentLoaded", syncCaseFields);

  // Create Event's form token: Back to the form, then Create again, must send the token of the
  // first submit, so that the server finds the draft it made instead of making another. The
  // page comes back from the server (no-store) with a new token and the typed fields restored:
  // put the submitted token back.
  function keepCreateKey() {
    const form = document.querySelector("form.event-form");
    const key = form && form.querySelector("input[name=create_key]");
    if (!key) { return; }
    const store = "fieldstock:create-key";
    const nav = performance.getEntriesByType("navigation")[0];
    if (nav && nav.type === "back_forward" && sessionStorage.getItem(store)) {
      key.value = sessionStorage.getItem(store);
    }
    form.addEventListener("submit", function () { sessionStorage.setItem(store, key.value); });
  }
  document.addEventListener("DOMContentLoaded", keepCreateKey);

  // Back to Create Event: the browser restores the typed fields, but not a choice whose
  // <option>s came by htmx (the facility's contacts, the manufacturer's product lines): the
  // server renders those lists empty. Remember the header at submit; coming back, fetch each
  // dependent list for the restored facility and manufacturer and choose what was chosen.
  function keepHeader() {
    const form = document.querySelector("form.event-form");
    if (!form || !form.querySelector("input[name=create_key]")) { return; }
    const store = "fieldstock:create-header";
    form.addEventListener("submit", function () {
      const chosen = {};
      ["facility", "facility_contact", "manufacturer", "product_line"].forEach(function (name) {
        const field = form.elements[name];
        if (field) { chosen[name] = field.value; }
      });
      sessionStorage.setItem(store, JSON.stringify(chosen));
    });
    const nav = performance.getEntriesByType("navigation")[0];
    const saved = nav && nav.type === "back_forward" && sessionStorage.getItem(store);
    if (!saved) { return; }
    const chosen = JSON.parse(saved);
    // [the choice that drives the list, the dependent choice]
    [["facility", "facility_contact"], ["manufacturer", "product_line"]].forEach(function (pair) {
      const parent = form.elements[pair[0]];
      const child = form.elements[pair[1]];
      if (!parent || !child || !chosen[pair[0]] || !chosen[pair[1]]) { return; }
      if (!parent.value) { parent.value = chosen[pair[0]]; }
      if (parent.value !== chosen[pair[0]]) { return; }  // changed since: leave it
      const wanted = chosen[pair[1]];
      if (Array.prototype.some.call(child.options, function (o) { return o.value === wanted; })) {
        child.value = wanted;
        return;
      }
      const url = parent.getAttribute("hx-get") + "?" +
        new URLSearchParams([[pair[0], parent.value]]).toString();
      fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (options) {
          if (!options || parent.value !== chosen[pair[0]]) { return; }
          child.innerHTML = options;
          child.value = wanted;
        });
    });
  }
  document.addEventListener("DOMContentLoaded", keepHeader);

  // "Add New" facility contact: the server selects the new contact, we close the dialog.
  // Bootstrap ignores hide() while the dialog is still fading in, so a contact saved within
  // that moment waits for the dialog to be shown, then closes it.
  document.addEventListener("shown.bs.modal", function (event) {
    if (event.target.id === "contact-modal") { event.target.dataset.fsShown = "1"; }
  });
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id === "contact-modal") { delete event.target.dataset.fsShown; }
  });
  document.addEventListener("fs:contact-created", function () {
    const modal = document.getElementById("contact-modal");
    if (!modal || !window.bootstrap) { return; }
    const dialog = window.bootstrap.Modal.getOrCreateInstance(modal);
    if (modal.dataset.fsShown) {
      dialog.hide();
    } else {
      modal.addEventListener("shown.bs.modal", function () { dialog.hide(); }, { once: true });
    }
  });
})();
