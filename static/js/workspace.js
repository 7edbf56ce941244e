// Small enhancements for the agent workspace. Every form works without this file.
(function () {
  "use strict";

  // Ticket list: "select all" and a count of the selected tickets.
  var all = document.querySelector("[data-select-all]");
  var boxes = Array.prototype.slice.call(document.querySelectorAll('form.bulk input[name="tickets"]'));
  var counter = document.querySelector("[data-selected-count]");
  var counterText = counter ? counter.textContent : "";
  function refresh() {
    var n = boxes.filter(function (b) { return b.checked; }).length;
    if (all) { all.checked = n > 0 && n === boxes.length; all.indeterminate = n > 0 && n < boxes.length; }
    if (counter) { counter.textContent = n ? counterText.replace(/:?\s*$/, "") + " (" + n + "):" : counterText; }
  }
  if (all && boxes.length) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      refresh();
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", refresh); });

  // Enter in the bulk tag field adds the tag (rather than pressing the form's first button).
  var tag = document.getElementById("bulk-tag");
  if (tag) {
    tag.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); tag.form.querySelector('button[value="tag"]').click(); }
    });
  }

  // Composer: the send button says which status it will set.
  var status = document.querySelector("[data-status-select]");
  var send = document.querySelector("[data-send-button]");
  function label() {
    if (!status || !send) { return; }
    var option = status.options[status.selectedIndex];
    send.textContent = (status.value && option.dataset.sendLabel) || send.dataset.labelPlain;
  }
  if (status && send) { status.addEventListener("change", label); label(); }
})();
