/* kbgen-rating.js: "How did we do?" on the ticket page (kbgen/tickets/ratings.py).
 *
 * Hooks the ticket page's `kbgen:ticket` event (kbgen-requests.js sends it after every render):
 * - the requester of a closed, unrated request gets a form, once: a score from the ticket's
 *   rating_scale (radio buttons), an optional comment, Send; then "Thank you";
 * - the support team sees the rating among the ticket's facts.
 * The email that asks for the rating links here with ?rate=1, which brings the form into view.
 * Text is set as text, never as HTML.
 */
(function () {
  "use strict";

  var core = window.kbgen;  // kbgen-core.js
  if (!core) return;
  var el = core.el;
  var UNREACHABLE = "The support service cannot be reached. Check your connection and try again.";
  var asked = false;  // ?rate=1 brings the form into view once, not after every render

  function box(page) {
    var found = page.querySelector("[data-kbgen-rating]");
    if (found) return found;
    found = el("section", { "class": "kbgen-rating", "data-kbgen-rating": "", "aria-labelledby": "kbgen-rating-title" });
    var closed = page.querySelector("[data-kbgen-closed]");
    if (closed && closed.parentNode) closed.parentNode.insertBefore(found, closed.nextSibling);
    else page.appendChild(found);
    return found;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function showError(node, message) {
    node.textContent = message || "";
    node.hidden = !message;
  }

  function thanks(section, text) {
    clear(section);
    section.setAttribute("data-state", "thanks");
    section.appendChild(el("h2", { id: "kbgen-rating-title", text: "Thank you" }));
    var note = el("p", { id: "kbgen-rating-thanks", "class": "kbgen-rating-thanks", tabindex: "-1", role: "status", text: text });
    section.appendChild(note);
    return note;
  }

  function form(section, t, detail) {
    clear(section);
    section.setAttribute("data-state", "form");
    section.setAttribute("data-key", t.key);
    section.appendChild(el("h2", { id: "kbgen-rating-title", text: "How did we do?" }));
    section.appendChild(el("p", { id: "kbgen-rating-intro", text: "Request " + t.key + " is closed. Tell us, once, how well we handled it." }));
    var scale = el("div", { "class": "kbgen-rating-scale" });
    t.rating_scale.forEach(function (choice) {
      var id = "kbgen-rating-score-" + choice.score;
      scale.appendChild(el("div", { "class": "kbgen-rating-choice" }, [
        el("input", { type: "radio", name: "score", id: id, value: String(choice.score), required: "" }),
        el("label", { "for": id }, [el("strong", { text: String(choice.score) }), " " + choice.label])
      ]));
    });
    var fieldset = el("fieldset", { "aria-describedby": "kbgen-rating-intro" }, [
      el("legend", { text: "Your rating, from 1 (" + t.rating_scale[0].label.toLowerCase() + ") to " +
                           t.rating_scale.length + " (" + t.rating_scale[t.rating_scale.length - 1].label.toLowerCase() + ")" }),
      scale
    ]);
    var most = t.rating_comment_max_chars;
    var comment = el("textarea", { id: "kbgen-rating-comment", name: "comment", rows: "3", maxlength: String(most),
                                   "aria-describedby": "kbgen-rating-comment-hint" });
    var error = el("p", { "class": "kbgen-error", role: "alert", hidden: "" });
    var send = el("button", { type: "submit", "class": "md-button md-button--primary", text: "Send" });
    var node = el("form", { "class": "kbgen-rating-form", novalidate: "" }, [
      fieldset,
      el("label", { "for": "kbgen-rating-comment", text: "Comment (optional)" }),
      el("p", { id: "kbgen-rating-comment-hint", "class": "kbgen-rating-hint", text: "At most " + most.toLocaleString("en") + " characters. Only the support team reads it." }),
      comment, error, send
    ]);
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = node.querySelector('input[name="score"]:checked');
      if (!chosen) {
        showError(error, "Choose a score from 1 to " + t.rating_scale.length + ".");
        node.querySelector('input[name="score"]').focus();
        return;
      }
      showError(error, "");
      send.disabled = true;
      core.request("POST", "/api/tickets/" + encodeURIComponent(t.key) + "/rating",
                   { score: Number(chosen.value), comment: comment.value }).then(function (answer) {
        send.disabled = false;
        if (answer.ok || answer.status === 409) {
          // 409: rated already (in another tab): the thanks are due all the same.
          var note = thanks(section, answer.ok ? "Your rating reached the support team. It helps us do better."
                                               : (answer.data.detail || "This request is rated already."));
          note.focus();  // the form is gone: keep the keyboard where the answer is
          return;
        }
        if (answer.status === 401) { showError(error, "Your session ended. Sign in again, then send your rating."); return; }
        showError(error, answer.status ? answer.data.detail || "Your rating was not sent; try again." : UNREACHABLE);
      });
    });
    section.appendChild(node);
    section.hidden = false;
  }

  function agentFacts(page, t) {
    var facts = page.querySelector("[data-kbgen-facts]");
    if (!facts || !t.rating) return;
    var r = t.rating;
    var parts = [el("strong", { text: r.score + " of " + t.rating_scale.length }), " " + r.label];
    if (r.comment) parts.push(el("q", { "class": "kbgen-rating-comment", text: r.comment }));
    parts.push(el("span", { "class": "kbgen-rating-by" }, [r.by ? r.by.name + ", " : "", core.timeEl(r.rated_at)]));
    facts.appendChild(el("dt", { text: "Satisfaction" }));
    facts.appendChild(el("dd", { "class": "kbgen-rating-fact" }, parts));
  }

  function render(detail) {
    var t = detail.ticket, page = detail.page;
    if (!t || !page || !t.rating_scale) return;
    if (core.isSupportTeam(t.viewer)) {
      agentFacts(page, t);
      var existing = page.querySelector("[data-kbgen-rating]");
      if (existing) existing.hidden = true;
      return;
    }
    var section = box(page);
    var state = section.getAttribute("data-state");
    if (t.can_rate) {
      if (state !== "form" || section.getAttribute("data-key") !== t.key) form(section, t, detail);
      section.hidden = false;
      if (!asked && new URLSearchParams(location.search).get("rate") === "1") {
        asked = true;
        section.scrollIntoView({ block: "start" });
        var first = section.querySelector('input[name="score"]');
        if (first) first.focus();
      }
    } else if (t.rated) {
      if (state !== "thanks") thanks(section, "You rated this request. Thank you for telling us.");
      section.hidden = false;
    } else {
      section.hidden = true;
    }
  }

  document.addEventListener("kbgen:ticket", function (event) { render(event.detail || {}); });
})();
