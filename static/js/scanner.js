// "Scan with camera": the phone's rear camera as the barcode scanner of every scan box.
// A box opts in with data-scan-camera="submit|append|search" (what a read does: fill the box and
// submit its form, add a line to a list, or fill a live search box); data-scan-continuous keeps
// the camera open for the next label (receiving many units). The text read is put into the box
// exactly as a handheld scanner types it (GS separators included), so the server reads camera
// and scanner alike. Decoding: the browser's BarcodeDetector where it reads DataMatrix, QR and
// Code 128, otherwise the vendored ZXing library (static/vendor/zxing), loaded on first use.
// No inline scripts (CSP): this file and data- attributes only.
(function () {
  "use strict";
  const script = document.currentScript;
  const ZXING_URL = script && script.getAttribute("data-zxing");
  const FORMATS = ["data_matrix", "qr_code", "code_128"];
  const SAME_LABEL_PAUSE_MS = 2500; // continuous: the label still in view is not read twice
  const GS = String.fromCharCode(29);

  function cameraAvailable() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  // --- decoders -------------------------------------------------------------------------
  let zxingLoading = null;
  function loadZxing() {
    if (window.ZXing) { return Promise.resolve(window.ZXing); }
    if (!zxingLoading) {
      zxingLoading = new Promise(function (resolve, reject) {
        const tag = document.createElement("script");
        tag.src = ZXING_URL;
        tag.onload = function () { resolve(window.ZXing); };
        tag.onerror = function () { zxingLoading = null; reject(new Error("decoder not loaded")); };
        document.head.appendChild(tag);
      });
    }
    return zxingLoading;
  }

  async function nativeDetector() {
    if (!("BarcodeDetector" in window)) { return null; }
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      if (!FORMATS.every(function (f) { return supported.includes(f); })) { return null; }
      const detector = new window.BarcodeDetector({ formats: FORMATS });
      return async function (video) {
        const found = await detector.detect(video);
        return found.length ? found[0].rawValue : null;
      };
    } catch (e) {
      return null;
    }
  }

  async function zxingDetector() {
    const ZXing = await loadZxing();
    const hints = new Map();
    hints.set(ZXing.DecodeHintType.POSSIBLE_FORMATS, [
      ZXing.BarcodeFormat.DATA_MATRIX, ZXing.BarcodeFormat.QR_CODE, ZXing.BarcodeFormat.CODE_128,
    ]);
    hints.set(ZXing.DecodeHintType.TRY_HARDER, true);
    const reader = new ZXing.MultiFormatReader();
    reader.setHints(hints);
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async function (video) {
      const width = video.videoWidth;
      const height = video.videoHeight;
      if (!width || !height) { return null; }
      canvas.width = width;
      canvas.height = height;
      context.drawImage(video, 0, 0, width, height);
      const bitmap = new ZXing.BinaryBitmap(new ZXing.HybridBinarizer(
        new ZXing.HTMLCanvasElementLuminanceSource(canvas)));
      try {
        return reader.decodeWithState(bitmap).getText();
      } catch (e) {
        return null; // NotFoundException and friends: nothing readable in this frame
      } finally {
        reader.reset();
      }
    };
  }

  // --- putting the text where a scanner would ------------------------------------------------
  function scanned(text) {
    // A GS1 DataMatrix starts with FNC1, which decoders return as a leading GS: a scanner
    // drops it. Everything else (GS between elements, a HIBC check space) stays.
    while (text.charAt(0) === GS) { text = text.slice(1); }
    return text.replace(/[\r\n]+$/, "");
  }

  // A scan box that picks from a list (the transfer form): the server names the devices the
  // label names; their checkboxes in the list are ticked.
  async function pick(box, text) {
    const status = box.parentElement.querySelector("[role=status]");
    const url = box.getAttribute("data-scan-resolve") + "?q=" + encodeURIComponent(text);
    const answer = await (await fetch(url, { credentials: "same-origin" })).json();
    const list = document.querySelector(box.getAttribute("data-scan-list"));
    let said = answer.message;
    answer.devices.forEach(function (device) {
      const tick = list && list.querySelector("input[type=checkbox][value='" + device.id + "']");
      if (tick) {
        tick.checked = true;
        tick.closest("[data-filter-item]").classList.remove("d-none");
        said = "Selected " + device.label + ".";
      } else if (!said) {
        said = device.label + " is not among the devices listed here.";
      }
    });
    if (status) { status.textContent = said; }
    box.value = "";
    return said;
  }

  document.addEventListener("keydown", function (event) {
    const box = event.target.closest && event.target.closest("[data-scan-camera=pick]");
    if (!box || event.key !== "Enter") { return; }
    event.preventDefault(); // a handheld scanner's Enter selects, it does not submit the form
    if (box.value.trim()) { pick(box, box.value); }
  });

  function deliver(box, text, keepOpen) {
    const mode = box.getAttribute("data-scan-camera");
    if (mode === "pick") { return pick(box, text); }
    if (mode === "append") {
      const lines = box.value.split("\n").filter(function (l) { return l.trim() !== ""; });
      if (!lines.includes(text)) { lines.push(text); }
      box.value = lines.join("\n") + "\n";
      box.dispatchEvent(new Event("input", { bubbles: true }));
      return Promise.resolve("Added to the list.");
    }
    box.value = text;
    if (mode === "search") {
      box.dispatchEvent(new Event("input", { bubbles: true }));
      box.dispatchEvent(new Event("search", { bubbles: true }));
      return Promise.resolve("Searching…");
    }
    const form = box.form;
    if (!form) { return Promise.resolve(""); }
    const button = box.closest(".input-group") &&
      box.closest(".input-group").querySelector("button[type=submit]");
    if (keepOpen && !form.hasAttribute("hx-post")) {
      return submitInPlace(form, button);
    }
    if (form.hasAttribute("hx-post")) {
      // htmx posts it and swaps the panel in: report what the new panel says.
      const settled = new Promise(function (resolve) {
        document.addEventListener("htmx:afterSettle", function () {
          const fresh = document.getElementById(box.id);
          const scope = (fresh && fresh.form) || document;
          const said = scope.querySelector(".invalid-feedback") ||
            document.querySelector(".alert[role=status]");
          resolve(said ? said.textContent.trim() : "Added.");
        }, { once: true });
      });
      form.requestSubmit(button || undefined);
      return settled;
    }
    form.requestSubmit(button || undefined);
    return Promise.resolve("Submitted.");
  }

  // Continuous scanning on a plain form: post it as the browser would, and put the answer's
  // form in place of this one, so the camera stays open for the next label.
  async function submitInPlace(form, button) {
    const data = new FormData(form);
    if (button && button.name) { data.append(button.name, button.value); }
    const response = await fetch(form.action || window.location.href, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = form.id ? page.getElementById(form.id) : page.querySelector("form." +
      Array.from(form.classList).join("."));
    if (!fresh) { window.location.reload(); return ""; }
    form.replaceWith(fresh);
    const error = fresh.querySelector("[data-testid$=-error], .invalid-feedback");
    return error ? error.textContent.trim() : "Added.";
  }

  // --- the camera panel -----------------------------------------------------------------
  let session = null;

  function buildPanel(continuous) {
    const panel = document.createElement("div");
    panel.className = "scan-camera";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    panel.setAttribute("aria-label", "Scan with camera");
    panel.innerHTML =
      '<div class="scan-camera-frame"><video playsinline muted></video>' +
      '<div class="scan-camera-aim" aria-hidden="true"></div></div>' +
      '<p class="scan-camera-status" role="status" aria-live="polite" data-testid="camera-status">Starting the camera…</p>' +
      '<div class="scan-camera-actions">' +
      '<button type="button" class="btn btn-light btn-sm" data-camera-torch hidden>Torch on</button>' +
      '<label class="form-check form-check-inline text-white mb-0"><input type="checkbox" class="form-check-input" data-camera-keep>' +
      '<span class="form-check-label">Keep scanning</span></label>' +
      '<button type="button" class="btn btn-primary btn-sm" data-camera-close>Done</button></div>';
    panel.querySelector("[data-camera-keep]").checked = continuous;
    document.body.appendChild(panel);
    return panel;
  }

  async function openCamera(box) {
    if (session) { return; }
    const panel = buildPanel(box.hasAttribute("data-scan-continuous"));
    const video = panel.querySelector("video");
    const status = panel.querySelector(".scan-camera-status");
    session = { panel: panel, stream: null, stopped: false, boxId: box.id, torch: false };
    const current = session;
    panel.querySelector("[data-camera-close]").addEventListener("click", closeCamera);
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { closeCamera(); } });
    panel.querySelector("[data-camera-close]").focus();
    try {
      current.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (e) {
      status.textContent = e && e.name === "NotAllowedError"
        ? "The camera is blocked: allow it for this site in the browser's settings, or type the label."
        : "No camera could be opened on this device: scan or type the label instead.";
      return;
    }
    if (current.stopped) { stopStream(current); return; }
    video.srcObject = current.stream;
    await video.play().catch(function () {});
    offerTorch(current, panel.querySelector("[data-camera-torch]"));
    let detect;
    try {
      detect = (await nativeDetector()) || (await zxingDetector());
    } catch (e) {
      status.textContent = "The barcode reader could not be loaded: scan or type the label instead.";
      return;
    }
    status.textContent = "Point the camera at the label's barcode.";
    let last = "";
    let lastAt = 0;
    async function tick() {
      if (current.stopped) { return; }
      let text = null;
      try { text = await detect(video); } catch (e) { text = null; }
      if (text && !(text === last && Date.now() - lastAt < SAME_LABEL_PAUSE_MS)) {
        text = scanned(text);
        last = text;
        lastAt = Date.now();
        const keep = panel.querySelector("[data-camera-keep]").checked;
        const target = document.getElementById(current.boxId);
        if (!target) { closeCamera(); return; }
        if (navigator.vibrate) { navigator.vibrate(60); }
        status.textContent = "Read: " + text.split(GS).join(" ");
        if (!keep) { closeCamera(); }
        try {
          const answer = await deliver(target, text, keep);
          if (keep && answer) { status.textContent = answer; }
        } catch (e) {
          status.textContent = "The label was read but could not be sent: check the connection.";
        }
        lastAt = Date.now();
      }
      if (!current.stopped) { window.setTimeout(tick, 120); }
    }
    tick();
  }

  function offerTorch(current, button) {
    const track = current.stream.getVideoTracks()[0];
    const capabilities = track && track.getCapabilities ? track.getCapabilities() : {};
    if (!capabilities.torch) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      current.torch = !current.torch;
      track.applyConstraints({ advanced: [{ torch: current.torch }] }).catch(function () {});
      button.textContent = current.torch ? "Torch off" : "Torch on";
      button.setAttribute("aria-pressed", String(current.torch));
    });
  }

  function stopStream(current) {
    if (current.stream) { current.stream.getTracks().forEach(function (t) { t.stop(); }); }
  }

  function closeCamera() {
    if (!session) { return; }
    const current = session;
    session = null;
    current.stopped = true;
    stopStream(current);
    current.panel.remove();
    const box = document.getElementById(current.boxId);
    if (box) { box.focus(); }
  }

  // --- the buttons ------------------------------------------------------------------------
  function addButtons(root) {
    if (!cameraAvailable()) { return; }
    root.querySelectorAll("[data-scan-camera]").forEach(function (box) {
      if (box.dataset.scanCameraReady) { return; }
      box.dataset.scanCameraReady = "1";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-outline-secondary scan-camera-button";
      button.textContent = "Scan with camera";
      button.setAttribute("data-scan-camera-for", box.id);
      button.setAttribute("aria-controls", box.id);
      button.classList.add("btn-sm", "mt-2");
      (box.closest(".input-group") || box).insertAdjacentElement("afterend", button);
    });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-scan-camera-for]");
    if (!button) { return; }
    const box = document.getElementById(button.getAttribute("data-scan-camera-for"));
    if (box) { openCamera(box); }
  });
  document.addEventListener("DOMContentLoaded", function () { addButtons(document); });
  // Panels htmx swaps in (Mark Used) and forms replaced after a continuous read.
  document.addEventListener("htmx:afterSettle", function (event) { addButtons(event.target); });
  new MutationObserver(function () { addButtons(document); })
    .observe(document.documentElement, { childList: true, subtree: true });
})();
