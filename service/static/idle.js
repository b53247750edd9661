// A tablet left untouched logs out (on the server too) and shows the PIN pad again.
(function () {
  var form = document.querySelector("form.logout");
  if (!form) { return; }
  var limit = parseInt(form.dataset.idleS, 10) * 1000;
  var last = Date.now();
  ["pointerdown", "keydown", "input", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { last = Date.now(); }, {passive: true});
  });
  var timer = setInterval(function () {
    if (Date.now() - last >= limit) {
      clearInterval(timer);  // once: a second submit would cancel the first on its way
      form.submit();
    }
  }, 1000);
})();
