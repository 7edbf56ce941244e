/* Help desk live chat: the one script a site embeds.
 *   <script src="https://desk.example.com/chat/widget.js" async></script>
 * Optional attributes: data-lang="pt-br" (else the page's lang, else the browser's).
 * It adds a chat button (in a shadow root, so the site's styles do not touch it) and, when
 * opened, the chat panel: an iframe of the help desk, which keeps the visitor's token. */
(function () {
  "use strict";
  if (window.__helpdeskChatLoaded) return;
  window.__helpdeskChatLoaded = true;
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll('script[src*="/chat/widget.js"]');
    script = all[all.length - 1];
  }
  if (!script) return;
  var base = new URL(script.src, window.location.href).origin;
  var lang = script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en";
  var OPEN_KEY = "helpdesk-chat-open";

  var css =
    ":host{all:initial}" +
    ".btn{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:60px;height:60px;border-radius:50%;border:0;" +
    "background:#2563eb;color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer;display:flex;align-items:center;justify-content:center}" +
    ".btn:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}" +
    ".btn svg{width:28px;height:28px;fill:currentColor}" +
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#dc2626;color:#fff;" +
    "font:600 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px;box-sizing:border-box}" +
    ".panel{position:fixed;right:20px;bottom:92px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 112px));" +
    "border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff}" +
    ".panel[hidden]{display:none}" +
    ".panel iframe{border:0;width:100%;height:100%;display:block}" +
    "@media (max-width:480px){.panel{right:0;bottom:0;left:0;top:0;width:100%;height:100%;border-radius:0}" +
    ".open .btn{display:none}}";

  function start() {
    var host = document.createElement("div");
    host.setAttribute("data-helpdesk-chat", "");
    document.body.appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = document.createElement("style");
    style.textContent = css;
    root.appendChild(style);
    var wrap = document.createElement("div");
    root.appendChild(wrap);

    var button = document.createElement("button");
    button.className = "btn";
    button.type = "button";
    button.setAttribute("aria-label", "Chat");
    button.setAttribute("aria-expanded", "false");
    button.innerHTML =
      '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    var badge = document.createElement("span");
    badge.className = "badge";
    badge.hidden = true;
    button.appendChild(badge);
    wrap.appendChild(button);

    var panel = document.createElement("div");
    panel.className = "panel";
    panel.hidden = true;
    wrap.appendChild(panel);
    var frame = null;

    function ensureFrame() {
      if (frame) return;
      frame = document.createElement("iframe");
      frame.title = "Chat";
      frame.setAttribute("allow", "clipboard-write");
      frame.src = base + "/chat/frame/?lang=" + encodeURIComponent(lang) + "&page=" + encodeURIComponent(window.location.href);
      panel.appendChild(frame);
    }
    function setOpen(open) {
      if (open) ensureFrame();
      panel.hidden = !open;
      wrap.className = open ? "open" : "";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) badge.hidden = true;
      try {
        window.sessionStorage.setItem(OPEN_KEY, open ? "1" : "0");
      } catch (e) {}
      if (frame && frame.contentWindow) frame.contentWindow.postMessage({ helpdeskChat: open ? "opened" : "closed" }, base);
    }
    button.addEventListener("click", function () {
      setOpen(panel.hidden);
    });
    window.addEventListener("message", function (event) {
      if (event.origin !== base || !event.data || typeof event.data !== "object") return;
      if (event.data.helpdeskChat === "close") setOpen(false);
      if (event.data.helpdeskChat === "unread" && panel.hidden) {
        var n = parseInt(event.data.count, 10) || 0;
        badge.textContent = n > 9 ? "9+" : String(n);
        badge.hidden = n <= 0;
      }
    });
    var wasOpen = false;
    try {
      wasOpen = window.sessionStorage.getItem(OPEN_KEY) === "1";
    } catch (e) {}
    if (wasOpen) setOpen(true);
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
