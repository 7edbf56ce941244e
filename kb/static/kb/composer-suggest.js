// Agent composer: "Insert link" puts the article's Markdown link into the reply at the cursor.
(function () {
  "use strict";
  var box = document.querySelector("[data-kb-composer]");
  var form = box && box.closest("form");
  var body = form && form.querySelector("textarea[name='reply-body']");
  if (!body) return;
  box.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var text = button.getAttribute("data-kb-insert");
    var start = body.selectionStart || 0, end = body.selectionEnd || 0;
    var before = body.value.slice(0, start), after = body.value.slice(end);
    var spacer = before && !/\s$/.test(before) ? " " : "";
    body.value = before + spacer + text + after;
    var cursor = (before + spacer + text).length;
    body.focus();
    body.setSelectionRange(cursor, cursor);
    body.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
