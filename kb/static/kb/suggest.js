// Web form: suggest help-centre articles while the customer types (debounced), and tell the
// help centre when the request is sent (deflection counting). No inline script: CSP-safe.
(function () {
  "use strict";
  var config = document.getElementById("kb-suggest-config");
  var box = document.getElementById("kb-suggestions");
  if (!config || !box) return;
  var form = box.closest("form");
  if (!form) return;
  box.setAttribute("aria-live", "polite");
  var fields = ["subject", "description"].map(function (name) { return form.querySelector("[name=" + name + "]"); })
    .filter(Boolean);
  var timer = null, last = "", controller = null;

  function render(articles) {
    box.textContent = "";
    if (!articles.length) { box.hidden = true; return; }
    var heading = document.createElement("p");
    heading.className = "kb-suggestions-title";
    heading.id = "kb-suggestions-title";
    heading.textContent = config.dataset.heading;
    var list = document.createElement("ul");
    list.setAttribute("aria-labelledby", heading.id);
    articles.forEach(function (article) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = article.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = article.title;
      item.appendChild(link);
      if (article.summary) {
        var summary = document.createElement("span");
        summary.className = "muted";
        summary.textContent = " — " + article.summary;
        item.appendChild(summary);
      }
      list.appendChild(item);
    });
    box.appendChild(heading);
    box.appendChild(list);
    box.hidden = false;
  }

  function lookUp() {
    var text = fields.map(function (f) { return f.value; }).join("\n").trim().slice(0, 1000);
    if (text === last) return;
    last = text;
    if (text.length < 4) { render([]); return; }
    if (controller) controller.abort();
    controller = typeof AbortController === "function" ? new AbortController() : null;
    var params = new URLSearchParams({ q: text, lang: config.dataset.lang || "" });
    fetch(config.dataset.url + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (r) { return r.ok ? r.json() : { articles: [] }; })
      .then(function (data) { render(data.articles || []); })
      .catch(function () { /* aborted or offline: keep what is shown */ });
  }

  fields.forEach(function (field) {
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookUp, 400);
    });
  });

  form.addEventListener("submit", function () {
    var token = form.querySelector("[name=csrfmiddlewaretoken]");
    if (!navigator.sendBeacon || !token) return;
    var data = new FormData();
    data.append("csrfmiddlewaretoken", token.value);
    navigator.sendBeacon(config.dataset.submittedUrl, data);
  });
})();
