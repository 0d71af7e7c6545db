/* Exam editor: live pool check of each blueprint row and the running points total.
   The page works without this file: the server checks every row when the form is saved. */
(function () {
  "use strict";
  var table = document.getElementById("blueprint");
  if (!table) { return; }
  var url = table.getAttribute("data-pool-url");
  var timers = new WeakMap();

  function cell(row, cls) { return row.querySelector("." + cls); }

  function check(row) {
    var item = cell(row, "bp-item"), difficulty = cell(row, "bp-difficulty"), count = cell(row, "bp-count");
    var out = row.querySelector("td.pool");
    if (!item || !difficulty || !count || !out || item.disabled) { return; }
    if (!item.value || !/^\d+$/.test(count.value.trim())) { out.textContent = ""; return; }
    var query = "?item=" + encodeURIComponent(item.value) + "&difficulty=" + encodeURIComponent(difficulty.value) +
      "&count=" + encodeURIComponent(count.value.trim());
    fetch(url + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (result) {
        var span = document.createElement("span");
        span.className = result.ok && result.body.ok ? "ok" : "bad";
        span.textContent = result.body.message || "";
        out.replaceChildren(span);
      })
      .catch(function () { out.textContent = ""; });
  }

  function later(row) {
    clearTimeout(timers.get(row));
    timers.set(row, setTimeout(function () { check(row); }, 250));
  }

  function total() {
    var sum = 0, complete = true;
    table.querySelectorAll("tr.bp-row").forEach(function (row) {
      var c = parseFloat(cell(row, "bp-count").value), p = parseFloat(cell(row, "bp-points").value);
      if (isNaN(c) || isNaN(p)) { complete = false; return; }
      sum += c * p;
    });
    var out = document.getElementById("points-total");
    if (out && complete) {
      out.textContent = (out.getAttribute("data-pattern") || "").replace("%s", String(Math.round(sum * 100) / 100));
    }
  }

  var formsTimer = null;
  function forms() {
    var out = document.getElementById("form-count");
    if (!out || !out.getAttribute("data-forms-url")) { return; }
    var parts = [], complete = true;
    table.querySelectorAll("tr.bp-row").forEach(function (row) {
      var item = cell(row, "bp-item"), difficulty = cell(row, "bp-difficulty"), count = cell(row, "bp-count");
      if (!item || !difficulty || !count || item.disabled || !item.value || !/^\d+$/.test(count.value.trim())) {
        complete = false; return;
      }
      parts.push("item=" + encodeURIComponent(item.value) + "&difficulty=" + encodeURIComponent(difficulty.value) +
        "&count=" + encodeURIComponent(count.value.trim()));
    });
    if (!complete || !parts.length) { return; }
    fetch(out.getAttribute("data-forms-url") + "?" + parts.join("&"),
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (result) {
        out.className = result.ok && !result.body.few ? "ok" : "bad";
        out.textContent = result.body.message || "";
      })
      .catch(function () { /* keep the server's sentence */ });
  }
  function formsLater() { clearTimeout(formsTimer); formsTimer = setTimeout(forms, 300); }

  table.addEventListener("input", function (event) {
    var row = event.target.closest("tr.bp-row");
    if (!row) { return; }
    later(row);
    total();
    formsLater();
  });
  table.addEventListener("change", function (event) {
    var row = event.target.closest("tr.bp-row");
    if (row) { check(row); total(); formsLater(); }
  });
  table.querySelectorAll("tr.bp-row").forEach(check);
})();
