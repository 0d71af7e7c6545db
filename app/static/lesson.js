/* The lesson's "I have finished this lesson" button is enabled once the reader has reached the end
   of the text (an IntersectionObserver on #lesson-end) and the lesson has been open for the minimum
   time (data-wait: seconds left, from the server, which enforces the same minimum). Without this
   script the button stays enabled and the server alone decides. No inline script: CSP is 'self'. */
(function () {
  "use strict";
  var form = document.getElementById("lesson-done");
  var end = document.getElementById("lesson-end");
  var hint = document.getElementById("lesson-done-hint");
  if (!form || !end || !hint) { return; }
  var button = form.querySelector("button[type=submit]");
  var wait = parseInt(form.getAttribute("data-wait") || "0", 10) || 0;
  var opened = performance.now();
  var seen = !("IntersectionObserver" in window);
  var state = "";
  var timer = null;

  function secondsLeft() {
    return Math.max(0, Math.ceil(wait - (performance.now() - opened) / 1000));
  }

  function show(next, text) {
    // A live region: announce a change of state, and the countdown only every 10 seconds.
    if (state !== next || (next === "waiting" && secondsLeft() % 10 === 0)) { hint.textContent = text; }
    state = next;
  }

  function update() {
    var left = secondsLeft();
    if (seen && left === 0) {
      button.disabled = false;
      show("ready", hint.getAttribute("data-ready"));
      if (timer) { clearInterval(timer); timer = null; }
      return;
    }
    button.disabled = true;
    if (!seen) {
      show("reading", hint.getAttribute("data-reading"));
    } else {
      show("waiting", hint.getAttribute("data-waiting").replace("{seconds}", String(left)));
    }
  }

  if (!seen) {
    var observer = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (entries[i].isIntersecting) { seen = true; observer.disconnect(); update(); return; }
      }
    });
    observer.observe(end);
  }
  timer = setInterval(update, 1000);
  update();
}());
