// The panic button in the tablet's bar (edge/templates/_panic.html). Pressed and held for 2
// seconds (a finger, the mouse, or Space or Enter held down) its bar fills, then it posts
// with `confirm=yes` and the guard sees that help is being called. Let go early and nobody is
// called: the hint says to hold. A click that came with no press at all (a screen reader's)
// posts without `confirm`, and the server asks to confirm on a page of its own; so does the
// button when this script does not run.
(function () {
  var HOLD_MS = 2000;  // as long as the fill's transition in tablet.css
  var KEYS = {" ": true, "Enter": true};

  function arm(form) {
    var button = form.querySelector("button[name=panic]");
    var confirm = form.querySelector("input[name=confirm]");
    var timer = null;
    var pressed = false;  // a press began: the click that ends it must not post on its own
    var fired = false;

    function start() {
      if (timer || fired) { return; }
      pressed = true;
      form.classList.remove("hint");
      form.classList.add("holding");
      timer = setTimeout(fire, HOLD_MS);
    }

    function release() {
      if (!timer) { return; }
      clearTimeout(timer);
      timer = null;
      form.classList.remove("holding");
      form.classList.add("hint");  // "Press and hold for 2 seconds"
    }

    function fire() {
      timer = null;
      fired = true;
      form.classList.remove("holding");
      form.classList.add("fired");
      button.querySelector(".panic-label").textContent = button.getAttribute("data-calling");
      confirm.value = "yes";
      form.submit();
    }

    button.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) { return; }
      event.preventDefault();  // no focus ring flash, no text selection on a long press
      if (button.setPointerCapture) { button.setPointerCapture(event.pointerId); }
      start();
    });
    ["pointerup", "pointercancel", "lostpointercapture"].forEach(function (name) {
      button.addEventListener(name, release);
    });
    button.addEventListener("keydown", function (event) {
      if (!KEYS[event.key]) { return; }
      event.preventDefault();  // no click from the key: only the hold posts
      if (!event.repeat) { start(); }
    });
    button.addEventListener("keyup", function (event) {
      if (KEYS[event.key]) { event.preventDefault(); release(); }
    });
    button.addEventListener("blur", release);
    button.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    button.addEventListener("click", function (event) {
      if (pressed || fired) { event.preventDefault(); }  // a short press calls nobody
      pressed = false;
    });
  }

  document.querySelectorAll("form[data-panic]").forEach(arm);
})();
