// Forms marked data-autosubmit send themselves when a choice changes (no inline handlers:
// the Content-Security-Policy allows scripts from this site only).
(function () {
  "use strict";
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
