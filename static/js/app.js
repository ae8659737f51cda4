// Small progressive enhancements; every page works without JavaScript.
document.documentElement.classList.add("js");
(function () {
  // The phone menu: a button that shows and hides the navigation.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".menu-toggle");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  // Sortable tables: <table data-sortable> sorts client-side by clicking a header with data-sort.
  document.addEventListener("click", function (event) {
    var th = event.target.closest("table[data-sortable] th[data-sort]");
    if (!th) return;
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.dataset.sort === "number";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.value ?? a.cells[index].textContent.trim();
      var y = b.cells[index].dataset.value ?? b.cells[index].textContent.trim();
      if (numeric) { x = parseFloat(x); y = parseFloat(y); x = isNaN(x) ? -Infinity : x; y = isNaN(y) ? -Infinity : y; }
      var order = numeric ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
  // Auto-submit filter selects on wide screens only; on phones people choose several then apply.
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-autosubmit]");
    if (form && window.matchMedia("(min-width: 60rem)").matches && event.target.tagName === "SELECT") form.requestSubmit();
  });
})();
