// Customer pages: the language selector applies the choice at once (the button stays for
// browsers without scripts).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    var button = select.form && select.form.querySelector("button[type=submit]");
    if (button) button.hidden = true;
    select.addEventListener("change", function () { select.form.submit(); });
  });
});
