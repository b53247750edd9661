// The post at a glance offers to undo a check-out for a few seconds: each row marked
// data-undo-s (the seconds it has left, from the server) goes away when they are up. A row a
// live update swaps in is picked up on the next tick. Without this script the row stays until
// the page is loaded again, and the post still refuses an undo after its own limit.
(function () {
  setInterval(function () {
    var now = Date.now();
    var rows = document.querySelectorAll("[data-undo-s]");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (!row.dataset.undoUntil) {
        row.dataset.undoUntil = String(now + Number(row.dataset.undoS) * 1000);
      }
      if (now >= Number(row.dataset.undoUntil)) { row.remove(); }
    }
  }, 250);
})();
