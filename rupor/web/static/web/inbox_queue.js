/* The inbox queue: ticking items for a bulk action, "show more", and keyboard shortcuts on the
   list and on one item's thread. Everything also works without it (plain forms and links); no
   inline handlers (the Content-Security-Policy forbids them), nothing beyond htmx. */
(function () {
  "use strict";

  var list = function () { return document.getElementById("inbox-list"); };
  var rows = function () {
    var l = list();
    return l ? Array.prototype.slice.call(l.querySelectorAll(".inbox-row")) : [];
  };
  var cursorId = null; // the item the keyboard's cursor is on (kept across refreshes)
  var extraPages = false; // "Show more" was used: the automatic refresh would drop those pages
  var sending = false; // our own keyboard action is on its way (it refreshes the list itself)

  // -- ticking items ------------------------------------------------------------------------
  function picked() {
    var l = list();
    return l ? l.querySelectorAll("input[name=ids]:checked") : [];
  }
  function showCount() {
    var out = document.getElementById("picked-count");
    var all = document.getElementById("pick-all");
    var n = picked().length;
    if (out) out.textContent = n ? out.getAttribute("data-some").replace("{n}", n) : out.getAttribute("data-none");
    rows().forEach(function (row) {
      var box = row.querySelector("input[name=ids]");
      row.classList.toggle("picked", !!(box && box.checked));
    });
    if (all) {
      var boxes = list() ? list().querySelectorAll("input[name=ids]") : [];
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.matches && t.matches("[data-pick-all]")) {
      var l = list();
      if (l) l.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = t.checked; });
      showCount();
    } else if (t.matches && t.matches("#inbox-list input[name=ids]")) {
      showCount();
    }
  });

  // The list refreshes itself every few seconds; not while items are ticked or more pages are
  // shown (the refresh brings the first page back and would drop both).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var l = list();
    if (!l || event.detail.elt !== l || sending) return;
    if (picked().length || extraPages) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-more]")) extraPages = true;
  });
  document.addEventListener("htmx:afterSwap", function () {
    sending = false;
    showCount();
    var row = cursorId && document.getElementById("item-" + cursorId);
    if (cursorId && !row) cursorId = null;
    mark(row || null);
  });

  // -- keyboard -----------------------------------------------------------------------------
  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }
  function mark(row) {
    document.querySelectorAll(".kbd-current").forEach(function (r) { r.classList.remove("kbd-current"); });
    if (!row) return;
    row.classList.add("kbd-current");
    row.scrollIntoView({ block: "nearest" });
  }
  function current() {
    return cursorId ? document.getElementById("item-" + cursorId) : null;
  }
  function move(step) {
    var all = rows();
    if (!all.length) return;
    var at = all.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    cursorId = all[next].getAttribute("data-item");
    mark(all[next]);
  }
  function send(row, values) {
    var l = list();
    var form = document.getElementById("bulk-form");
    if (!l || !form || !window.htmx) return;
    var token = form.querySelector("[name=csrfmiddlewaretoken]");
    values.ids = row.getAttribute("data-item");
    values.csrfmiddlewaretoken = token ? token.value : "";
    sending = true;
    window.htmx.ajax("POST", l.getAttribute("data-bulk-url"), { source: l, target: "#inbox-list", swap: "innerHTML", values: values });
  }
  function help(show) {
    var box = document.getElementById("keys-help");
    if (!box) return;
    box.hidden = show === undefined ? !box.hidden : !show;
    if (!box.hidden) { var close = box.querySelector("[data-keys-close]"); if (close) close.focus(); }
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest) return;
    if (event.target.closest("[data-keys-help]")) help(true);
    else if (event.target.closest("[data-keys-close]") || event.target.id === "keys-help") help(false);
  });

  // On one item's page: the thread's entries, the reply box and the "work on it" forms.
  function threadKeys(key) {
    var items = Array.prototype.slice.call(document.querySelectorAll(".thread > li"));
    var at = items.indexOf(document.querySelector(".thread > li.kbd-current"));
    if (key === "j" || key === "k") {
      if (!items.length) return false;
      var next = at < 0 ? 0 : Math.min(items.length - 1, Math.max(0, at + (key === "j" ? 1 : -1)));
      mark(items[next]);
    } else if (key === "o" || key === "Enter") {
      var open = at >= 0 && items[at].querySelector("a[href*='/inbox/']");
      if (!open) return false;
      window.location.href = open.getAttribute("href");
    } else if (key === "r") {
      var text = document.getElementById("reply-text");
      if (!text) return false;
      text.focus();
    } else if (key === "e" || key === "a") {
      var select = document.getElementById(key === "e" ? "i-status" : "i-assignee");
      var me = document.querySelector("meta[name=rupor-user]");
      var value = key === "e" ? "done" : (me ? me.getAttribute("content") : "");
      if (!select || !value || !select.querySelector("option[value='" + value + "']")) return false;
      select.value = value;
      select.form.requestSubmit();
    } else {
      return false;
    }
    return true;
  }

  function listKeys(key) {
    var row = current();
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (!row) return false;
    else if (key === "o" || key === "Enter") window.location.href = row.getAttribute("data-href");
    else if (key === "r") window.location.href = row.getAttribute("data-href") + "#reply";
    else if (key === "e") send(row, { action: "done" });
    else if (key === "a") send(row, { action: "assign", assigned_to: "me" });
    else return false;
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typing(event.target)) return;
    var key = event.key;
    var box = document.getElementById("keys-help");
    if (key === "Escape" && box && !box.hidden) { help(false); return; }
    if (key === "?") { help(); event.preventDefault(); return; }
    if (box && !box.hidden) return;
    // Enter on a link or button keeps its own meaning.
    if (key === "Enter" && event.target.closest && event.target.closest("a, button, summary")) return;
    if (["j", "k", "o", "Enter", "r", "e", "a"].indexOf(key) < 0) return;
    var handled = list() ? listKeys(key) : threadKeys(key);
    if (handled) event.preventDefault();
  });

  // Arriving from the list's "r": the reply box has the focus.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.location.hash === "#reply") {
      var text = document.getElementById("reply-text");
      if (text) text.focus();
    }
    showCount();
  });
})();
