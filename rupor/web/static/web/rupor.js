/* Rupor — small behaviours on top of server-rendered pages. Everything works without it;
   this only adds convenience (copy buttons, the composer's shared text, closing menus). */
(function () {
  "use strict";

  // Author avatars come from the networks' picture hosts; one that does not load (a page
  // deleted since, no network reachable) goes away so the initial behind it shows.
  var dropBroken = function (img) { if (img.parentNode) img.parentNode.removeChild(img); };
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (img && img.tagName === "IMG" && img.closest && img.closest(".avatar")) dropBroken(img);
  }, true);
  var sweepAvatars = function () {
    document.querySelectorAll(".avatar img").forEach(function (img) {
      if (img.complete && img.naturalWidth === 0) dropBroken(img);
    });
  };
  document.addEventListener("DOMContentLoaded", sweepAvatars);
  window.addEventListener("load", sweepAvatars);
  document.addEventListener("htmx:afterSwap", function () { setTimeout(sweepAvatars, 1500); });

  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var done = function () {
      var label = button.querySelector(".copy-label");
      if (label) {
        var before = label.textContent;
        label.textContent = button.getAttribute("data-copied") || "Copied";
        setTimeout(function () { label.textContent = before; }, 1800);
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected */ }
    }
  });

  // Menus: close open <details class="menu"> on outside click and on Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // Confirmations: <form data-confirm="Question?"> asks before submitting (no inline handlers:
  // the Content-Security-Policy forbids them).
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); event.stopPropagation(); }
  }, true);

  // The composer (shared text, media, polls, previews) lives in composer.js.
})();
