// Evidence photos on the tablet's incident page: the chosen photo is made smaller in the
// browser (longest side 1600 px, JPEG at 0.8) before it is sent, with a progress bar. Without
// this script, or where the browser cannot decode the photo, the plain form sends the file.
(function () {
  "use strict";
  var MAX_SIDE = 1600;
  var QUALITY = 0.8;

  function resized(file) {
    if (!window.createImageBitmap) {
      return Promise.reject(new Error("no createImageBitmap"));
    }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) {
          if (blob) { resolve(blob); } else { reject(new Error("no JPEG")); }
        }, "image/jpeg", QUALITY);
      });
    });
  }

  function showError(form, text) {
    var error = form.querySelector(".photo-error");
    error.textContent = text;
    error.hidden = false;
  }

  function send(form, blob) {
    var progress = form.querySelector("progress");
    var button = form.querySelector("button[type=submit]");
    var data = new FormData();
    data.append("csrf", form.elements.csrf.value);
    data.append("file", blob, "photo.jpg");
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    progress.hidden = false;
    button.disabled = true;
    request.upload.onprogress = function (event) {
      if (event.lengthComputable) { progress.value = Math.round(100 * event.loaded / event.total); }
    };
    request.onload = function () {
      if (request.status < 400) {
        window.location.assign(request.responseURL || window.location.href);
        return;
      }
      // the server's page says what was wrong, in the page's language
      var page = new DOMParser().parseFromString(request.responseText, "text/html");
      var said = page.querySelector(".photo-error");
      showError(form, (said && said.textContent.trim()) || form.dataset.failed);
      progress.hidden = true;
      button.disabled = false;
    };
    request.onerror = function () {
      showError(form, form.dataset.failed);
      progress.hidden = true;
      button.disabled = false;
    };
    request.send(data);
  }

  document.querySelectorAll("form[data-photo-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input.files || !input.files.length || !window.FormData) { return; }
      event.preventDefault();
      resized(input.files[0]).then(function (blob) {
        send(form, blob);
      }, function () {
        form.submit(); // the browser cannot decode it here: the server decides
      });
    });
  });
}());
