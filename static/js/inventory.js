// Inventory screens: list filtering, select-all, adding found devices to an adjustment.
// No inline scripts (CSP): behaviour hangs off data- attributes.
(function () {
  "use strict";
  // <input data-filter-list="#list">: hide items of #list whose text doesn't contain the query.
  document.addEventListener("input", function (event) {
    const input = event.target.closest("[data-filter-list]");
    if (!input) { return; }
    const list = document.querySelector(input.getAttribute("data-filter-list"));
    if (!list) { return; }
    const query = input.value.trim().toLowerCase();
    list.querySelectorAll("[data-filter-item]").forEach(function (item) {
      item.classList.toggle("d-none", query !== "" && !item.textContent.toLowerCase().includes(query));
    });
  });
  document.addEventListener("click", function (event) {
    // <button data-check-all="#list">: tick every visible checkbox of #list (again: untick).
    const all = event.target.closest("[data-check-all]");
    if (all) {
      const list = document.querySelector(all.getAttribute("data-check-all"));
      if (!list) { return; }
      const boxes = Array.from(list.querySelectorAll("[data-filter-item]:not(.d-none) input[type=checkbox]"));
      const tick = boxes.some(function (b) { return !b.checked; });
      boxes.forEach(function (b) { b.checked = tick; });
      return;
    }
    // <button data-add-device="label">: append to the adjustment's device list.
    const add = event.target.closest("[data-add-device]");
    if (add) {
      const area = document.getElementById("id_devices");
      if (!area) { return; }
      const value = add.getAttribute("data-add-device");
      const lines = area.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
      if (!lines.includes(value)) { lines.push(value); }
      area.value = lines.join("\n") + "\n";
      add.textContent = "Added";
      add.disabled = true;
    }
  });
})();
