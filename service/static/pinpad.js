// The PIN pad types into the PIN field; typing on a keyboard works too.
document.querySelectorAll(".pinpad button").forEach(function (button) {
  button.addEventListener("click", function () {
    var pin = document.getElementById("pin");
    var key = button.dataset.key;
    if (key === "⌫") { pin.value = pin.value.slice(0, -1); }
    else if (key === "✓") { pin.form.requestSubmit(); }
    else if (pin.value.length < 8) { pin.value += key; }
    pin.focus();
  });
});
