/* The agent chat console: several chats at once over /ws/chat/agent/. */
(function () {
  "use strict";
  var root = document.querySelector("[data-chat-console]");
  if (!root) return;
  var config = JSON.parse(document.getElementById("chat-console-config").textContent);
  var words = JSON.parse(document.getElementById("chat-console-strings").textContent);
  var $ = function (sel) {
    return root.querySelector(sel);
  };
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var socket = null;
  var retry = 0;
  var current = null; // the open chat's summary
  var mine = {}; // session id -> true when the chat is the agent's
  var unread = {}; // session id -> count
  var shown = {}; // message ids shown in the open chat
  var lastTyping = 0;
  var typingTimer = null;

  function send(data) {
    if (socket && socket.readyState === 1) {
      socket.send(JSON.stringify(data));
      return true;
    }
    return false;
  }
  function showError(text) {
    var el = $("[data-chat-error]");
    el.textContent = text || "";
    el.hidden = !text;
  }
  var insertInOrder = window.HelpdeskChatMessages.insertInOrder;

  function item(summary, button, onClick) {
    var li = document.createElement("li");
    li.setAttribute("data-session", summary.id);
    if (current && current.id === summary.id) li.className = "active";
    var open = document.createElement("button");
    open.type = "button";
    open.className = "cc-item";
    var title = document.createElement("strong");
    title.textContent = summary.visitor;
    open.appendChild(title);
    var meta = document.createElement("span");
    meta.className = "muted";
    meta.textContent =
      (summary.ticket ? words.ticket.replace("%(n)s", summary.ticket) + " · " : "") + (words.states[summary.state] || "");
    open.appendChild(meta);
    if (unread[summary.id]) {
      var badge = document.createElement("span");
      badge.className = "cc-badge";
      badge.textContent = unread[summary.id];
      open.appendChild(badge);
    }
    open.addEventListener("click", function () {
      send({ type: "open", session: summary.id });
    });
    li.appendChild(open);
    if (button) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn btn-small";
      b.textContent = button;
      b.addEventListener("click", onClick);
      li.appendChild(b);
    }
    return li;
  }

  function renderState(data) {
    var list = $("[data-mine]");
    list.textContent = "";
    mine = {};
    data.mine.forEach(function (s) {
      mine[s.id] = true;
      list.appendChild(item(s));
    });
    $("[data-mine-empty]").hidden = data.mine.length > 0;
    $("[data-mine-count]").textContent = "(" + data.mine.length + "/" + data.limit + ")";
    var queue = $("[data-queue]");
    queue.textContent = "";
    data.queue.forEach(function (s) {
      queue.appendChild(
        item(s, words.take, function () {
          send({ type: "take", session: s.id });
        })
      );
    });
    $("[data-queue-empty]").hidden = data.queue.length > 0;
    var offers = $("[data-offers]");
    offers.textContent = "";
    data.offers.forEach(function (o) {
      offers.appendChild(
        item({ id: o.session, visitor: words.ticket.replace("%(n)s", o.ticket), state: "waiting" }, words.accept, function () {
          send({ type: "accept", offer: o.id });
        })
      );
    });
    if (current) updateTools();
  }

  function addMessage(m) {
    if (shown[m.id]) return;
    shown[m.id] = true;
    var who = m.author === "visitor" ? current.visitor : m.name || words[m.author] || "";
    var li = window.HelpdeskChatMessages.render(m, "cc", who, false);
    insertInOrder($("[data-chat-log]"), li, m.id);
    if (m.author === "visitor") {
      $("[data-chat-typing]").hidden = true;
      $("[data-chat-seen]").hidden = true;
      if (!document.hidden) send({ type: "read", session: current.id });
    } else {
      $("[data-chat-seen]").hidden = true;
    }
  }

  function updateTools() {
    var isMine = !!mine[current.id] && current.state !== "ended";
    $("[data-take]").hidden = isMine || current.state === "ended";
    $("[data-end-chat]").hidden = !isMine;
    $("[data-chat-composer]").hidden = !isMine;
    $("[data-video]").hidden = !isMine;
  }

  function openChat(data) {
    current = data.session;
    if (data.mine) mine[current.id] = true;
    shown = {};
    unread[current.id] = 0;
    $("[data-empty]").hidden = true;
    $("[data-chat]").hidden = false;
    $("[data-chat-title]").textContent = current.visitor;
    $("[data-chat-meta]").textContent = [current.email, current.language, current.page, words.states[current.state]]
      .filter(Boolean)
      .join(" · ");
    var link = $("[data-ticket-link]");
    link.href = "/agent/tickets/" + current.ticket + "/";
    link.textContent = words.ticket.replace("%(n)s", current.ticket);
    $("[data-chat-log]").textContent = "";
    $("[data-chat-seen]").hidden = true;
    $("[data-chat-typing]").hidden = true;
    showError("");
    data.messages.forEach(addMessage);
    updateTools();
    root.querySelectorAll(".cc-list li").forEach(function (li) {
      li.classList.toggle("active", String(li.getAttribute("data-session")) === String(current.id));
    });
    send({ type: "read", session: current.id });
    if (mine[current.id]) $("[data-chat-text]").focus();
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socketPath);
    socket.onopen = function () {
      retry = 0;
      $("[data-conn]").textContent = words.online;
      root.setAttribute("data-online", "1");
      if (current) send({ type: "open", session: current.id });
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "state") renderState(data);
      else if (data.type === "history") openChat(data);
      else if (data.type === "message") {
        if (current && data.session === current.id) addMessage(data.message);
        else if (data.message.author === "visitor") {
          unread[data.session] = (unread[data.session] || 0) + 1;
          send({ type: "state" });
        }
      } else if (data.type === "typing" && current && data.session === current.id) {
        $("[data-chat-typing]").hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () {
          $("[data-chat-typing]").hidden = true;
        }, 4000);
      } else if (data.type === "read" && current && data.session === current.id) {
        $("[data-chat-seen]").hidden = false;
      } else if ((data.type === "chat_state" || data.type === "ended") && current && data.session === current.id) {
        current.state = data.type === "ended" ? "ended" : data.state;
        if (data.type === "ended") {
          var li = document.createElement("li");
          li.className = "cc-notice";
          li.textContent = words.ended;
          $("[data-chat-log]").appendChild(li);
        }
        updateTools();
      } else if (data.type === "error") showError(data.text);
    };
    socket.onclose = function () {
      root.removeAttribute("data-online");
      $("[data-conn]").textContent = words.offline;
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }

  $("[data-chat-composer]").addEventListener("submit", function (event) {
    event.preventDefault();
    var box = $("[data-chat-text]");
    var text = box.value.trim();
    if (!text || !current) return;
    showError("");
    if (send({ type: "message", session: current.id, text: text })) box.value = "";
  });
  $("[data-chat-text]").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("[data-chat-composer]").requestSubmit();
    }
  });
  $("[data-chat-text]").addEventListener("input", function () {
    var now = Date.now();
    if (current && now - lastTyping > 2000) {
      lastTyping = now;
      send({ type: "typing", session: current.id });
    }
  });
  $("[data-chat-file]").addEventListener("change", function (event) {
    var file = event.target.files[0];
    event.target.value = "";
    if (!file || !current) return;
    var form = new FormData();
    form.append("file", file);
    form.append("text", $("[data-chat-text]").value.trim());
    $("[data-chat-text]").value = "";
    fetch("/chat/agent/" + current.id + "/upload/", { method: "POST", body: form, headers: { "X-CSRFToken": csrf } })
      .then(function (r) {
        return r.json();
      })
      .then(function (data) {
        showError(data.error || "");
      });
  });
  $("[data-take]").addEventListener("click", function () {
    if (current) send({ type: "take", session: current.id });
  });
  $("[data-end-chat]").addEventListener("click", function () {
    if (current) send({ type: "end", session: current.id });
  });
  $("[data-video]").addEventListener("click", function () {
    if (!current) return;
    fetch("/chat/video/" + current.ticket + "/", {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    })
      .then(function (r) {
        return r.json();
      })
      .then(function (data) {
        showError(data.error || "");
      });
  });
  setInterval(function () {
    send({ type: "ping" });
  }, 30000);
  connect();
})();
