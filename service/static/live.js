// Pages marked <main data-live> follow the logbook without a reload. The page listens to
// /live as server-sent events: the server sends the logbook's version (on the tablet: last
// seq, acked seq, online; at the hub: what the dashboard shows) each time it moves (a
// resident answered, a door was forced, a post went offline), and the page then fetches
// itself and swaps in the new <main> and sync badge. Where EventSource is missing or keeps
// failing, the page asks /live every 2 s instead. What a guard has typed or chosen and not
// sent is never lost: the swap waits until it is sent or cleared. A page that answers a form
// with an error is not live at all (its <main> has no data-live).
(function () {
  var main = document.querySelector("main[data-live]");
  if (!main) { return; }
  var version = main.dataset.version;
  var wanted = version;
  var busy = false;

  // something typed or chosen on this page and not sent yet (a swap would lose it)
  function typing() {
    var fields = main.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden") { continue; }
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) { return true; }
      } else if (field.tagName === "SELECT") {
        // with no option marked selected, a single choice starts on its first option
        var marked = false;
        for (var k = 0; k < field.options.length; k++) {
          if (field.options[k].defaultSelected) { marked = true; }
        }
        for (var j = 0; j < field.options.length; j++) {
          var first = j === 0 && !field.multiple;
          var start = marked ? field.options[j].defaultSelected : first;
          if (field.options[j].selected !== start) { return true; }
        }
      } else if (field.value !== field.defaultValue) { return true; }
    }
    return false;
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

  // bring the page up to `wanted`, unless it is there, busy, or the guard is typing
  function refresh() {
    if (busy || wanted === version || typing()) { return; }
    busy = true;
    fetch(location.href, {credentials: "same-origin"})
      .then(function (r) {
        if (!r.ok || r.redirected) { return; }
        return r.text().then(function (html) {
          if (typing()) { return; }  // typed while the page was on its way: retried each second
          swap(html);
          version = main.dataset.version;
        });
      })
      .catch(function () { /* the post restarts or the Wi-Fi drops: the next change retries */ })
      .then(function () { busy = false; });
  }

  function poll() {
    setInterval(function () {
      if (document.hidden) { return; }
      fetch("/live", {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) { if (state) { wanted = state.version; refresh(); } })
        .catch(function () { /* try again in 2 s */ });
    }, 2000);
  }

  setInterval(refresh, 1000);  // a change that came while the guard was typing
  if (!window.EventSource) { poll(); return; }
  var failures = 0;
  var stream = new EventSource("/live");
  stream.onmessage = function (message) {
    failures = 0;
    wanted = JSON.parse(message.data).version;
    refresh();
  };
  stream.addEventListener("logout", function () {
    // the session ended (revoked, or logged out in another tab): show the login page; not at
    // once, so that a logout this very page is making (idle, or the button) is not cut short
    stream.close();
    setTimeout(function () { location.reload(); }, 3000);
  });
  stream.onerror = function () {
    // the browser reconnects by itself (the server ends each stream after two minutes);
    // a proxy that cannot stream makes it fail again and again: poll instead
    failures += 1;
    if (failures > 5) { stream.close(); poll(); }
  };
})();
