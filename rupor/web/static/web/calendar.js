/* Rupor — the calendar: native drag and drop to move posts and ideas, and the Move form sent
   without a page load. The server re-renders the calendar body after every move (or refusal);
   without this script the Move form posts normally and the page comes back with a message. */
(function () {
  "use strict";
  var page = document.querySelector(".cal-page");
  if (!page) return;
  var live = document.getElementById("cal-live");
  var dragged = null;
  var over = null;
  var hideTimer = null;

  function calBody() { return document.getElementById("cal-body"); }
  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall through */ }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function clearMessage() { clearTimeout(hideTimer); live.textContent = ""; }

  function say(text, level) {
    clearMessage();
    if (!text) return;
    var box = document.createElement("div");
    box.className = "message " + (level === "error" ? "error" : "success");
    var span = document.createElement("span");
    span.textContent = text;
    box.appendChild(span);
    var close = document.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", live.getAttribute("data-close-label") || "Close");
    close.addEventListener("click", clearMessage);
    box.appendChild(close);
    live.appendChild(box);
    if (level !== "error") hideTimer = setTimeout(clearMessage, 6000);
  }

  function scrollBox() { return document.querySelector("[data-cal-scroll]"); }

  // The week opens at the hour the server chose (the week's first post, or now).
  function scrollToMorning() {
    var box = scrollBox();
    var row = box && box.querySelector("[data-scroll-here]");
    var head = box && box.querySelector("thead");
    if (!row) return;
    box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - (head ? head.offsetHeight : 0);
    markHidden();
  }

  // Posts scrolled out of the week's view above or below get a sign: "2 posts earlier ↑".
  function hiddenPosts(box) {
    var head = box.querySelector("thead");
    var rect = box.getBoundingClientRect();
    var top = rect.top + (head ? head.offsetHeight : 0);
    var above = [], below = [];
    box.querySelectorAll("tbody .cal-item").forEach(function (item) {
      var r = item.getBoundingClientRect();
      if (r.bottom <= top + 1) above.push(item);
      else if (r.top >= rect.bottom - 1) below.push(item);
    });
    return { above: above, below: below };
  }

  function markHidden() {
    var box = scrollBox();
    var frame = box && box.closest(".cal-week-frame");
    if (!frame) return;
    var labels = {};
    try { labels = JSON.parse(box.getAttribute("data-hidden-labels") || "{}"); } catch (e) { labels = {}; }
    var hidden = hiddenPosts(box);
    var head = box.querySelector("thead");
    var earlierMark = frame.querySelector("[data-cal-earlier]");
    if (earlierMark && head) earlierMark.style.top = (head.offsetHeight + 6) + "px";  // under the day names, however tall
    [["earlier", hidden.above, "[data-cal-earlier]"], ["later", hidden.below, "[data-cal-later]"]].forEach(function (spec) {
      var mark = frame.querySelector(spec[2]);
      if (!mark) return;
      var n = spec[1].length;
      mark.hidden = n === 0;
      var text = (labels[spec[0]] || {})[n] || String(n);
      mark.querySelector("[data-cal-mark-text]").textContent = text;
    });
  }

  function revealHidden(direction) {
    var box = scrollBox();
    if (!box) return;
    var hidden = hiddenPosts(box);
    var item = direction === "earlier" ? hidden.above[hidden.above.length - 1] : hidden.below[0];
    var row = item && item.closest("tr");
    var head = box.querySelector("thead");
    if (!row) return;
    // the nearest hidden post's hour comes to the top (earlier) or into view at the bottom (later)
    var offset = row.getBoundingClientRect().top - box.getBoundingClientRect().top - (head ? head.offsetHeight : 0);
    if (direction === "later") offset -= box.clientHeight - (head ? head.offsetHeight : 0) - row.offsetHeight;
    box.scrollTop += offset;
    markHidden();
    var chip = item.querySelector(".cal-chip");
    if (chip && chip.focus) chip.focus({ preventScroll: true });
  }

  document.addEventListener("scroll", function (event) {
    if (event.target && event.target.matches && event.target.matches("[data-cal-scroll]")) markHidden();
  }, true);
  window.addEventListener("resize", markHidden);
  document.addEventListener("click", function (event) {
    var mark = event.target.closest && event.target.closest(".cal-hidden-mark");
    if (mark) revealHidden(mark.hasAttribute("data-cal-earlier") ? "earlier" : "later");
  });

  function move(id, when, opts) {
    var body = calBody();
    if (!body) return;
    var data = new FormData();
    data.append("post", id);
    data.append("when", when);
    data.append("next", body.getAttribute("data-here") || "");
    var box = scrollBox();
    var scrolled = box ? box.scrollTop : 0;
    body.classList.add("cal-busy");
    fetch(body.getAttribute("data-move-url"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (text) { return { ok: response.ok, text: text }; });
    }).then(function (result) {
      var holder = document.createElement("template");
      holder.innerHTML = result.text;
      var fresh = holder.content.getElementById("cal-body");
      if (!fresh) throw new Error("no calendar in the answer");
      body.replaceWith(fresh);
      var newBox = scrollBox();
      if (newBox) newBox.scrollTop = scrolled;
      markHidden();
      var note = fresh.querySelector("template[data-cal-message]");
      if (note) say(note.content.textContent.trim(), note.getAttribute("data-level"));
      var item = fresh.querySelector('.cal-item[data-post-id="' + id + '"]');
      if (item) {
        var more = item.closest("details.cal-more");
        if (more && result.ok) more.open = true;
        if (result.ok) item.classList.add("cal-moved");
        if (opts && opts.focus) {
          var target = result.ok ? item.querySelector(".cal-chip") : item.querySelector(".cal-move-btn");
          if (target) target.focus();
        }
      }
      if (window.htmx) window.htmx.process(fresh);
    }).catch(function () {
      body.classList.remove("cal-busy");
      say(live.getAttribute("data-failed") || "The calendar could not be updated.", "error");
    });
  }

  // -- drag and drop --------------------------------------------------------------------------
  function dropZone(event) {
    if (!dragged || !event.target.closest) return null;
    var zone = event.target.closest("[data-drop]");
    if (!zone || zone.hasAttribute("data-past")) return null;
    return zone;
  }

  function endDrag() {
    document.querySelectorAll(".cal-dragging").forEach(function (el) { el.classList.remove("cal-dragging"); });
    if (over) over.classList.remove("cal-over");
    over = null;
    dragged = null;
  }

  document.addEventListener("dragstart", function (event) {
    var chip = event.target.closest && event.target.closest("[data-move-id]");
    if (!chip) return;
    dragged = {
      id: chip.getAttribute("data-move-id"),
      time: chip.getAttribute("data-time") || "",
      when: chip.getAttribute("data-when") || ""
    };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.id);
    var item = chip.closest(".cal-item");
    if (item) item.classList.add("cal-dragging");
  });

  document.addEventListener("dragend", endDrag);

  document.addEventListener("dragover", function (event) {
    var zone = dropZone(event);
    if (!zone) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (over !== zone) {
      if (over) over.classList.remove("cal-over");
      over = zone;
      zone.classList.add("cal-over");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop]");
    if (zone && zone === over && !zone.contains(event.relatedTarget)) {
      zone.classList.remove("cal-over");
      over = null;
    }
  });

  document.addEventListener("drop", function (event) {
    var zone = dropZone(event);
    if (!zone) return;
    event.preventDefault();
    var body = calBody();
    var time;
    if (zone.hasAttribute("data-hour")) {
      // Week view: that hour, keeping the post's minutes.
      time = pad(parseInt(zone.getAttribute("data-hour"), 10)) + ":" + (dragged.time ? dragged.time.slice(3, 5) : "00");
    } else {
      // Month view: that day, keeping the post's time of day (ideas land at the default hour).
      time = dragged.time || (body && body.getAttribute("data-idea-time")) || "10:00";
    }
    var when = zone.getAttribute("data-date") + "T" + time;
    var id = dragged.id;
    var same = when === dragged.when;
    endDrag();
    if (!same) move(id, when, {});
  });

  // -- the Move form (keyboard) ---------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest(".cal-move-form");
    if (!form) return;
    event.preventDefault();
    var when = form.elements.when.value;
    if (!when) { form.elements.when.focus(); return; }
    move(form.elements.post.value, when, { focus: true });
  });

  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.classList || !details.classList.contains("cal-move") || !details.open) return;
    document.querySelectorAll("details.cal-move[open]").forEach(function (other) {
      if (other !== details) other.open = false;
    });
    var input = details.querySelector("input[name=when]");
    if (input) input.focus();
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.cal-move[open]").forEach(function (details) {
      details.open = false;
      var summary = details.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.cal-move[open]").forEach(function (details) {
      if (!details.contains(event.target)) details.open = false;
    });
  });

  // -- filters apply on change ----------------------------------------------------------------
  var filters = document.querySelector("[data-cal-filters]");
  if (filters) {
    filters.addEventListener("change", function () {
      if (filters.requestSubmit) filters.requestSubmit(); else filters.submit();
    });
  }

  scrollToMorning();
})();
