/* kbgen-feedback.js: "Was this helpful?" under every article, and the journey a new request carries.
 *
 * The vote: the article's form (partials/kbgen-feedback.html) works without JavaScript (one post, then a
 * thank-you page). Here Yes or No is sent at once as JSON (POST /api/feedback), the answer says
 * "Thanks" where focus then goes, and the comment box that follows is sent on its own with the
 * token the vote came back with (POST /api/feedback/{id}/comment).
 *
 * The journey (kbgen/feedback/journeys.py): this tab's last searches and article views are kept
 * in sessionStorage, in this browser only (at most MAX_STEPS, none older than MAX_AGE_MS; gone
 * when the tab closes), and added to a request's form as the hidden field "journey" when it is
 * sent, so writers learn what the knowledge base did not answer. Nothing else is sent anywhere.
 * Text is set as text, never as HTML.
 */
(function () {
  "use strict";

  var core = window.kbgen;  // kbgen-core.js
  if (!core) return;
  var STORE = "kbgen-journey";
  var MAX_STEPS = 20;
  var MAX_AGE_MS = 60 * 60 * 1000;
  var MAX_TEXT = 300;
  var UNREACHABLE = "We could not reach the support service, so your answer was not sent. Try again in a moment.";

  /* ---- The journey ---------------------------------------------------------------------- */

  function steps() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(STORE) || "[]");
      var now = Date.now();
      return Array.isArray(stored) ? stored.filter(function (s) {
        return s && typeof s.text === "string" && typeof s.at === "number" && now - s.at <= MAX_AGE_MS && s.at <= now;
      }) : [];
    } catch (e) {
      return [];  // storage disabled or full: no journey, nothing else changes
    }
  }

  function remember(kind, text) {
    text = (text || "").trim().slice(0, MAX_TEXT);
    if (!text) return;
    var list = steps();
    var last = list[list.length - 1];
    if (last && last.kind === kind && last.text === text) last.at = Date.now();
    else list.push({ kind: kind, text: text, at: Date.now() });
    try {
      window.sessionStorage.setItem(STORE, JSON.stringify(list.slice(-MAX_STEPS)));
    } catch (e) { /* storage disabled or full */ }
  }

  function journeyValue() {
    var now = Date.now();
    return JSON.stringify(steps().map(function (s) {
      return { kind: s.kind, text: s.text, ago: Math.max(0, Math.round((now - s.at) / 1000)) };
    }));
  }

  function isSearchPage() {
    var path = location.pathname.replace(/index\.html$/, "");
    return path.slice(-("/" + core.page("search")).length) === "/" + core.page("search");
  }

  function watchSearches() {
    // The full results page names its query; a live result picked in a search bar names its input's.
    var q = new URLSearchParams(location.search).get("q");
    if (q && isSearchPage()) remember("search", q);
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("form[data-kbgen-search] a[href]");
      var input = link && link.closest("form[data-kbgen-search]").querySelector("input[name=q]");
      if (input) remember("search", input.value);
    }, true);
    document.addEventListener("keydown", function (event) {
      var input = event.key === "Enter" && event.target.matches && event.target.matches("form[data-kbgen-search] input[name=q]");
      if (input) remember("search", event.target.value);
    }, true);
  }

  function carryJourney() {
    // Before kbgen-forms.js reads the form (a listener on the document, capturing, runs first).
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches || !form.matches("form[data-kbgen-form]")) return;
      var field = form.querySelector('input[name="journey"]');
      if (!field) {
        field = core.el("input", { type: "hidden", name: "journey" });
        form.appendChild(field);
      }
      field.value = journeyValue();
    }, true);
  }

  /* ---- The vote ------------------------------------------------------------------------- */

  function say(section, text) {
    var status = section.querySelector("[data-kbgen-feedback-status]");
    status.textContent = text;
    return status;
  }

  function enhance(section) {
    if (section.hasAttribute("data-kbgen-ready")) return;
    section.setAttribute("data-kbgen-ready", "");
    var form = section.querySelector("[data-kbgen-feedback-form]");
    var buttons = section.querySelector("[data-kbgen-feedback-buttons]");
    var comment = section.querySelector("[data-kbgen-feedback-comment]");
    var textarea = comment.querySelector("textarea");
    var send = section.querySelector("[data-kbgen-feedback-send]");
    var path = section.getAttribute("data-kbgen-article");
    var voted = null;  // {id, token} once the vote is stored
    comment.hidden = true;  // offered after the vote
    send.hidden = false;
    remember("article", path);

    function busy(on) {
      Array.prototype.forEach.call(section.querySelectorAll("button"), function (b) { b.disabled = on; });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var choice = event.submitter && event.submitter.value;
      if (voted || (choice !== "yes" && choice !== "no")) return;
      busy(true);
      core.request("POST", "/api/feedback", { path: path, helpful: choice === "yes" }).then(function (answer) {
        busy(false);
        if (answer.status === 201) {
          voted = answer.data;
          buttons.hidden = true;
          comment.hidden = false;
          say(section, choice === "yes" ? "Thanks! Glad it helped." : "Thanks for telling us. We will work on it.").focus();
        } else {
          say(section, answer.status === 0 ? UNREACHABLE : (answer.data && answer.data.detail) || UNREACHABLE).focus();
        }
      });
    });

    send.addEventListener("click", function () {
      var text = textarea.value.trim();
      if (!voted) return;
      if (!text) { textarea.focus(); return; }
      busy(true);
      core.request("POST", "/api/feedback/" + encodeURIComponent(voted.id) + "/comment",
                   { token: voted.token, comment: text }).then(function (answer) {
        busy(false);
        if (answer.ok) {
          comment.hidden = true;
          say(section, "Thanks, we have your comment.").focus();
        } else {
          say(section, answer.status === 0 ? UNREACHABLE : (answer.data && answer.data.detail) || UNREACHABLE).focus();
        }
      });
    });
  }

  function init() {
    document.querySelectorAll("[data-kbgen-feedback]").forEach(enhance);
  }

  watchSearches();
  carryJourney();
  core.ready(init);
  // Material's instant navigation swaps the page without reloading scripts.
  if (window.document$ && window.document$.subscribe) window.document$.subscribe(init);
})();
