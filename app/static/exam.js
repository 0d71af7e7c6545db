/* CivicSkills exam page and summary page.

   Autosave by server-issued revision: every answer is queued in localStorage with the revision it is
   based on (the one the page last saw) and sent to the server; it counts as saved only after a 2xx
   whose body says "saved". Any other answer keeps it queued and visibly unsaved on its question, with
   the reason: network errors and 5xx are retried with back-off, 400/403 are not retried blindly (the
   reason is shown; changing the answer tries again), a 409 "conflict" asks "Keep mine / Take the saved
   one", a 409 "time_up" ends the exam, a 401 reloads to the login page. A page restored from an old
   localStorage replays its entries with their old base revision, so it ends in a conflict, never in a
   silent overwrite or loss.

   The countdown is driven by the server's remaining seconds measured on the browser's monotonic clock
   (performance.now), never the PC's wall clock. */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  var summary = document.getElementById("summary");
  var root = form || summary;
  if (!root) { return; }
  var data = root.dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var storeKey = "civicskills-attempt-" + data.attempt;
  var stateEl = document.getElementById("save-state");
  var countdownEl = document.getElementById("countdown");
  var answeredEl = document.getElementById("answered");
  var endsAt = performance.now() + Number(data.remaining) * 1000;
  var submitting = false, sending = false, retryTimer = null, retryDelay = 2000;

  function each(selector, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(selector)); }
  function fmt(text, key, value) { return text.replace("{" + key + "}", value); }

  // --- state --------------------------------------------------------------------------------
  function load() { try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; } }
  // Other tabs of the same attempt share this storage: write this tab's entries and remove only the
  // entries this tab has dropped (same stamp), so one tab never erases another tab's unsent answer.
  var dropped = {};        // position -> stamp of an entry this tab acknowledged or discarded
  function store() {
    try {
      var saved = load();
      Object.keys(dropped).forEach(function (pos) {
        if (saved[pos] && saved[pos].stamp === dropped[pos]) { delete saved[pos]; }
      });
      Object.keys(queue).forEach(function (pos) { saved[pos] = queue[pos]; });
      localStorage.setItem(storeKey, JSON.stringify(saved));
    } catch (e) { /* private mode: the in-memory queue still works */ }
    dropped = {};
  }
  function drop(pos) { if (queue[pos]) { dropped[pos] = queue[pos].stamp; delete queue[pos]; } }
  function clearAll() { queue = {}; dropped = {}; try { localStorage.removeItem(storeKey); } catch (e) { /* private mode */ } }
  var queue = load();      // position -> {response, base, stamp}: answers not yet acknowledged by the server
  var held = {};           // position -> {kind: "conflict"|"refused"|"retry", message, conflict}
  var revisions = {};      // position -> the revision this page knows is stored
  each("[data-position][data-revision], [data-q][data-revision]").forEach(function (el) {
    var pos = el.dataset.position || el.dataset.q, rev = Number(el.dataset.revision) || 0;
    if (!(pos in revisions) || rev > revisions[pos]) { revisions[pos] = rev; }
  });
  // Drop entries that do not belong to this attempt's questions or are malformed.
  Object.keys(queue).forEach(function (pos) {
    var entry = queue[pos];
    if (!(pos in revisions) || !entry || typeof entry.base !== "number") { drop(pos); }
  });
  store();

  function fieldset(pos) { return form ? form.querySelector('fieldset.question[data-position="' + pos + '"]') : null; }
  function panelButton(pos) { return document.querySelector('.qbtn[data-q="' + pos + '"]'); }

  // Each question partial wraps its controls in [data-kind]: choice, text, essay, numerical, matching,
  // ordering. responseOf builds the response JSON the question type expects (app/questions/types.py);
  // showResponse redraws a response (a restored queue entry, or "take the saved one").
  function answerBox(fs) { return fs.querySelector(".answer[data-kind]"); }
  function kindOf(fs) { var box = answerBox(fs); return box ? box.dataset.kind : "choice"; }
  function orderingItems(fs) { return each("ol.ordering > li", fs); }
  function responseOf(fs) {
    var kind = kindOf(fs);
    if (kind === "text" || kind === "essay") { return { text: fs.querySelector("input.text-answer, textarea").value }; }
    if (kind === "numerical") {
      var value = fs.querySelector("input.number-answer").value.trim();
      var unit = fs.querySelector("select");
      return { value: value ? (value + " " + (unit ? unit.value : "")).trim() : "" };
    }
    if (kind === "matching") {
      var matches = {};
      each("select[data-pair]", fs).forEach(function (sel) { if (sel.value) { matches[sel.dataset.pair] = sel.value; } });
      return { matches: matches };
    }
    if (kind === "ordering") { return { order: orderingItems(fs).map(function (li) { return li.dataset.id; }) }; }
    var checked = each("input:checked", fs).map(function (i) { return i.value; });
    if (fs.dataset.multiple === "true") { return { choices: checked }; }
    return checked.length ? { choice: checked[0] } : null;
  }
  function isAnswered(fs) {
    var kind = kindOf(fs), response;
    if (kind === "choice") { return !!fs.querySelector("input:checked"); }
    // a practical task is answered once the server has stored its file (set by practical.js)
    if (kind === "practical") { return answerBox(fs).dataset.answered === "true"; }
    if (kind === "ordering") { return fs.dataset.touched === "true" || fs.querySelector('input[name$="-answered"]').value === "1"; }
    response = responseOf(fs);
    if (kind === "matching") { return Object.keys(response.matches).length > 0; }
    return !!(response.text || response.value || "").trim();
  }
  function choicesOf(response) {
    if (!response) { return []; }
    if (response.choices) { return response.choices; }
    if (typeof response.answer === "boolean") { return [response.answer ? "true" : "false"]; }
    return response.choice ? [response.choice] : [];
  }
  function showChoices(fs, chosen) {
    each("input[type=radio], input[type=checkbox]", fs).forEach(function (input) {
      input.checked = chosen.indexOf(input.value) !== -1;
    });
  }
  function placeOrder(fs, order) {
    var list = fs.querySelector("ol.ordering");
    order.forEach(function (id) {
      var li = list.querySelector('li[data-id="' + id + '"]');
      if (li) { list.appendChild(li); }
    });
    orderingItems(fs).forEach(function (li, i) { li.querySelector("select").value = String(i + 1); });
  }
  function showResponse(fs, response) {
    var kind = kindOf(fs);
    response = response || {};
    if (kind === "text" || kind === "essay") {
      fs.querySelector("input.text-answer, textarea").value = response.text || "";
      countChars(fs);
    } else if (kind === "numerical") {
      var value = response.value || "", unit = fs.querySelector("select"), number = fs.querySelector("input.number-answer");
      if (unit) {
        unit.value = "";
        each("option", unit).forEach(function (o) {
          if (o.value && value.slice(-o.value.length) === o.value) { unit.value = o.value; value = value.slice(0, -o.value.length).trim(); }
        });
      }
      number.value = value;
    } else if (kind === "matching") {
      var matches = response.matches || {};
      each("select[data-pair]", fs).forEach(function (sel) { sel.value = matches[sel.dataset.pair] || ""; });
    } else if (kind === "ordering") {
      if (response.order && response.order.length) { fs.dataset.touched = "true"; placeOrder(fs, response.order); }
    } else {
      showChoices(fs, choicesOf(response));
    }
  }
  function describe(fs, response) {
    var kind = kindOf(fs);
    if (!response) { return ""; }
    if (kind === "text" || kind === "essay") { return response.text || ""; }
    if (kind === "numerical") { return response.value || ""; }
    if (kind === "matching") {
      return Object.keys(response.matches || {}).map(function (id) {
        var label = fs.querySelector('label[for="q' + fs.dataset.position + '-m-' + id + '"]');
        return (label ? label.textContent.trim() : id) + " → " + response.matches[id];
      }).join("; ");
    }
    if (kind === "ordering") {
      return (response.order || []).map(function (id) {
        var li = fs.querySelector('li[data-id="' + id + '"] .ordering-text');
        return li ? li.textContent.trim() : id;
      }).join(" → ");
    }
    return choicesOf(response).map(function (id) { return optionText(fs, id); }).join("; ");
  }
  function countChars(fs) {
    var counter = fs.querySelector(".char-count"), area = fs.querySelector("textarea");
    if (counter && area) { counter.textContent = counter.dataset.template.replace("{n}", area.value.length); }
  }
  function setRevision(pos, revision) {
    revisions[pos] = revision;
    var fs = fieldset(pos);
    if (fs) {
      fs.dataset.revision = revision;
      var hidden = form.querySelector('input[name="r' + pos + '"]');
      if (hidden) { hidden.value = revision; }
    }
    var btn = panelButton(pos);
    if (btn) { btn.dataset.revision = revision; }
  }

  // --- what the page shows -------------------------------------------------------------------
  function optionText(fs, id) {
    var input = fs.querySelector('input[value="' + id + '"]');
    var span = input && input.parentNode.querySelector("span");
    return span ? span.textContent.trim() : id;
  }

  function renderQuestion(pos) {
    var fs = fieldset(pos);
    var btn = panelButton(pos);
    var unsaved = (pos in queue) || (pos in held);
    if (btn) {
      btn.classList.toggle("unsaved", unsaved);
      var answered = fs ? isAnswered(fs) : btn.classList.contains("answered");
      btn.classList.toggle("answered", answered);
      var states = [answered ? data.msgAnswered : data.msgNotAnswered];
      if (btn.classList.contains("flagged")) { states.push(data.msgFlagged); }
      btn.setAttribute("aria-label", fmt(data.msgQuestion, "n", pos) + ": " + states.join(", "));
    }
    if (!fs) { return; }
    fs.classList.toggle("unsaved", unsaved);
    var box = fs.querySelector(".q-status");
    var info = held[pos];
    var wanted = !unsaved ? "" : info ? info.kind + ":" + info.message + ":" + (info.conflict ? info.conflict.revision : "") : "queued";
    if (box.dataset.shown === wanted) { return; }   // do not re-announce the same state
    box.dataset.shown = wanted;
    box.textContent = "";
    box.className = "q-status" + (unsaved ? " is-unsaved" : "");
    if (!unsaved) { return; }
    if (!info) { return; }   // in flight: the bar says "Saving…"
    var p = document.createElement("p");
    if (info.kind === "retry") {
      p.textContent = data.msgQRetry;
    } else if (info.kind === "refused") {
      p.textContent = fmt(data.msgQRefused, "reason", info.message);
    } else if (info.kind === "conflict") {
      p.textContent = data.msgConflict;
      box.classList.add("is-conflict");
      box.appendChild(p);
      var saved = document.createElement("p");
      var names = describe(fs, info.conflict.saved_response);
      saved.textContent = fmt(data.msgConflictSaved, "answer", names ? names : data.msgNone);
      box.appendChild(saved);
      var keep = document.createElement("button");
      keep.type = "button"; keep.className = "keep-mine"; keep.textContent = data.msgKeep;
      keep.addEventListener("click", function () { keepMine(pos); });
      var take = document.createElement("button");
      take.type = "button"; take.className = "take-saved"; take.textContent = data.msgTake;
      take.addEventListener("click", function () { takeSaved(pos); });
      box.appendChild(keep); box.appendChild(document.createTextNode(" ")); box.appendChild(take);
      return;
    }
    box.appendChild(p);
  }

  function showState() {
    var unsaved = {};
    Object.keys(queue).concat(Object.keys(held)).forEach(function (pos) { unsaved[pos] = true; });
    var count = Object.keys(unsaved).length;
    var offline = Object.keys(held).some(function (pos) { return held[pos].kind === "retry"; });
    var blocked = Object.keys(held).some(function (pos) { return held[pos].kind !== "retry"; });
    stateEl.classList.remove("pending", "offline", "error");
    if (!count) {
      stateEl.textContent = data.msgSaved;
    } else if (blocked) {
      stateEl.classList.add("error");
      stateEl.textContent = fmt(data.msgUnsaved, "n", count);
    } else if (offline) {
      stateEl.classList.add("offline");
      stateEl.textContent = data.msgOffline;
    } else {
      stateEl.classList.add("pending");
      stateEl.textContent = data.msgSaving;
    }
    Object.keys(revisions).forEach(renderQuestion);
    if (answeredEl && form) {
      answeredEl.textContent = each(".qbtn.answered:not(.sample)").length;
    }
  }

  // --- sending -------------------------------------------------------------------------------
  function nextToSend() {
    var positions = Object.keys(queue).filter(function (pos) { return !held[pos] || held[pos].kind === "retry"; });
    return positions.length ? positions[0] : null;
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { retryTimer = null; sendNext(); }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  function sendNext() {
    if (sending || submitting) { return; }
    var pos = nextToSend();
    showState();
    if (pos === null) { settle(); return; }
    sending = true;
    var entry = queue[pos];
    fetch(data.saveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ position: Number(pos), response: entry.response, revision: entry.base })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return { r: r, body: body || {} }; });
    }).then(function (res) {
      sending = false;
      var r = res.r, body = res.body;
      if (r.status === 401) { window.location.reload(); return; }
      if (r.ok && body.status === "saved" && typeof body.revision === "number") {
        retryDelay = 2000;
        setRevision(pos, body.revision);
        delete held[pos];
        if (queue[pos] === entry) { drop(pos); }
        else if (queue[pos]) { queue[pos].base = body.revision; }   // changed again while in flight
        store();
        if (typeof body.remaining_seconds === "number") { endsAt = performance.now() + body.remaining_seconds * 1000; }
        sendNext();
        return;
      }
      if (r.status === 409 && body.code === "time_up") { clearAll(); timeUp(); return; }
      if (r.status === 409 && body.code === "conflict" && queue[pos] === entry) {
        held[pos] = { kind: "conflict", message: body.message || "", conflict: body };
      } else if (r.status >= 500 || r.status === 0 || r.status === 429 || (r.ok && body.status !== "saved")) {
        held[pos] = { kind: "retry", message: "HTTP " + r.status };
        showState();
        scheduleRetry();
        return;
      } else if (queue[pos] === entry) {
        var reason = body.message || (r.status === 403 ? data.msgForbidden : data.msgRefusedGeneric);
        held[pos] = { kind: "refused", message: reason };
      }
      sendNext();
    }).catch(function () {
      sending = false;
      held[pos] = { kind: "retry", message: "network" };
      showState();
      scheduleRetry();
    });
  }

  function keepMine(pos) {
    var info = held[pos];
    if (!info || !info.conflict || !queue[pos]) { return; }
    queue[pos].base = info.conflict.revision;
    store();
    delete held[pos];
    focusQuestion(pos);
    sendNext();
  }

  function takeSaved(pos) {
    var info = held[pos];
    if (!info || !info.conflict) { return; }
    var fs = fieldset(pos);
    if (fs) { showResponse(fs, info.conflict.saved_response); }
    setRevision(pos, info.conflict.revision);
    drop(pos);
    delete held[pos];
    store();
    focusQuestion(pos);
    sendNext();
  }

  function focusQuestion(pos) {
    var fs = fieldset(pos);
    var input = fs && (fs.querySelector("input:checked") || fs.querySelector("input:not([type=hidden]), select, textarea"));
    if (input) { input.focus(); }
  }

  // --- after the queue drains: callbacks waiting for a flush ---------------------------------
  var waiting = [];
  function settle() {
    if (sending || nextToSend() !== null) { return; }
    var callbacks = waiting; waiting = [];
    callbacks.forEach(function (cb) { cb(); });
  }
  function flush(done) {
    waiting.push(done);
    clearTimeout(retryTimer); retryTimer = null;
    Object.keys(held).forEach(function (pos) { if (held[pos].kind === "retry") { delete held[pos]; } });
    sendNext();
    settle();
  }
  function blockedPositions() {
    return Object.keys(held).filter(function (pos) { return held[pos].kind !== "retry"; });
  }

  function timeUp() {
    if (submitting) { return; }
    submitting = true;
    alert(data.msgTimeup);
    window.location.href = data.resultUrl;
  }

  // --- the exam page ---------------------------------------------------------------------------
  if (form) {
    // Restore answers that were queued but not acknowledged (a reload, a crash, a day-old tab).
    Object.keys(queue).forEach(function (pos) {
      var fs = fieldset(pos);
      if (fs) { showResponse(fs, queue[pos].response); }
    });

    function answerChanged(event) {
      var fs = event.target.closest("fieldset.question");
      if (!fs) { return; }
      if (kindOf(fs) === "practical") { return; }  // files go through practical.js, not autosave
      var pos = fs.dataset.position;
      if (event.target.matches("ol.ordering select")) {
        // move the item to the chosen position; the others shift, every select shows its new place
        var li = event.target.closest("li"), list = li.parentNode, items = orderingItems(fs);
        var to = Math.max(1, Math.min(items.length, Number(event.target.value))) - 1;
        items.splice(items.indexOf(li), 1);
        items.splice(to, 0, li);
        placeOrder(fs, items.map(function (item) { return item.dataset.id; }));
        fs.dataset.touched = "true";
        event.target.focus();
      }
      var response = responseOf(fs);
      var info = held[pos];
      // Choosing again after seeing the saved answer of a conflict means "this is my answer".
      var base = info && info.conflict ? info.conflict.revision : (queue[pos] ? queue[pos].base : revisions[pos]);
      delete held[pos];
      if (response === null) { drop(pos); store(); showState(); return; }
      queue[pos] = { response: response, base: base, stamp: Date.now() + "-" + Math.random() };
      store();
      showState();
      sendNext();
    }
    form.addEventListener("change", answerChanged);
    // practical.js reports a stored upload: new revision, the panel counts the task as answered
    form.addEventListener("practical:saved", function (event) {
      var pos = String(event.detail.position);
      setRevision(pos, event.detail.revision);
      renderQuestion(pos);
      showState();
    });
    // Typing: save after a short pause (and on leaving the field, through "change").
    var typingTimers = {};
    form.addEventListener("input", function (event) {
      if (!event.target.matches("input.text-answer, input.number-answer, textarea")) { return; }
      var fs = event.target.closest("fieldset.question");
      if (!fs) { return; }
      countChars(fs);
      var pos = fs.dataset.position;
      clearTimeout(typingTimers[pos]);
      typingTimers[pos] = setTimeout(function () { delete typingTimers[pos]; delete typingEvents[pos]; answerChanged(event); }, 800);
      typingEvents[pos] = event;
    });
    var typingEvents = {};
    function flushTyping() {
      Object.keys(typingEvents).forEach(function (pos) {
        clearTimeout(typingTimers[pos]);
        var event = typingEvents[pos];
        delete typingTimers[pos]; delete typingEvents[pos];
        answerChanged(event);
      });
    }

    form.addEventListener("click", function (event) {
      var button = event.target.closest("button.flag-toggle");
      if (!button) { return; }
      event.preventDefault();
      var fs = button.closest("fieldset.question"), pos = fs.dataset.position;
      var flagged = button.getAttribute("aria-pressed") !== "true";
      fetch(data.flagUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: JSON.stringify({ position: Number(pos), flagged: flagged })
      }).then(function (r) {
        if (r.status === 401) { window.location.reload(); return null; }
        return r.json().then(function (body) { return { r: r, body: body }; });
      }).then(function (res) {
        if (!res) { return; }
        if (res.r.status === 409 && res.body.code === "time_up") { timeUp(); return; }
        if (!res.r.ok) { return; }
        button.setAttribute("aria-pressed", res.body.flagged ? "true" : "false");
        button.querySelector(".flag-label").textContent = res.body.flagged ? data.msgUnflag : data.msgFlag;
        fs.classList.toggle("is-flagged", res.body.flagged);
        var btn = panelButton(pos);
        if (btn) { btn.classList.toggle("flagged", res.body.flagged); }
        showState();
      }).catch(function () { /* offline: the flag is not changed; the button shows the stored state */ });
    });
    // All on one page: the question holding the keyboard focus is the panel's current one.
    if (!document.querySelector(".qbtn.current")) {
      form.addEventListener("focusin", function (event) {
        var fs = event.target.closest("fieldset.question");
        if (!fs) { return; }
        each(".qbtn.current").forEach(function (b) { b.classList.remove("current"); b.removeAttribute("aria-current"); });
        var btn = panelButton(fs.dataset.position);
        if (btn) { btn.classList.add("current"); btn.setAttribute("aria-current", "true"); }
      });
    }
    // The panel's links to questions on this page: jump there and put the keyboard focus on it.
    each("a.qbtn[data-q]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var fs = fieldset(link.dataset.q);
        if (!fs) { return; }
        event.preventDefault();
        fs.scrollIntoView({ block: "start" });
        if (history.replaceState) { history.replaceState(null, "", "#q" + link.dataset.q); }
        focusQuestion(link.dataset.q);
      });
    });
    each("button.flag-toggle[aria-pressed=true] .flag-label").forEach(function (el) { el.textContent = data.msgUnflag; });

    // Leaving the page (next, previous, a question in the panel, finish): send every queued answer
    // first; a conflict or a refused answer is shown and the page stays.
    form.addEventListener("submit", function (event) {
      if (submitting) { return; }
      event.preventDefault();
      var submitter = event.submitter;
      if (submitter && submitter.classList.contains("flag-toggle")) { return; }
      flushTyping();
      flush(function () {
        var blocked = blockedPositions();
        if (blocked.length) {
          showState();
          alert(data.msgPendingFirst);
          var fs = fieldset(blocked[0]);
          var target = fs ? fs.querySelector(".q-status button, .q-status") : null;
          if (fs) { fs.scrollIntoView({ block: "center" }); }
          if (target && target.focus) { target.focus(); } else { focusQuestion(blocked[0]); }
          return;
        }
        submitting = true;
        // the form still carries every answer with its revision: the server applies only current ones
        if (submitter && submitter.name) {
          var carry = document.createElement("input");
          carry.type = "hidden"; carry.name = submitter.name; carry.value = submitter.value;
          form.appendChild(carry);
        }
        if (submitter && submitter.getAttribute("formaction")) { form.action = submitter.getAttribute("formaction"); }
        form.submit();
      });
    });
  }

  // --- the summary page ------------------------------------------------------------------------
  var summaryForm = document.getElementById("summary-form");
  if (summaryForm) {
    summaryForm.addEventListener("submit", function (event) {
      if (submitting) { return; }
      event.preventDefault();
      flush(function () {
        var blocked = blockedPositions();
        if (blocked.length) {
          var note = document.getElementById("summary-pending");
          note.hidden = false;
          note.textContent = data.msgPendingFirst + " " + blocked.map(function (pos) { return fmt(data.msgQuestion, "n", pos); }).join(", ");
          document.getElementById("summary-back").focus();
          return;
        }
        submitting = true;
        clearAll();
        summaryForm.submit();
      });
    });
  }

  // --- countdown -------------------------------------------------------------------------------
  function tick() {
    var left = Math.max(0, Math.round((endsAt - performance.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    countdownEl.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    countdownEl.classList.toggle("low", left <= 300);
    if (left <= 0) {
      if (!submitting) {
        submitting = true;
        clearAll();   // the form carries every answer with its revision
        if (form) { form.action = data.submitUrl; form.submit(); }
        else { summaryForm.submit(); }
      }
      return;
    }
    setTimeout(tick, 250);
  }

  function resync() {
    fetch(data.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        if (body.state !== "in_progress") { timeUp(); return; }
        endsAt = performance.now() + body.remaining_seconds * 1000;
      }).catch(function () { /* offline: keep counting locally */ });
  }
  setInterval(resync, 30000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { resync(); } });
  window.addEventListener("online", function () {
    Object.keys(held).forEach(function (pos) { if (held[pos].kind === "retry") { delete held[pos]; } });
    retryDelay = 2000;
    sendNext();
  });
  showState();
  tick();
  sendNext();
})();
