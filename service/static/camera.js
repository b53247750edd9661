// The patrol page reads a checkpoint's QR code with the phone's camera (edge/templates/
// patrol.html, `[data-camera]`): "Scan with the camera" starts the back camera, a few frames a
// second are drawn to a canvas and decoded, by the browser's BarcodeDetector where it reads
// QR codes, else by jsQR (service/static/jsqr-1.4.0.js, Apache-2.0, loaded on first use; see
// docs/patrol.md to update it). A code found stops the camera and is sent as if typed. The
// camera stops when the page is hidden (another app, the screen off) and when the guard says
// so. No camera, a refusal, or a page reached over plain http (no secure context, no camera):
// the page says so in its language and the typed code field is still there. Without this
// script the camera part stays hidden.
(function () {
  var box = document.querySelector("[data-camera]");
  var form = document.querySelector("form.patrol-scan");
  if (!box || !form) { return; }
  var input = form.querySelector("input[name=code]");
  var startButton = box.querySelector("button[name=camera]");
  var stopButton = box.querySelector("button[name=stop_camera]");
  var video = box.querySelector("video");
  var state = box.querySelector(".camera-state");
  var canvas = document.createElement("canvas");
  var FRAME_MS = 200;  // 5 looks a second: enough for a code held still, easy on a battery
  var MAX_SIDE = 640;  // frames are scaled down to this: a printed card fills much of it
  var stream = null;
  var timer = null;
  var decode = null;

  box.hidden = false;

  function say(key) {
    state.textContent = key ? box.getAttribute("data-" + key) : "";
    box.setAttribute("data-state", key || "off");
  }

  function typeInstead(key) {
    say(key);
    input.focus();
  }

  if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    startButton.hidden = true;
    say("insecure");
    return;
  }

  function loadJsQR() {
    if (window.jsQR) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = box.getAttribute("data-jsqr");
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function withJsQR() {
    box.setAttribute("data-decoder", "jsqr");
    return loadJsQR().then(function () {
      return function (context) {
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(image.data, image.width, image.height,
                               {inversionAttempts: "dontInvert"});
        return Promise.resolve(code ? code.data : null);
      };
    });
  }

  function decoder() {  // a function of a drawn frame's context -> the code in it, or null
    if (decode) { return Promise.resolve(decode); }
    var native = window.BarcodeDetector;
    var chosen = native && native.getSupportedFormats
      ? native.getSupportedFormats().then(function (formats) {
          if (formats.indexOf("qr_code") < 0) { return withJsQR(); }
          var detector = new native({formats: ["qr_code"]});
          box.setAttribute("data-decoder", "native");
          return function () {
            return detector.detect(canvas).then(function (codes) {
              return codes.length ? codes[0].rawValue : null;
            });
          };
        }, withJsQR)
      : withJsQR();
    return chosen.then(function (found) { decode = found; return found; });
  }

  function frame() {
    var width = video.videoWidth;
    var height = video.videoHeight;
    if (!width || !height) { return null; }
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    var context = canvas.getContext("2d", {willReadFrequently: true});
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    return context;
  }

  function look() {
    timer = null;
    if (!stream) { return; }
    var context = frame();
    Promise.resolve(context).then(function (drawn) {  // a decoder that throws: the next frame
      return drawn ? decode(drawn) : null;
    }).then(function (code) {
      if (!stream) { return; }
      if (code && code.trim()) { found(code.trim()); return; }
      timer = setTimeout(look, FRAME_MS);
    }, function () {
      if (stream) { timer = setTimeout(look, FRAME_MS); }
    });
  }

  function found(code) {
    stop();
    say("found");
    input.value = code;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
    }
    video.srcObject = null;
    show(false);
  }

  function show(isOn) {  // the picture and "Stop the camera", or "Scan with the camera"
    video.hidden = !isOn;
    stopButton.hidden = !isOn;
    startButton.hidden = isOn;
    box.setAttribute("data-camera", isOn ? "on" : "off");
  }

  function start() {
    startButton.disabled = true;
    decoder().then(function () {  // first: a decoder that fails to load leaves no camera on
      return navigator.mediaDevices.getUserMedia({video: {facingMode: {ideal: "environment"}},
                                                  audio: false});
    }).then(function (opened) {
      stream = opened;
      video.srcObject = stream;
      show(true);
      say("looking");
      return video.play();
    }).then(function () {
      look();
    }).catch(function (error) {
      stop();
      var name = error && error.name;
      if (name === "NotAllowedError" || name === "SecurityError") { typeInstead("denied"); }
      else if (name === "NotFoundError" || name === "OverconstrainedError") { typeInstead("none"); }
      else { typeInstead("failed"); }
    }).then(function () {
      startButton.disabled = false;
    });
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", function () { stop(); say(""); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && stream) { stop(); say("paused"); }
  });
  window.addEventListener("pagehide", stop);
})();
