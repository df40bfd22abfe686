/* kbgen-watch.js: "Watch" on the ticket page (kbgen/mail/watching.py).
 *
 * Hooks the ticket page's `kbgen:ticket` event (kbgen-requests.js sends it after every render) and keeps one
 * box in the ticket's side column: for the requester, that they get its emails; for anyone else who sees the
 * request (colleagues, partners, the support team), a Watch toggle button (aria-pressed) that POSTs or DELETEs
 * /api/tickets/KEY/watch; for everyone, how many people watch it and a link to choose which emails they get.
 * The box is updated in place, so the keyboard focus stays on the button. Text is set as text, never HTML.
 */
(function () {
  "use strict";

  var core = window.kbgen;  // kbgen-core.js
  if (!core) return;
  var el = core.el;
  var UNREACHABLE = "The support service cannot be reached. Check your connection and try again.";

  function box(page) {
    var found = page.querySelector("[data-kbgen-watch]");
    if (found) return found;
    found = el("section", { "class": "kbgen-watch", "data-kbgen-watch": "", "aria-labelledby": "kbgen-watch-title" }, [
      el("h2", { id: "kbgen-watch-title", text: "Email updates" }),
      el("p", { "class": "kbgen-watch-requester", "data-kbgen-watch-requester": "", hidden: "",
                text: "You opened this request, so you get its emails." }),
      // In a div, which `hidden` hides: Material's .md-button sets its own display.
      el("div", { "data-kbgen-watch-toggle": "" }, [
        el("button", { type: "button", "class": "md-button", "data-kbgen-watch-button": "", "aria-pressed": "false",
                       "aria-describedby": "kbgen-watch-state" }, [
          el("span", { "data-kbgen-watch-mark": "", "aria-hidden": "true", hidden: "", text: "✓ " }), "Watch"
        ])
      ]),
      el("p", { id: "kbgen-watch-state", "class": "kbgen-watch-state", "data-kbgen-watch-state": "", role: "status" }),
      el("p", { "class": "kbgen-error", "data-kbgen-watch-error": "", role: "alert", hidden: "" }),
      el("p", {}, [el("a", { href: core.apiUrl(core.facts.service_pages.notification_settings),
                             text: "Choose which emails you get" })])
    ]);
    var facts = page.querySelector("[data-kbgen-facts]");
    if (facts && facts.parentNode) facts.parentNode.insertBefore(found, facts.nextSibling);
    else page.appendChild(found);
    found.querySelector("[data-kbgen-watch-button]").addEventListener("click", function () { toggle(found); });
    return found;
  }

  function people(count) {
    return count === 1 ? "1 person watches it" : count + " people watch it";
  }

  function show(section, state) {
    section.kbgenState = state;
    var requester = !!(state.viewer && state.requester && state.viewer.id === state.requester.id);
    var button = section.querySelector("[data-kbgen-watch-button]");
    section.querySelector("[data-kbgen-watch-requester]").hidden = !requester;
    section.querySelector("[data-kbgen-watch-toggle]").hidden = requester;
    button.setAttribute("aria-pressed", state.watching ? "true" : "false");
    button.querySelector("[data-kbgen-watch-mark]").hidden = !state.watching;  // seen; aria-pressed is heard
    var count = (state.watchers || []).length;
    var words = requester ? "" : state.watching ? "You are watching: you get the same emails as the requester. "
                                                : "Watch to get the same emails as the requester. ";
    section.querySelector("[data-kbgen-watch-state]").textContent =
      words + (count ? people(count) + "." : "Nobody watches it yet.");
  }

  function showError(section, message) {
    var box = section.querySelector("[data-kbgen-watch-error]");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function toggle(section) {
    var state = section.kbgenState, button = section.querySelector("[data-kbgen-watch-button]");
    if (!state || button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");  // not disabled: a disabled button would drop the keyboard focus
    showError(section, "");
    var method = state.watching ? "DELETE" : "POST";
    core.request(method, "/api/tickets/" + encodeURIComponent(state.key) + "/watch").then(function (answer) {
      button.removeAttribute("aria-busy");
      if (answer.ok) {
        show(section, { key: state.key, viewer: state.viewer, requester: state.requester,
                        watching: answer.data.watching, watchers: answer.data.watchers });
        return;
      }
      if (answer.status === 401) { showError(section, "Your session ended. Sign in again, then try again."); return; }
      showError(section, answer.status ? answer.data.detail || "That did not work; try again." : UNREACHABLE);
    });
  }

  document.addEventListener("kbgen:ticket", function (event) {
    var detail = event.detail || {}, t = detail.ticket, page = detail.page;
    if (!t || !page || typeof t.watching !== "boolean") return;
    show(box(page), { key: t.key, viewer: t.viewer, requester: t.requester, watching: t.watching,
                      watchers: t.watchers });
  });
})();
