// One chat message as a list item, shared by the visitor's frame (frame.js) and the agent
// console (console.js). Text only: nothing a visitor or agent typed is ever parsed as HTML.
(function () {
  "use strict";

  // Text with http(s) links made clickable.
  function fillText(node, text) {
    String(text || "")
      .split(/(https?:\/\/[^\s<>"]+)/g)
      .forEach(function (part, i) {
        if (i % 2 === 1) {
          var a = document.createElement("a");
          a.href = part;
          a.textContent = part;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          node.appendChild(a);
        } else if (part) {
          node.appendChild(document.createTextNode(part));
        }
      });
  }

  // Messages in the order they were stored, whatever order their pushes arrive in.
  function insertInOrder(list, li, id) {
    var later = null;
    list.querySelectorAll("[data-message]").forEach(function (other) {
      if (!later && Number(other.getAttribute("data-message")) > id) later = other;
    });
    list.insertBefore(li, later);
    li.scrollIntoView({ block: "end" });
  }

  // m: {id, author, name, text, files: [{url, name}]}; prefix: "chat" (frame) or "cc" (console).
  function render(m, prefix, who, newTab) {
    var li = document.createElement("li");
    li.className = prefix + "-msg " + prefix + "-" + m.author;
    li.setAttribute("data-message", m.id);
    var author = document.createElement("span");
    author.className = prefix + "-who";
    author.textContent = who;
    li.appendChild(author);
    var body = document.createElement("p");
    fillText(body, m.text);
    li.appendChild(body);
    (m.files || []).forEach(function (f) {
      var a = document.createElement("a");
      a.href = f.url;
      a.textContent = f.name;
      a.className = prefix + "-filelink";
      if (newTab) {
        a.target = "_blank";
        a.rel = "noopener";
      }
      li.appendChild(a);
    });
    return li;
  }

  window.HelpdeskChatMessages = { fillText: fillText, insertInOrder: insertInOrder, render: render };
})();
