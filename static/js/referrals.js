// The referral form: for a child, the usual basis is the CWC's duty (JJ Act s.31), not the child's own consent.
(function () {
  var touched = false;
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "consent-given_by" || target.name === "consent-legal_basis") touched = true;
    if (target.name !== "case-age_status" || touched) return;
    var child = target.value !== "adult";
    var giver = document.querySelector("input[name='consent-given_by'][value='" + (child ? "legal_basis" : "person") + "']");
    var basis = document.getElementById("id_consent-legal_basis");
    if (giver) giver.checked = true;
    if (basis) basis.value = child ? "child_function" : "consent";
  });
  // Choosing "no consent: a legal basis applies" without a basis picks the common one for the age.
  document.addEventListener("change", function (event) {
    if (event.target.name !== "consent-given_by") return;
    var basis = document.getElementById("id_consent-legal_basis");
    if (!basis) return;
    if (event.target.value === "legal_basis" && basis.value === "consent") {
      var minor = document.querySelector("input[name='case-age_status']:checked");
      basis.value = minor && minor.value === "adult" ? "s17_investigation" : "child_function";
    } else if (event.target.value !== "legal_basis" && event.target.value !== "cwc") {
      basis.value = "consent";
    }
  });
})();
