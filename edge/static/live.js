// Pages marked <main data-live> follow the logbook without a reload: every 2 s the page asks
// /live for the logbook's version (last seq, acked seq, online); when it moved (a resident
// answered, a door was forced, another tablet checked someone out), the page fetches itself
// and swaps in the new <main> and sync badge. A guard typing into a field is never
// interrupted: the swap waits until the field is empty or loses focus.
(function () {
  var main = document.querySelector("main[data-live]");
  if (!main) { return; }
  var version = main.dataset.version;
  var busy = false;

  function typing() {
    var field = document.activeElement;
    return field && main.contains(field) && /^(INPUT|TEXTAREA|SELECT)$/.test(field.tagName) &&
      field.value !== "";
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    var freshMain = fresh.querySelector("main[data-live]");
    if (!freshMain) { return; }
    main.innerHTML = freshMain.innerHTML;
    main.dataset.version = freshMain.dataset.version;
    var badge = document.querySelector("[data-sync]");
    var freshBadge = fresh.querySelector("[data-sync]");
    if (badge && freshBadge) { badge.replaceWith(freshBadge); }
  }

  setInterval(function () {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch("/live", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || state.version === version || typing()) { return null; }
        return fetch(location.href, {credentials: "same-origin"}).then(function (r) {
          if (!r.ok || r.redirected) { return; }
          return r.text().then(function (html) { swap(html); version = main.dataset.version; });
        });
      })
      .catch(function () { /* the post restarts or the Wi-Fi drops: try again later */ })
      .then(function () { busy = false; });
  }, 2000);
})();
