/* The ticket page's composer: the SMS character and segment counter, the WhatsApp closed-window
   notice and template form shown for the channel chosen, the template's parameter fields, and
   remembering the agent's own phone number for the Call button. No inline handlers (CSP). */
(function () {
  "use strict";

  var form = document.querySelector("form.composer");
  if (!form) return;
  var channel = form.querySelector("select[name='reply-channel']");
  var body = form.querySelector("textarea[name='reply-body']");
  var sendButton = form.querySelector("[data-send-button]");

  function currentKind() {
    var checked = form.querySelector("input[name='reply-kind']:checked");
    return checked ? checked.value : "public";
  }

  /* SMS segments, following channels_inbox/twilio/segments.py: GSM-7 is 160 septets in one
     SMS and 153 per part (extension characters take two, never split); anything else makes the
     whole text UCS-2, 70 UTF-16 units in one SMS and 67 per part (surrogate pairs kept whole). */
  var counter = document.querySelector("[data-sms-counter]");
  function smsSegments(text) {
    var basic = counter.getAttribute("data-gsm-basic");
    var extension = counter.getAttribute("data-gsm-extension");
    var chars = Array.from(text);
    var gsm = chars.every(function (ch) { return basic.indexOf(ch) >= 0 || extension.indexOf(ch) >= 0; });
    var units = chars.map(function (ch) {
      if (gsm) return extension.indexOf(ch) >= 0 ? 2 : 1;
      return ch.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var single = gsm ? 160 : 70, part = gsm ? 153 : 67;
    var total = units.reduce(function (a, b) { return a + b; }, 0);
    var result = { chars: chars.length, encoding: gsm ? "GSM-7" : "UCS-2" };
    if (total <= single) {
      result.segments = total ? 1 : 0;
      result.left = single - total;
      return result;
    }
    var segments = 1, used = 0;
    units.forEach(function (size) {
      if (used + size > part) { segments += 1; used = 0; }
      used += size;
    });
    result.segments = segments;
    result.left = part - used;
    return result;
  }
  function updateCounter() {
    if (!counter || !body) return;
    var r = smsSegments(body.value);
    counter.textContent = counter.getAttribute("data-template")
      .replace("{chars}", r.chars).replace("{segments}", r.segments)
      .replace("{encoding}", r.encoding).replace("{left}", r.left);
    counter.setAttribute("data-encoding", r.encoding);
    counter.setAttribute("data-segments", r.segments);
  }

  /* Panels belong to a channel and show only while it is chosen for a public reply. */
  function updatePanels() {
    var chosen = channel ? channel.value : "";
    var isPublic = currentKind() !== "internal";
    document.querySelectorAll("[data-composer-panel]").forEach(function (panel) {
      panel.hidden = !(isPublic && panel.getAttribute("data-composer-panel") === chosen);
    });
    var closed = document.querySelector("[data-whatsapp-closed]");
    if (sendButton) {
      var blocked = Boolean(closed) && isPublic && chosen === "whatsapp";
      sendButton.disabled = blocked;
      if (blocked) sendButton.setAttribute("title", closed.textContent.trim());
      else sendButton.removeAttribute("title");
    }
  }

  if (body) body.addEventListener("input", updateCounter);
  if (channel) channel.addEventListener("change", updatePanels);
  form.querySelectorAll("input[name='reply-kind']").forEach(function (radio) {
    radio.addEventListener("change", updatePanels);
  });
  updateCounter();
  updatePanels();

  /* The template form: only the chosen template's parameter fields are enabled (and sent). */
  var templateSelect = document.querySelector("[data-template-select]");
  function updateTemplateFields() {
    document.querySelectorAll("[data-template-fields]").forEach(function (fields) {
      var active = fields.getAttribute("data-template-fields") === templateSelect.value;
      fields.disabled = !active;
      fields.hidden = !active;
    });
  }
  if (templateSelect) {
    templateSelect.addEventListener("change", updateTemplateFields);
    updateTemplateFields();
  }

  /* The Call button: remember the agent's phone in this browser. */
  var agentPhone = document.querySelector("[data-agent-phone]");
  if (agentPhone) {
    try {
      if (!agentPhone.value) agentPhone.value = window.localStorage.getItem("helpdesk.agentPhone") || "";
      agentPhone.form.addEventListener("submit", function () {
        window.localStorage.setItem("helpdesk.agentPhone", agentPhone.value.trim());
      });
    } catch (e) { /* storage may be disabled; the field still works */ }
  }
})();
