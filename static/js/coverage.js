// Coverage pages: find a district in the table beside the map (the table works without this).
(function () {
  document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
    var table = document.getElementById(input.dataset.filterTable);
    var status = document.getElementById(input.getAttribute("aria-describedby"));
    if (!table) return;
    input.hidden = false;
    if (input.labels && input.labels[0]) input.labels[0].hidden = false;
    input.addEventListener("input", function () {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var match = !needle || row.cells[0].textContent.toLowerCase().indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) shown += 1;
      });
      if (status) status.textContent = needle ? shown + " / " + table.tBodies[0].rows.length : "";
    });
  });
})();
