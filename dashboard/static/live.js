// The dashboard's only script (served by dashboard/site.py; the CSP allows this site's scripts
// only). Without it every page still works; with it:
// - a page marked live (<body data-live="5">) refreshes itself in place every 5 s: it fetches
//   itself and swaps its <main>, unless paused, hidden, or while a field of it has the focus;
// - every countdown (<time class="rel" data-ms>) ticks each second, on the server's clock;
// - the header's toggle switches between live and paused, remembered in this browser.
(function () {
  "use strict";
  var body = document.body;
  var every = parseInt(body.dataset.live || "0", 10);
  var offset = parseInt(body.dataset.now || "0", 10) - Date.now();
  var KEY = "cmdkeeper.live";
  var toggle = document.getElementById("live-toggle");
  var state = document.getElementById("live-state");
  var busy = false;
  var refreshes = 0;

  function relative(ms, now) {
    var delta = (ms - now) / 1000, size = Math.abs(delta), amount;
    if (size < 1) return "now";
    if (size < 120) amount = Math.round(size) + " s";
    else if (size < 7200) amount = Math.round(size / 60) + " min";
    else if (size < 172800) amount = Math.round(size / 3600) + " h";
    else amount = Math.round(size / 86400) + " days";
    return delta > 0 ? "in " + amount : amount + " ago";
  }

  function tick() {
    var now = Date.now() + offset;
    var times = document.querySelectorAll("time.rel[data-ms]");
    for (var i = 0; i < times.length; i++) {
      var text = relative(parseInt(times[i].dataset.ms, 10), now);
      if (times[i].textContent !== text) times[i].textContent = text;
    }
  }

  function live() { return localStorage.getItem(KEY) !== "paused"; }

  function show() {
    if (!toggle) return;
    var on = live();
    toggle.hidden = false;
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    toggle.textContent = on ? "live" : "paused";
    toggle.title = on ? "refreshing every " + every + " s; click to pause"
                      : "paused; click to refresh every " + every + " s";
  }

  function say(text) { if (state) state.textContent = text; }

  function typing() {
    var el = document.activeElement;
    return el && el.closest && el.closest("main") && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
  }

  function refresh() {
    if (busy || !live() || document.hidden || typing()) return;
    busy = true;
    fetch(location.href, {credentials: "same-origin", cache: "no-store",
                          headers: {"X-Requested-With": "cmdkeeper-live"}})
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/login") >= 0) {
          localStorage.setItem(KEY, "paused");
          show();
          throw new Error("signed out: reload to sign in");
        }
        if (!response.ok && response.status !== 404) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (!live()) return;  // paused while this was on its way: the page stays as it is
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main"), main = document.querySelector("main");
        if (!fresh || !main) return;
        offset = parseInt(doc.body.dataset.now || "0", 10) - Date.now();
        main.innerHTML = fresh.innerHTML;
        document.title = doc.title;
        refreshes += 1;
        main.dataset.refreshes = String(refreshes);
        tick();
        say("updated " + new Date(Date.now() + offset).toISOString().slice(11, 19) + " UTC");
      })
      .catch(function (error) { say("not refreshed (" + error.message + ")"); })
      .then(function () { busy = false; });
  }

  if (toggle && every > 0) {
    show();
    toggle.addEventListener("click", function () {
      localStorage.setItem(KEY, live() ? "paused" : "live");
      show();
      say(live() ? "live" : "paused");
      if (live()) refresh();
    });
    setInterval(refresh, every * 1000);
  }
  tick();
  setInterval(tick, 1000);
})();
