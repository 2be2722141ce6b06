// The flow diagrams: Mermaid draws every <pre class="mermaid"> (no inline script: the CSP).
document.addEventListener("DOMContentLoaded", function () {
  if (window.mermaid) {
    window.mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral" });
    window.mermaid.run({ querySelector: "pre.mermaid" });
  }
});

// A case's conversation opens at its newest messages (the list scrolls; oldest on top).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("ol.chat").forEach(function (chat) {
    chat.scrollTop = chat.scrollHeight;
  });
});
