/* Rupor — the composer: variants follow the shared text and media until edited, media are
   picked from the library or uploaded, polls grow and shrink, and every change asks the server
   (HTMX, posts/check/) for the variant's counter, problems and preview. The server decides
   everything; this file only moves values between fields. */
(function () {
  "use strict";

  // A 422 answer carries a refusal with its reason (e.g. the review panel): show it.
  if (window.htmx && htmx.config && Array.isArray(htmx.config.responseHandling)) {
    htmx.config.responseHandling.unshift({ code: "422", swap: true, error: false });
  }

  var form = document.querySelector("form[data-composer]");
  if (!form) return;
  var i18n = (document.getElementById("composer-i18n") || { dataset: {} }).dataset;
  var csrfInput = form.querySelector("[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var shared = form.querySelector("[name=text]");
  var sharedSlot = document.getElementById("media-slot-shared");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("[data-variant]"));
  var timers = {};

  // -- the live check ---------------------------------------------------------------------
  function check(box, now) {
    if (!box || box.disabled || !window.htmx) return;
    var id = box.getAttribute("data-variant");
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () { htmx.trigger(box, "rupor:check"); }, now ? 0 : 300);
  }
  function checkAll() { boxes.forEach(function (box) { check(box); }); }

  // -- channels: a variant and its preview show while the channel is chosen -----------------
  var emptyNote = document.querySelector("[data-previews-empty]");
  function updateEmpty() {
    if (emptyNote) emptyNote.hidden = boxes.some(function (box) { return !box.disabled; });
  }
  function syncChannel(box, fetch) {
    var id = box.getAttribute("data-variant");
    var checkbox = form.querySelector("input[name=channels][value='" + id + "']");
    var on = !!(checkbox && checkbox.checked);
    box.hidden = !on;
    box.disabled = !on;
    var preview = document.getElementById("preview-box-" + id);
    if (preview) preview.hidden = !on;
    updateEmpty();
    if (on && fetch) {
      var slot = box.querySelector("[data-media-slot]");
      if (box.getAttribute("data-media-follows") === "1" && slot) copyShared(box);
      check(box, true);
    }
    if (!on && fetch) {  // the "same text" warning compares the chosen channels: ask again without this one
      var other = boxes.filter(function (b) { return !b.disabled; })[0];
      var same = document.getElementById("same-text");
      if (other) check(other, true);
      else if (same) same.innerHTML = "";
    }
  }

  // -- text: a variant follows the shared text until someone edits it ----------------------
  boxes.forEach(function (box) {
    var id = box.getAttribute("data-variant");
    var checkbox = form.querySelector("input[name=channels][value='" + id + "']");
    var area = box.querySelector("textarea[name^=variant_text_]");
    if (checkbox) checkbox.addEventListener("change", function () { syncChannel(box, true); });
    syncChannel(box, false);
    if (area) area.addEventListener("input", function (event) {
      if (event.isTrusted) box.setAttribute("data-follows", area.value === shared.value ? "1" : "0");
    });
    var reset = box.querySelector("[data-reset]");
    if (reset && area) reset.addEventListener("click", function () {
      area.value = shared.value;
      box.setAttribute("data-follows", "1");
      check(box, true);
    });
  });
  if (shared) shared.addEventListener("input", function () {
    boxes.forEach(function (box) {
      if (box.getAttribute("data-follows") !== "1") return;
      var area = box.querySelector("textarea[name^=variant_text_]");
      if (area) { area.value = shared.value; check(box); }
    });
  });
  var when = document.getElementById("id_scheduled_at");
  if (when) when.addEventListener("change", checkAll);

  // -- media slots ----------------------------------------------------------------------------
  function items(slot) { return slot.querySelector("[data-slot-items]"); }
  function chips(slot) { return Array.prototype.slice.call(items(slot).children); }
  function ids(slot) { return chips(slot).map(function (li) { return li.getAttribute("data-media-id"); }); }
  function renumber(slot) {
    chips(slot).forEach(function (li, index) {
      var order = li.querySelector(".order");
      if (order) order.textContent = String(index + 1);
    });
  }
  function setFollows(box, yes) {
    box.setAttribute("data-media-follows", yes ? "1" : "0");
    var input = box.querySelector("[data-media-follows-input]");
    if (input) input.value = yes ? "1" : "0";
    var reset = box.querySelector("[data-media-reset]");
    if (reset) reset.hidden = yes;
    var note = box.querySelector("[data-media-follows-note]");
    if (note) note.hidden = !yes;
  }
  function copyShared(box) {
    var slot = box.querySelector("[data-media-slot]");
    if (!slot || !sharedSlot) return;
    var list = items(slot);
    list.innerHTML = "";
    chips(sharedSlot).forEach(function (li) {
      var copy = li.cloneNode(true);
      copy.querySelector("input").name = slot.getAttribute("data-media-slot");
      list.appendChild(copy);
    });
    renumber(slot);
  }
  function changed(slot) {
    renumber(slot);
    var error = slot.querySelector("[data-media-error]");
    if (slot === sharedSlot) {
      boxes.forEach(function (box) {
        if (box.getAttribute("data-media-follows") === "1") { copyShared(box); check(box); }
      });
      return;
    }
    var box = slot.closest("[data-variant]");
    if (box) { setFollows(box, false); check(box); }
    if (error && !error.getAttribute("data-keep")) error.textContent = "";
  }
  function makeChip(slot, media) {
    var template = document.getElementById("media-chip-template");
    var li = template.content.firstElementChild.cloneNode(true);
    li.setAttribute("data-media-id", String(media.id));
    var input = li.querySelector("input");
    input.name = slot.getAttribute("data-media-slot");
    input.value = String(media.id);
    var img = li.querySelector("img");
    if (media.thumb) { img.src = media.thumb; img.alt = media.name; img.hidden = false; img.nextElementSibling.remove(); }
    else { img.remove(); li.querySelector(".vid").hidden = false; }
    li.querySelector(".name").textContent = media.name;
    li.querySelector("[data-media-remove]").setAttribute("aria-label", (i18n.remove || "Remove") + " " + media.name);
    return li;
  }
  function add(slot, media) {
    if (ids(slot).indexOf(String(media.id)) >= 0) return;
    items(slot).appendChild(makeChip(slot, media));
    var error = slot.querySelector("[data-media-error]");
    if (error) error.textContent = "";
    changed(slot);
  }
  function remove(slot, id) {
    chips(slot).forEach(function (li) { if (li.getAttribute("data-media-id") === String(id)) li.remove(); });
    changed(slot);
  }

  // -- the library dialog and uploads ----------------------------------------------------------
  var dialog = document.getElementById("media-dialog");
  var library = document.getElementById("media-library");
  var dialogError = document.getElementById("media-dialog-error");
  var dialogStatus = document.getElementById("media-dialog-status");
  var upload = document.getElementById("media-upload-input");
  var target = null;
  var opener = null;

  function markPressed() {
    if (!target || !library) return;
    var chosen = ids(target);
    library.querySelectorAll("[data-media-pick]").forEach(function (tile) {
      tile.setAttribute("aria-pressed", chosen.indexOf(tile.getAttribute("data-id")) >= 0 ? "true" : "false");
    });
  }
  function loadLibrary() {
    fetch(form.getAttribute("data-library-url"), { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text(); })
      .then(function (html) { library.innerHTML = html; markPressed(); })
      .catch(function () { library.textContent = i18n.failed || ""; });
  }
  function openDialog(slot, button) {
    target = slot;
    opener = button;
    if (dialogError) dialogError.textContent = "";
    if (dialogStatus) dialogStatus.textContent = "";
    if (dialog && dialog.showModal) dialog.showModal();
    loadLibrary();
  }
  function showError(message) {
    if (dialogError) dialogError.textContent = message;
    var error = target && target.querySelector("[data-media-error]");
    if (error) error.textContent = message;
    if (dialogStatus) dialogStatus.textContent = "";
  }
  function tileFor(media) {
    var tile = document.createElement("button");
    tile.type = "button";
    tile.className = "tile";
    tile.setAttribute("data-media-pick", "");
    tile.setAttribute("data-id", String(media.id));
    tile.setAttribute("data-name", media.name);
    tile.setAttribute("data-kind", media.kind);
    tile.setAttribute("data-thumb", media.thumb || "");
    tile.setAttribute("aria-pressed", "false");
    var picture;
    if (media.thumb) { picture = document.createElement("img"); picture.src = media.thumb; picture.alt = ""; }
    else { picture = document.createElement("span"); picture.className = "vid"; picture.textContent = "▶"; }
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = media.name;
    tile.appendChild(picture);
    tile.appendChild(name);
    return tile;
  }
  function sendFile(file) {
    if (dialogStatus) dialogStatus.textContent = (i18n.uploading || "Uploading…") + " " + file.name;
    var body = new FormData();
    body.append("file", file);
    return fetch(form.getAttribute("data-upload-url"), {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; }, function () {
        return { ok: false, data: { error: i18n.failed } };
      });
    }).then(function (result) {
      if (!result.ok) { showError(result.data.error || i18n.failed); return; }
      var media = result.data;
      if (library && !library.querySelector("[data-media-pick][data-id='" + media.id + "']")) {
        var empty = library.querySelector("[data-library-empty]");
        if (empty) empty.remove();
        library.insertBefore(tileFor(media), library.firstChild);
      }
      if (dialogError) dialogError.textContent = "";
      if (target) add(target, media);
      markPressed();
      if (dialogStatus) dialogStatus.textContent = (i18n.uploaded || "") + " " + media.name;
    }).catch(function () { showError(i18n.failed || "Upload failed."); });
  }
  if (upload) upload.addEventListener("change", function () {
    var files = Array.prototype.slice.call(upload.files || []);
    files.reduce(function (chain, file) { return chain.then(function () { return sendFile(file); }); }, Promise.resolve())
      .then(function () { upload.value = ""; });
  });
  if (dialog) dialog.addEventListener("close", function () {
    if (opener) opener.focus();
  });

  // -- polls ------------------------------------------------------------------------------------
  function relabel(list) {
    Array.prototype.forEach.call(list.querySelectorAll("input"), function (input, index) {
      input.setAttribute("aria-label", input.getAttribute("aria-label").replace(/\d+/, String(index + 1)));
    });
  }

  // -- "Split into a thread": the server cuts the text into posts that fit; the first stays the
  // variant's text, the others fill the "Thread" field (blocks separated by lines of ---) --------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-thread-split]");
    if (!button) return;
    var box = button.closest("[data-variant]");
    var area = box && box.querySelector("textarea[name^=variant_text_]");
    var thread = box && box.querySelector("textarea[data-thread]");
    if (!area || !thread) return;
    var body = new FormData();
    body.append("channel", box.getAttribute("data-variant"));
    body.append("text", area.value);
    body.append("thread", thread.value);
    button.disabled = true;
    fetch(button.getAttribute("data-split-url"), {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf },
    }).then(function (response) { return response.ok ? response.json() : null; }).then(function (data) {
      button.disabled = false;
      if (!data || !data.text) return;
      area.value = data.text;
      box.setAttribute("data-follows", area.value === (shared ? shared.value : "") ? "1" : "0");
      thread.value = data.thread;
      var extras = thread.closest("details");
      if (extras) extras.open = true;
      check(box, true);
      thread.focus();
    }, function () { button.disabled = false; });
  });

  // -- one click handler for the composer's buttons ---------------------------------------------
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-media-open], [data-media-remove], [data-media-left], [data-media-reset], [data-media-pick], [data-media-close], [data-poll-add], [data-poll-remove]");
    if (!el) return;
    var slot = el.closest("[data-media-slot]");
    if (el.hasAttribute("data-media-open")) { openDialog(slot, el); return; }
    if (el.hasAttribute("data-media-close")) { dialog.close(); return; }
    if (el.hasAttribute("data-media-remove")) {
      var next = slot.querySelector("[data-media-open]");
      el.closest("li").remove();
      changed(slot);
      if (next) next.focus();
      return;
    }
    if (el.hasAttribute("data-media-left")) {
      var li = el.closest("li");
      if (li.previousElementSibling) {
        li.parentNode.insertBefore(li, li.previousElementSibling);
        changed(slot);
        el.focus();
      }
      return;
    }
    if (el.hasAttribute("data-media-reset")) {
      var box = el.closest("[data-variant]");
      setFollows(box, true);
      copyShared(box);
      check(box, true);
      return;
    }
    if (el.hasAttribute("data-media-pick")) {
      if (!target) return;
      if (el.getAttribute("aria-pressed") === "true") remove(target, el.getAttribute("data-id"));
      else add(target, { id: el.getAttribute("data-id"), name: el.getAttribute("data-name"), kind: el.getAttribute("data-kind"), thumb: el.getAttribute("data-thumb") });
      markPressed();
      return;
    }
    var list = el.closest("[data-poll]") && el.closest("[data-poll]").querySelector("[data-poll-options]");
    if (!list) return;
    var owner = el.closest("[data-variant]");
    if (el.hasAttribute("data-poll-add")) {
      var max = parseInt(list.getAttribute("data-max") || "10", 10);
      if (list.children.length >= max) return;
      var row = list.lastElementChild.cloneNode(true);
      row.querySelector("input").value = "";
      list.appendChild(row);
      relabel(list);
      row.querySelector("input").focus();
    } else {
      var option = el.closest(".poll-option");
      if (list.children.length > 2) option.remove(); else option.querySelector("input").value = "";
      relabel(list);
    }
    check(owner);
  });

  // The poll's fields show while "Add a poll" is ticked.
  form.addEventListener("change", function (event) {
    var toggle = event.target.closest("[data-poll-toggle]");
    if (!toggle) return;
    var fields = toggle.closest("[data-poll]").querySelector("[data-poll-fields]");
    if (fields) fields.hidden = !toggle.checked;
  });
})();
