// Schedule a case: the "Add New" surgeon and procedure dialog closes once the server has
// selected the new entry (fs:directory-created). No inline scripts (CSP).
(function () {
  "use strict";
  const ID = "directory-modal";
  document.addEventListener("shown.bs.modal", function (event) {
    if (event.target.id === ID) { event.target.dataset.fsShown = "1"; }
  });
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id === ID) { delete event.target.dataset.fsShown; }
  });
  document.addEventListener("fs:directory-created", function () {
    const modal = document.getElementById(ID);
    if (!modal || !window.bootstrap) { return; }
    const dialog = window.bootstrap.Modal.getOrCreateInstance(modal);
    if (modal.dataset.fsShown) {
      dialog.hide();
    } else {
      modal.addEventListener("shown.bs.modal", function () { dialog.hide(); }, { once: true });
    }
  });
})();
