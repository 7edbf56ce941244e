// Article admin: "Insert" next to an uploaded file puts its Markdown into the last body field
// the editor was in (else the first one), at the cursor.
(function () {
  "use strict";
  var lastBody = null;
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("textarea[name$='body_markdown']")) lastBody = event.target;
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-kb-insert]");
    if (!button) return;
    var body = lastBody || document.querySelector("textarea[name$='body_markdown']");
    if (!body) return;
    var text = button.getAttribute("data-kb-insert");
    var start = body.selectionStart || body.value.length, end = body.selectionEnd || start;
    body.value = body.value.slice(0, start) + text + body.value.slice(end);
    body.focus();
  });
})();
