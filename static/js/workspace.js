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

// Composer: refuse a file above the size limit before uploading it (the server checks too).
(function () {
  "use strict";
  var input = document.getElementById("reply-attachments");
  var error = document.querySelector("[data-file-error]");
  if (!input || !error) { return; }
  input.addEventListener("change", function () {
    var limit = parseInt(input.dataset.maxBytes, 10);
    var big = Array.prototype.filter.call(input.files, function (f) { return f.size > limit; });
    if (big.length) {
      error.textContent = input.dataset.tooLarge.replace("%(name)s", big[0].name);
      error.hidden = false;
      input.value = "";
    } else {
      error.hidden = true;
    }
  });
})();

// Keyboard shortcuts: j/k move through the list, o or Enter opens, x selects, / searches;
// on a ticket r replies, n writes a note, e sets "send and solve", u goes back; ? shows help.
(function () {
  "use strict";
  var help = document.getElementById("shortcuts-help");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-ticket-row]"));
  var current = -1;

  function typingInField(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function move(step) {
    if (!rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("kbd-current"); rows[current].removeAttribute("aria-selected"); }
    current = Math.max(0, Math.min(rows.length - 1, current + step));
    var row = rows[current];
    row.classList.add("kbd-current");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
  }
  function composeAs(kind) {
    var radio = document.querySelector('form.composer input[name="reply-kind"][value="' + kind + '"]');
    var body = document.querySelector("form.composer textarea");
    if (radio) { radio.checked = true; radio.dispatchEvent(new Event("change", { bubbles: true })); }
    if (body) { body.focus(); }
    return Boolean(body);
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typingInField(e.target)) { return; }
    if (help && help.open) { return; }
    var handled = true;
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
      case "Enter":
        if (current < 0) { handled = false; break; }
        window.location.href = rows[current].querySelector("td:nth-child(2) a").href;
        break;
      case "x":
        if (current < 0) { handled = false; break; }
        var box = rows[current].querySelector('input[name="tickets"]');
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
        break;
      case "/":
        var search = document.querySelector('input[type="search"]');
        if (search) { search.focus(); } else { handled = false; }
        break;
      case "r": handled = composeAs("public"); break;
      case "n": handled = composeAs("internal"); break;
      case "e":
        var status = document.querySelector("[data-status-select]");
        if (!status) { handled = false; break; }
        status.value = "solved";
        status.dispatchEvent(new Event("change", { bubbles: true }));
        var body = document.querySelector("form.composer textarea");
        if (body) { body.focus(); }
        break;
      case "u":
        var back = document.querySelector(".crumbs a");
        if (back) { window.location.href = back.href; } else { handled = false; }
        break;
      case "?":
        if (help && help.showModal) { help.showModal(); } else { handled = false; }
        break;
      default: handled = false;
    }
    if (handled) { e.preventDefault(); }
  });
})();
