/* The chat panel inside the widget's iframe: the visitor's side of the conversation. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var words = JSON.parse(document.getElementById("chat-strings").textContent);
  var TOKEN_KEY = "helpdesk-chat-token";
  var $ = function (sel) {
    return document.querySelector(sel);
  };
  var log = $("[data-log]");
  var statusLine = $("[data-status]");
  var textBox = $("[data-text]");
  var errorLine = $("[data-error]");
  var typingLine = $("[data-typing]");
  var seenLine = $("[data-seen]");
  var page = new URLSearchParams(window.location.search).get("page") || document.referrer || "";
  var token = null;
  var socket = null;
  var state = null;
  var seen = {};
  var unread = 0;
  var panelOpen = true;
  var retry = 0;
  var lastTyping = 0;
  var typingTimer = null;
  var profile = { name: "", email: "" };

  function storageGet() {
    try {
      return window.localStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }
  function storageSet(value) {
    try {
      window.localStorage.setItem(TOKEN_KEY, value);
    } catch (e) {}
  }

  function showError(text) {
    errorLine.textContent = text || "";
    errorLine.hidden = !text;
  }

  var insertInOrder = window.HelpdeskChatMessages.insertInOrder;

  function addMessage(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var who = m.author === "visitor" ? words.you : m.name || words[m.author] || "";
    var li = window.HelpdeskChatMessages.render(m, "chat", who, true);
    insertInOrder(log, li, m.id);
    if (m.author !== "visitor") {
      typingLine.hidden = true;
      seenLine.hidden = true;
      if (!panelOpen || document.hidden) {
        unread += 1;
        window.parent.postMessage({ helpdeskChat: "unread", count: unread }, "*");
      } else {
        send({ type: "read" });
      }
    } else {
      seenLine.hidden = true;
    }
  }

  function notice(text) {
    var li = document.createElement("li");
    li.className = "chat-notice";
    li.textContent = text;
    log.appendChild(li);
    li.scrollIntoView({ block: "end" });
  }

  function setState(value, staffed) {
    state = value;
    var label =
      value === "offline" || (!value && staffed === false)
        ? words.offline
        : value === "bot"
        ? words.bot_state
        : value === "waiting"
        ? words.waiting
        : value === "active"
        ? words.active
        : value === "ended"
        ? words.ended
        : words.online;
    statusLine.textContent = label;
    document.body.setAttribute("data-state", value || "new");
    $("[data-handover]").hidden = value !== "bot";
    $("[data-end]").hidden = !(value === "bot" || value === "waiting" || value === "active");
    var offline = value === "offline" || (!value && staffed === false);
    $("[data-offline]").hidden = !offline || !!profile.email;
  }

  function send(data) {
    if (socket && socket.readyState === 1) {
      socket.send(JSON.stringify(data));
      return true;
    }
    return false;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socketPath);
    socket.onopen = function () {
      retry = 0;
      socket.send(JSON.stringify({ type: "hello", token: token }));
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "welcome") {
        profile.name = data.name || "";
        profile.email = data.email || "";
        data.messages.forEach(addMessage);
        setState(data.state, data.staffed);
        var showPrechat = config.prechat && !data.state && !profile.name && !profile.email && !data.messages.length;
        $("[data-prechat]").hidden = !showPrechat || data.staffed === false;
        if (data.agent_read) seenLine.hidden = false;
        document.body.setAttribute("data-ready", "1");
      } else if (data.type === "message") {
        addMessage(data.message);
      } else if (data.type === "state") {
        setState(data.state);
      } else if (data.type === "typing") {
        typingLine.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () {
          typingLine.hidden = true;
        }, 4000);
      } else if (data.type === "read") {
        var mine = log.querySelectorAll(".chat-visitor");
        seenLine.hidden = mine.length === 0;
      } else if (data.type === "notice") {
        notice(data.text);
      } else if (data.type === "ended") {
        setState("ended");
        notice(words.ended);
        if (data.rate) showRating(data.rate.low, data.rate.high);
      } else if (data.type === "rated") {
        $("[data-stars]").hidden = true;
        $("[data-rated]").hidden = false;
      } else if (data.type === "contact_saved") {
        $("[data-prechat]").hidden = true;
        if (profile.email) {
          $("[data-offline-form]").hidden = true;
          $("[data-offline-saved]").hidden = false;
        }
      } else if (data.type === "error") {
        showError(data.text);
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4403) {
        // The token is no longer valid: start as a new visitor.
        try {
          window.localStorage.removeItem(TOKEN_KEY);
        } catch (e) {}
        token = null;
        return begin();
      }
      statusLine.textContent = words.reconnecting;
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }

  function showRating(low, high) {
    var box = $("[data-stars]");
    box.textContent = "";
    box.hidden = false;
    for (var i = low; i <= high; i++) {
      (function (score) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "chat-star";
        b.textContent = "★";
        b.setAttribute("aria-label", words.stars.replace("%(n)s", score));
        b.setAttribute("data-score", score);
        b.addEventListener("click", function () {
          send({ type: "rate", score: score });
        });
        box.appendChild(b);
      })(i);
    }
    $("[data-rate]").hidden = false;
  }

  function begin() {
    fetch(config.visitorUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: storageGet() || "", lang: config.lang }),
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (data) {
        token = data.token;
        storageSet(token);
        connect();
      })
      .catch(function () {
        statusLine.textContent = words.reconnecting;
        setTimeout(begin, 3000);
      });
  }

  $("[data-composer]").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textBox.value.trim();
    if (!text) return;
    showError("");
    if (send({ type: "message", text: text, page: page })) {
      textBox.value = "";
      $("[data-prechat]").hidden = true;
    }
  });
  textBox.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("[data-composer]").requestSubmit();
    }
  });
  textBox.addEventListener("input", function () {
    var now = Date.now();
    if (state && now - lastTyping > 2000) {
      lastTyping = now;
      send({ type: "typing" });
    }
  });
  $("[data-file]").addEventListener("change", function (event) {
    var file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    if (file.size > config.maxBytes) return showError(words.too_big);
    var form = new FormData();
    form.append("token", token);
    form.append("file", file);
    fetch(config.uploadUrl, { method: "POST", body: form })
      .then(function (r) {
        return r.json();
      })
      .then(function (data) {
        showError(data.error || "");
      });
  });
  $("[data-prechat]").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    profile.name = form.name.value.trim();
    profile.email = form.email.value.trim();
    send({ type: "contact", name: profile.name, email: profile.email });
    form.hidden = true;
    textBox.focus();
  });
  $("[data-skip]").addEventListener("click", function () {
    $("[data-prechat]").hidden = true;
    textBox.focus();
  });
  $("[data-offline-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    profile.email = event.target.email.value.trim();
    send({ type: "contact", name: profile.name, email: profile.email });
  });
  $("[data-handover]").addEventListener("click", function () {
    send({ type: "handover" });
  });
  $("[data-end]").addEventListener("click", function () {
    send({ type: "end" });
  });
  $("[data-close]").addEventListener("click", function () {
    window.parent.postMessage({ helpdeskChat: "close" }, "*");
  });
  window.addEventListener("message", function (event) {
    if (!event.data || typeof event.data !== "object") return;
    if (event.data.helpdeskChat === "opened") {
      panelOpen = true;
      if (unread) {
        unread = 0;
        send({ type: "read" });
      }
    } else if (event.data.helpdeskChat === "closed") {
      panelOpen = false;
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && unread && panelOpen) {
      unread = 0;
      send({ type: "read" });
    }
  });
  // Opened on its own (not in the widget): no close button.
  if (window.parent === window) $("[data-close]").hidden = true;
  begin();
})();
