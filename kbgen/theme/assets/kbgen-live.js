/* kbgen-live.js: the ticket page and the requests list follow changes without reloading.
 *
 * kbgen-requests.js announces every render on document (kbgen:ticket, kbgen:requests) with a
 * reload(). This opens ONE EventSource to the service's live stream for that page
 * (kbgen/web/routes/live.py) and, on each `changed` event, calls the latest reload(): debounced,
 * never while a menu of the page has focus (its unsaved choice would be reset), and with the focus
 * kept where it was. The comment being typed is safe: a render leaves the comment box alone.
 * After an error the stream is closed and opened again with growing, jittered delays, so a
 * restarted server is not hit by every browser at once; `since` (the time the page shows) lets the
 * service tell a reconnecting page what it missed. The script does nothing on other pages.
 */
(function () {
  "use strict";

  var core = window.kbgen;  // kbgen-core.js
  if (!core || typeof EventSource === "undefined") return;

  var DEBOUNCE_MS = 300;  // changes close together make one reload
  var LIST_SPACING_MS = 1500;  // at most one reload of a busy requests list this often
  var RETRY_MS = 4000;  // the first reconnection delay (the service's `retry:` hint is 3-5 s too)
  var MAX_RETRY_MS = 120000;
  var STEADY_MS = 30000;  // a stream that stayed open this long resets the delays

  var current = null;  // {kind, path, since, reload, page}
  var source = null, timer = null, pending = null, failures = 0, openedAt = 0;
  var reloading = false, again = false, lastReload = 0, announced = null;

  function follow(kind, path, since, reload, page) {
    var same = current && current.path === path;
    current = { kind: kind, path: path, since: since, reload: reload, page: page };
    statusBox();  // in the page before anything is announced, so screen readers listen to it
    if (!same) connect(true);
  }

  document.addEventListener("kbgen:ticket", function (event) {
    var t = event.detail.ticket;
    follow("ticket", "/api/tickets/" + encodeURIComponent(t.key) + "/live", t.updated_at, event.detail.reload,
           event.detail.page);
  });

  document.addEventListener("kbgen:requests", function (event) {
    var latest = "";
    (event.detail.data.items || []).forEach(function (item) {
      if (item.updated_at > latest) latest = item.updated_at;  // ISO 8601 in UTC: text order is time order
    });
    follow("requests", "/api/live/requests", latest, event.detail.reload,
           document.querySelector('[data-kbgen-requests="list"]'));
  });

  /* --------------------------------------------------------------- the stream */

  function url() {
    var address = core.apiUrl(current.path);
    return current.since ? address + "?since=" + encodeURIComponent(current.since) : address;
  }

  function connect(fresh) {
    close();
    if (fresh) failures = 0;
    if (!current || (current.page && current.page.hidden)) return;  // signed out: nothing to follow
    var address = url();
    source = new EventSource(address, { withCredentials: core.credentials(address) === "include" });
    source.addEventListener("open", function () { openedAt = Date.now(); });
    source.addEventListener("changed", function (event) {
      var change = {};
      try { change = JSON.parse(event.data); } catch (e) { /* an empty change still means: look again */ }
      failures = 0;
      changed(change);
    });
    source.addEventListener("error", function () {
      // Closed here, reopened on our own schedule: the browser's own retry has no jitter and gives up
      // on an answer that is not a stream (401, 429, 503) without saying which.
      var lasted = openedAt && Date.now() - openedAt >= STEADY_MS;
      close();
      failures = lasted ? 1 : failures + 1;
      if (failures === 3 && current) current.reload();  // signed out? the page then says so, and this stops
      var delay = Math.min(MAX_RETRY_MS, RETRY_MS * Math.pow(2, failures - 1));
      timer = setTimeout(function () { timer = null; connect(false); }, delay / 2 + Math.random() * delay / 2);
    });
  }

  function close() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (source) { source.close(); source = null; }
    openedAt = 0;
  }

  window.addEventListener("pagehide", function () { close(); });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && current) connect(true);  // back from the back/forward cache: catch up by `since`
  });

  /* --------------------------------------------------------------- reloading */

  function changed(change) {
    // A change the page already shows (the API writes whole seconds) needs no reload.
    if (change.updated_at && current.since && change.updated_at.slice(0, 19) < current.since.slice(0, 19)) return;
    if (pending) clearTimeout(pending);
    var wait = DEBOUNCE_MS;
    if (current.kind === "requests") wait = Math.max(wait, lastReload + LIST_SPACING_MS - Date.now());
    pending = setTimeout(function () { pending = null; reload(); }, wait);
  }

  function choosing() {
    // A menu or field of the page (not the comment box) has focus: its choice is not saved yet.
    var active = document.activeElement;
    return !!(active && current.page && current.page.contains(active) &&
              (active.tagName === "SELECT" || (active.tagName === "INPUT" && active.type !== "file")));
  }

  function reload() {
    if (!current) return;
    if (reloading) { again = true; return; }
    if (choosing()) {
      document.activeElement.addEventListener("blur", function () { changed({}); }, { once: true });
      return;
    }
    reloading = true;
    lastReload = Date.now();
    var focus = remember(document.activeElement);
    Promise.resolve(current.reload()).then(function () {
      restore(focus);
      announce();
    }, function () { /* the page shows its own error */ }).then(function () {
      reloading = false;
      if (again) { again = false; changed({}); }
    });
  }

  // Buttons of the page are made anew by a render: find the new one that does the same thing.
  function remember(node) {
    if (!node || node === document.body || !current.page || !current.page.contains(node)) return null;
    var to = node.getAttribute && node.getAttribute("data-to");
    return { node: node, selector: to ? '[data-to="' + CSS.escape(to) + '"]' : null };
  }

  function restore(focus) {
    if (!focus || document.contains(focus.node)) return;
    var twin = focus.selector && current.page.querySelector(focus.selector);
    if (twin) twin.focus({ preventScroll: true });
  }

  function statusBox() {
    if (announced && document.contains(announced)) return announced;
    announced = document.querySelector("[data-kbgen-live-status]");
    if (!announced && current.page) {
      announced = core.el("p", { "class": "kbgen-visually-hidden", role: "status", "aria-live": "polite",
                                 "data-kbgen-live-status": "" });
      current.page.insertBefore(announced, current.page.firstChild);
    }
    return announced;
  }

  function announce() {
    var box = statusBox();
    if (!box) return;
    box.textContent = "";  // the same words again are announced again
    setTimeout(function () {
      box.textContent = current.kind === "ticket" ? "Updated just now." : "The list was updated just now.";
    }, 50);
  }
})();
