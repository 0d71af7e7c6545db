/* CivicSkills exam page: autosave every answer, queue answers while offline (kept in localStorage
   so a reload or a crash loses nothing), and a countdown driven by the server's remaining seconds
   measured on the browser's monotonic clock (performance.now), never the PC's wall clock. */
(function () {
  "use strict";
  var form = document.getElementById("attempt-form");
  if (!form) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var saveUrl = form.dataset.saveUrl, statusUrl = form.dataset.statusUrl, resultUrl = form.dataset.resultUrl;
  var storeKey = "civicskills-attempt-" + form.dataset.attempt;
  var stateEl = document.getElementById("save-state");
  var countdownEl = document.getElementById("countdown");
  var endsAt = performance.now() + Number(form.dataset.remaining) * 1000;
  var submitting = false, sending = false, retryTimer = null;

  function load() { try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; } }
  function store(queue) { try { localStorage.setItem(storeKey, JSON.stringify(queue)); } catch (e) { /* private mode */ } }
  var queue = load();              // position -> {seq, response}
  var seqs = {};                   // position -> last seq used

  function fieldsets() { return Array.prototype.slice.call(form.querySelectorAll("fieldset.question")); }
  fieldsets().forEach(function (fs) { seqs[fs.dataset.position] = Number(fs.dataset.seq) || 0; });

  function responseOf(fs) {
    var checked = Array.prototype.slice.call(fs.querySelectorAll("input:checked")).map(function (i) { return i.value; });
    if (fs.dataset.multiple === "true") { return { choices: checked }; }
    return checked.length ? { choice: checked[0] } : null;
  }

  function showState(kind) {
    stateEl.classList.remove("pending", "offline");
    if (kind === "saved") { stateEl.textContent = form.dataset.msgSaved; }
    if (kind === "saving") { stateEl.classList.add("pending"); stateEl.textContent = form.dataset.msgSaving; }
    if (kind === "offline") { stateEl.classList.add("offline"); stateEl.textContent = form.dataset.msgOffline; }
  }

  // Restore answers that were queued but not acknowledged before a reload.
  Object.keys(queue).forEach(function (pos) {
    var entry = queue[pos], fs = form.querySelector('fieldset[data-position="' + pos + '"]');
    if (!fs || entry.seq <= seqs[pos]) { delete queue[pos]; return; }
    seqs[pos] = entry.seq;
    var chosen = entry.response ? (entry.response.choices || [entry.response.choice]) : [];
    fs.querySelectorAll("input[type=radio], input[type=checkbox]").forEach(function (input) {
      input.checked = chosen.indexOf(input.value) !== -1;
    });
  });
  store(queue);

  function timeUp() {
    if (submitting) { return; }
    submitting = true;
    alert(form.dataset.msgTimeup);
    window.location.href = resultUrl;
  }

  function sendNext() {
    if (sending) { return; }
    var positions = Object.keys(queue);
    if (!positions.length) { showState("saved"); return; }
    sending = true;
    showState("saving");
    var pos = positions[0], entry = queue[pos];
    fetch(saveUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ position: Number(pos), response: entry.response, seq: entry.seq })
    }).then(function (r) {
      sending = false;
      if (r.status === 409) { queue = {}; store(queue); timeUp(); return; }
      if (r.status === 401) { window.location.reload(); return; }
      if (!r.ok && r.status !== 400) { throw new Error("HTTP " + r.status); }
      return r.json().then(function (body) {
        if (queue[pos] && queue[pos].seq === entry.seq) { delete queue[pos]; store(queue); }
        if (typeof body.remaining_seconds === "number") { endsAt = performance.now() + body.remaining_seconds * 1000; }
        sendNext();
      });
    }).catch(function () {
      sending = false;
      showState("offline");
      clearTimeout(retryTimer);
      retryTimer = setTimeout(sendNext, 3000);
    });
  }

  var answeredEl = document.getElementById("answered");
  function showAnswered() {
    answeredEl.textContent = fieldsets().length - unanswered();
  }

  form.addEventListener("change", function (event) {
    var fs = event.target.closest("fieldset.question");
    if (!fs) { return; }
    showAnswered();
    var response = responseOf(fs);
    if (response === null) { return; }
    var pos = fs.dataset.position;
    seqs[pos] = (seqs[pos] || 0) + 1;
    queue[pos] = { seq: seqs[pos], response: response };
    store(queue);
    sendNext();
  });
  window.addEventListener("online", sendNext);

  function unanswered() {
    return fieldsets().filter(function (fs) { return !fs.querySelector("input:checked"); }).length;
  }

  form.addEventListener("submit", function (event) {
    if (submitting) { return; }
    event.preventDefault();
    var missing = unanswered();
    var message = form.dataset.msgConfirm;
    if (missing) { message = form.dataset.msgUnanswered.replace("{n}", missing) + "\n" + message; }
    if (!window.confirm(message)) { return; }
    submitting = true;
    store({});
    form.submit();  // the form carries every answer, so nothing queued is lost
  });

  function tick() {
    var left = Math.max(0, Math.round((endsAt - performance.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    countdownEl.textContent = m + ":" + (s < 10 ? "0" : "") + s;
    countdownEl.classList.toggle("low", left <= 300);
    if (left <= 0) {
      if (!submitting) { submitting = true; store({}); form.submit(); }
      return;
    }
    setTimeout(tick, 250);
  }

  function resync() {
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        if (body.state !== "in_progress") { timeUp(); return; }
        endsAt = performance.now() + body.remaining_seconds * 1000;
      }).catch(function () { /* offline: keep counting locally */ });
  }
  setInterval(resync, 30000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { resync(); } });
  showAnswered();
  tick();
  sendNext();
})();
