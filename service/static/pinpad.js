// The PIN pad types into the field the guard is in, the badge or the PIN (the PIN until the
// guard taps a field); typing on a keyboard works too. The pad's keys never take the focus,
// so the field stays the one being typed into, and "✓" in the badge field moves to the PIN.
(function () {
  var badge = document.getElementById("badge");
  var pin = document.getElementById("pin");
  if (!pin) { return; }
  var target = pin;
  var label = document.querySelector(".pinpad-target");
  function aim(field) {
    target = field;
    if (label) { label.textContent = label.dataset[field === pin ? "pin" : "badge"]; }
  }
  [badge, pin].forEach(function (field) {
    if (field) { field.addEventListener("focus", function () { aim(field); }); }
  });
  if (badge) { badge.addEventListener("blur", function () { aim(pin); }); }  // no field: the PIN
  if (badge && document.activeElement === badge) { aim(badge); }
  document.querySelectorAll(".pinpad button").forEach(function (button) {
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () {
      var key = button.dataset.key;
      if (key === "⌫") { target.value = target.value.slice(0, -1); }
      else if (key === "✓") {
        if (target === badge && !pin.value) { pin.focus(); aim(pin); return; }
        pin.form.requestSubmit();
      }
      else if (target.value.length < (target === pin ? 8 : 32)) { target.value += key; }
      target.focus();
    });
  });
  // a badge reader types the number and Enter: go on to the PIN instead of sending the form
  if (badge) {
    badge.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !pin.value) { event.preventDefault(); pin.focus(); }
    });
  }
})();
