// Hospital sign-off: finger-drawn signatures on canvases (pointer events: touch, pen, mouse),
// posted as strokes of points in the canvas's 600 x 200 box; the patient-sticker photo taken with
// the phone's camera (getUserMedia) or picked by the file input (capture="environment").
// No inline scripts (CSP).
(function () {
  "use strict";

  function setUpPad(canvas) {
    const input = document.getElementById(canvas.dataset.signatureFor);
    const ctx = canvas.getContext("2d");
    const strokes = [];
    let current = null;
    ctx.lineWidth = 4;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";

    function point(event) {
      const rect = canvas.getBoundingClientRect();
      const x = (event.clientX - rect.left) * canvas.width / rect.width;
      const y = (event.clientY - rect.top) * canvas.height / rect.height;
      return [Math.round(Math.min(Math.max(x, 0), canvas.width) * 10) / 10,
              Math.round(Math.min(Math.max(y, 0), canvas.height) * 10) / 10];
    }
    function save() { input.value = strokes.length ? JSON.stringify(strokes) : ""; }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      current = [point(event)];
      strokes.push(current);
      ctx.beginPath();
      ctx.moveTo(current[0][0], current[0][1]);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!current) { return; }
      event.preventDefault();
      const p = point(event);
      current.push(p);
      ctx.lineTo(p[0], p[1]);
      ctx.stroke();
    });
    function end() {
      if (!current) { return; }
      current = null;
      save();
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
    document.querySelectorAll('[data-signature-clear="' + input.id + '"]').forEach(function (b) {
      b.addEventListener("click", function () {
        strokes.length = 0;
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        save();
      });
    });
  }

  function setUpCamera(form) {
    const open = form.querySelector("[data-sticker-camera]");
    const capture = form.querySelector("[data-sticker-capture]");
    const video = form.querySelector("[data-sticker-video]");
    const preview = form.querySelector("[data-sticker-preview]");
    const input = form.querySelector('input[type="file"][name="sticker_photo"]');
    if (!open || !input) { return; }
    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
      open.classList.add("d-none");  // the file input still opens the camera on phones
      return;
    }
    let stream = null;
    open.addEventListener("click", async function () {
      try {
        stream = await navigator.mediaDevices.getUserMedia(
          { video: { facingMode: "environment" }, audio: false });
      } catch (error) {
        open.textContent = "Camera unavailable: use the file field";
        return;
      }
      video.srcObject = stream;
      video.classList.remove("d-none");
      capture.classList.remove("d-none");
      await video.play();
    });
    capture.addEventListener("click", function () {
      if (!stream) { return; }
      const canvas = document.createElement("canvas");
      canvas.width = video.videoWidth || 640;
      canvas.height = video.videoHeight || 480;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(function (blob) {
        const file = new File([blob], "sticker.jpg", { type: "image/jpeg" });
        const transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        // The preview is drawn, not loaded: the CSP allows no blob: images.
        preview.width = canvas.width;
        preview.height = canvas.height;
        preview.getContext("2d").drawImage(canvas, 0, 0);
        preview.classList.remove("d-none");
        form.dataset.stickerTaken = "1";
      }, "image/jpeg", 0.85);
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.classList.add("d-none");
      capture.classList.add("d-none");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-signature-for]").forEach(setUpPad);
    document.querySelectorAll("form[data-sign-off]").forEach(setUpCamera);
  });
})();
