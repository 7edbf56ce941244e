// Live updates for the agent workspace over /ws/agent/events/: the ticket page refreshes its
// timeline and status when something happens, shows who else is viewing and typing; the list
// says how many tickets changed since it was loaded. Without this file every page still works.
(function () {
  "use strict";
  var page = document.querySelector("[data-ticket]");
  var list = document.querySelector("[data-live-list]");
  if ((!page && !list) || !("WebSocket" in window)) { return; }

  var number = page ? parseInt(page.dataset.ticket, 10) : null;
  var socket = null;
  var retry = 1000;
  var changed = {};

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/agent/events/");
    socket.addEventListener("open", function () {
      retry = 1000;
      if (number) { send({ watch: number }); }
    });
    socket.addEventListener("message", function (e) {
      var data;
      try { data = JSON.parse(e.data); } catch (err) { return; }
      handle(data);
    });
    socket.addEventListener("close", function (e) {
      if (e.code === 4403) { return; }  // not an agent: do not knock again
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  function handle(data) {
    if (page && data.ticket === number) {
      if (data.kind === "presence") { showViewers(data.viewers || []); }
      else if (data.kind === "typing") { showTyping(data.agent); }
      else if (data.kind === "message" || data.kind === "change") { refreshTicket(); }
    }
    if (list && data.ticket && (data.kind === "message" || data.kind === "change")) {
      changed[data.ticket] = true;
      showBanner();
    }
  }

  // --- The ticket list: "N new or updated — refresh" ---------------------------------------
  function showBanner() {
    var banner = document.querySelector("[data-live-banner]");
    var text = document.querySelector("[data-live-banner-text]");
    if (!banner || !text) { return; }
    var n = Object.keys(changed).length;
    text.textContent = n === 1 ? text.dataset.one : text.dataset.many.replace("%(count)s", n);
    banner.hidden = false;
  }

  // --- The ticket page: timeline and status, presence, typing ------------------------------
  var refreshTimer = null;
  function refreshTicket() {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(function () {
      fetch(page.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) {
          var timeline = document.querySelector("[data-timeline]");
          var facts = document.querySelector("[data-live-facts]");
          if (timeline) { timeline.innerHTML = data.timeline; }
          if (facts) { facts.innerHTML = data.facts; }
        })
        .catch(function () {
          var banner = document.querySelector("[data-live-ticket-banner]");
          if (banner) { banner.hidden = false; }
        });
    }, 250);
  }

  var presence = document.querySelector("[data-presence]");
  var viewersBox = document.querySelector("[data-presence-viewers]");
  var typingBox = document.querySelector("[data-presence-typing]");
  var viewers = [];
  var typing = {};

  function render() {
    if (!presence) { return; }
    var names = viewers.map(function (a) { return a.name; });
    viewersBox.textContent = names.length ? viewersBox.dataset.label + " " + names.join(", ") : "";
    var typists = Object.keys(typing).map(function (id) { return typing[id].name; });
    typingBox.textContent = typists.length ? typists.join(", ") + " " + typingBox.dataset.label : "";
    presence.hidden = !names.length && !typists.length;
  }
  function showViewers(list) {
    viewers = list;
    // Whoever left is no longer typing.
    var here = {};
    list.forEach(function (a) { here[a.id] = true; });
    Object.keys(typing).forEach(function (id) {
      if (!here[id]) { window.clearTimeout(typing[id].timer); delete typing[id]; }
    });
    render();
  }
  function showTyping(agent) {
    if (!agent) { return; }
    if (typing[agent.id]) { window.clearTimeout(typing[agent.id].timer); }
    typing[agent.id] = {
      name: agent.name,
      timer: window.setTimeout(function () { delete typing[agent.id]; render(); }, 6000)
    };
    render();
  }

  if (page) {
    var body = document.querySelector("form.composer textarea");
    var lastTyping = 0;
    if (body) {
      body.addEventListener("input", function () {
        var now = Date.now();
        if (now - lastTyping > 2500) { lastTyping = now; send({ typing: number }); }
      });
    }
    window.setInterval(function () { send({ ping: number }); }, 30000);
  }

  connect();
})();
