// Practical tasks on the attempt page: upload the candidate's file with progress (XMLHttpRequest
// upload.onprogress). "Saved" is shown ONLY after a 2xx whose body says status "saved"; any other
// answer shows its reason and stores nothing. A stored upload raises the item's revision and tells
// exam.js ("practical:saved") so the question panel counts the task as answered.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) { return; }
  var csrf = meta.getAttribute("content");
  function fmt(text, values) {
    Object.keys(values).forEach(function (key) { text = text.replace("{" + key + "}", values[key]); });
    return text;
  }
  Array.prototype.forEach.call(document.querySelectorAll(".answer.practical[data-upload-url]"), function (box) {
    var input = box.querySelector("input.practical-file");
    var button = box.querySelector("button.practical-send");
    var bar = box.querySelector("progress.practical-progress");
    var state = box.querySelector(".practical-state");
    var msg = box.dataset;
    var busy = false;

    function show(text, kind) {
      state.textContent = text;
      state.classList.toggle("is-error", kind === "error");
      state.classList.toggle("is-saved", kind === "saved");
    }
    function send() {
      if (busy) { return; }
      var file = input.files && input.files[0];
      if (!file) { show(msg.msgChoose, "error"); input.focus(); return; }
      var max = Number(msg.maxBytes);
      if (max && file.size > max) {
        show(fmt(msg.msgFailed, { reason: fmt(msg.msgTooLarge, { size: (max / 1048576).toFixed(1) }) }), "error");
        return;
      }
      var body = new FormData();
      body.append("file", file, file.name);
      body.append("revision", box.dataset.revision);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", box.dataset.uploadUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      busy = true;
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      show(fmt(msg.msgUploading, { percent: 0 }), "");
      xhr.upload.onprogress = function (event) {
        if (!event.lengthComputable) { return; }
        var percent = Math.round(event.loaded * 100 / event.total);
        bar.value = percent;
        show(fmt(msg.msgUploading, { percent: percent }), "");
      };
      function done() { busy = false; button.disabled = false; bar.hidden = true; }
      xhr.onerror = function () { done(); show(fmt(msg.msgFailed, { reason: msg.msgNetwork }), "error"); };
      xhr.onload = function () {
        done();
        var reply = null;
        try { reply = JSON.parse(xhr.responseText); } catch (e) { reply = null; }
        if (xhr.status >= 200 && xhr.status < 300 && reply && reply.status === "saved") {
          box.dataset.revision = reply.revision;
          box.dataset.answered = "true";
          show(fmt(msg.msgSaved, { name: reply.filename, size: (reply.size / 1024).toFixed(1) }), "saved");
          box.dispatchEvent(new CustomEvent("practical:saved", {
            bubbles: true, detail: { position: box.dataset.position, revision: reply.revision } }));
          return;
        }
        if (reply && reply.code === "conflict" && typeof reply.revision === "number") {
          // another window stored a file: the next upload replaces it knowingly
          box.dataset.revision = reply.revision;
        }
        if (reply && reply.code === "time_up") { window.location.reload(); return; }
        show(fmt(msg.msgFailed, { reason: (reply && reply.message) || msg.msgNetwork }), "error");
      };
      xhr.send(body);
    }
    // The button also works without JavaScript (it posts the attempt form to the upload form route);
    // here the upload goes through the API instead, so the form is not submitted.
    button.addEventListener("click", function (event) { event.preventDefault(); send(); });
    input.addEventListener("change", function () { if (input.files && input.files[0]) { send(); } });
  });
})();
