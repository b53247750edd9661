// The post at a glance sounds a short beep when an incident becomes overdue, or a guard calls
// for help from the patrol phone: a row marked `li.overdue[data-id]` or `li.panic[data-id]`
// that this tablet has not seen so before, when the page opens or when live.js swaps in fresh
// content. The ids already seen are kept in localStorage, so going
// back to the page or a live refresh does not beep again. <button name="mute"> silences it;
// the choice is kept in localStorage too. Browsers only let a page play sound after a tap on
// it; a lobby kiosk can start Chromium with --autoplay-policy=no-user-gesture-required.
(function () {
  var main = document.querySelector("main");
  if (!main) { return; }
  var SEEN = "guardpost.overdueSeen";
  var MUTED = "guardpost.muted";
  var audio = null;
  window.guardpostAlarm = {beeps: 0};  // how many beeps were asked for (for the tests)

  function muted() { return localStorage.getItem(MUTED) === "true"; }

  function showMute() {
    var button = document.querySelector("button[name=mute]");
    if (button) { button.setAttribute("aria-pressed", muted() ? "true" : "false"); }
  }

  function context() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) { audio = new Context(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
    return audio;
  }

  function beep() {
    window.guardpostAlarm.beeps += 1;
    if (muted()) { return; }
    var ctx = context();
    if (!ctx) { return; }
    // two short tones, 880 Hz then 660 Hz, 0.18 s each: heard over a lobby, over quickly
    [880, 660].forEach(function (hz, i) {
      var start = ctx.currentTime + i * 0.22;
      var tone = ctx.createOscillator();
      var gain = ctx.createGain();
      tone.type = "square";
      tone.frequency.value = hz;
      gain.gain.setValueAtTime(0.2, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.18);
      tone.connect(gain).connect(ctx.destination);
      tone.start(start);
      tone.stop(start + 0.2);
    });
  }

  function check() {
    showMute();
    var seen = JSON.parse(localStorage.getItem(SEEN) || "[]");
    var now = [];
    var fresh = false;
    document.querySelectorAll("li.overdue[data-id], li.panic[data-id]").forEach(function (row) {
      var id = row.dataset.id;
      if (now.indexOf(id) < 0) { now.push(id); }
      if (seen.indexOf(id) < 0) { fresh = true; }
    });
    localStorage.setItem(SEEN, JSON.stringify(now));  // only the ones marked now: no growth
    if (fresh) { beep(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[name=mute]");
    if (button) {
      localStorage.setItem(MUTED, muted() ? "false" : "true");
      showMute();
    }
    if (!muted()) { context(); }  // a tap lets the page play sound later
  });
  new MutationObserver(check).observe(main, {childList: true});
  check();
})();
