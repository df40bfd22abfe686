/* kbgen replies: the support team's tools above a ticket's comment box.
 *
 * On every `kbgen:ticket` (kbgen-requests.js, after each render) for a member of the support team,
 * adds once per page, above the comment textarea:
 *   - "Insert a saved reply": the writers' replies (GET /api/replies?ticket=KEY, placeholders filled by
 *     the service, the request's product first), inserted with the button next to the list;
 *   - "Insert a link to an article": the portal's own search (GET /api/search) as a combobox; arrows
 *     choose, Enter inserts [Title](address), Escape closes the list.
 * Both insert at the cursor without replacing what was typed (a selection is kept, the text goes after
 * it), and leave the focus in the textarea just after what they inserted. Text is set as text, never HTML.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 160;
  var MIN_CHARS = 2;
  var LIMIT = 8;

  var core = window.kbgen;  // kbgen-core.js
  var el = core.el;

  document.addEventListener("kbgen:ticket", function (event) {
    var ticket = event.detail.ticket, page = event.detail.page;
    if (!core.isSupportTeam(ticket.viewer)) return;
    var form = page.querySelector("[data-kbgen-comment]");
    var textarea = form && form.querySelector("textarea");
    if (!textarea || form.querySelector("[data-kbgen-reply-tools]")) return;  // once per page
    var tools = el("div", { "class": "kbgen-reply-tools", "data-kbgen-reply-tools": "" }, [
      savedReplies(ticket, textarea),
      articleLinks(form, textarea)
    ]);
    var label = form.querySelector('label[for="' + textarea.id + '"]');
    form.insertBefore(tools, label && label.parentNode === form ? label : textarea);
  });

  /* ---- Inserting into the comment box ------------------------------------------- */

  // Insert `text` at the cursor (after a selection, never over it), separated from its neighbours the way
  // `around` says: "block" (a paragraph of its own) or "inline" (spaces).
  function insert(textarea, text, around) {
    var value = textarea.value;
    var at = textarea.selectionEnd !== undefined && textarea.selectionEnd !== null ? textarea.selectionEnd : value.length;
    var before = value.slice(0, at), after = value.slice(at);
    var lead = "", tail = "";
    if (around === "block") {
      if (before && !/\n\n$/.test(before)) lead = /\n$/.test(before) ? "\n" : "\n\n";
      if (after && !/^\n\n/.test(after)) tail = /^\n/.test(after) ? "\n" : "\n\n";
    } else {
      if (before && !/\s$/.test(before)) lead = " ";
      if (after && !/^\s/.test(after)) tail = " ";
    }
    var piece = lead + text + tail;
    textarea.focus();
    textarea.setRangeText(piece, at, at, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  /* ---- Saved replies -------------------------------------------------------------- */

  // The request's product first, then the replies for every product, then the other products' (as the service sorts them).
  function group(reply, product) {
    return reply.product === product ? 0 : reply.product === null ? 1 : 2;
  }

  function groupName(at, ticket) {
    return at === 0 ? "For " + ticket.product.name : at === 1 ? "For every product" : "For other products";
  }

  function savedReplies(ticket, textarea) {
    var id = "kbgen-reply-select";
    var select = el("select", { id: id, disabled: "" }, [el("option", { value: "", text: "Loading saved replies\u2026" })]);
    var button = el("button", { type: "button", "class": "md-button kbgen-reply-tools__insert", disabled: "",
                                text: "Insert reply" });
    var status = el("p", { "class": "kbgen-reply-tools__status", role: "status", "aria-live": "polite" });
    var bodies = {};

    core.request("GET", "/api/replies?ticket=" + encodeURIComponent(ticket.key)).then(function (answer) {
      select.textContent = "";
      if (!answer.ok || !Array.isArray(answer.data)) {
        select.appendChild(el("option", { value: "", text: "Saved replies are not available" }));
        status.textContent = (answer.data && answer.data.detail) || "Saved replies could not be loaded; reload the page.";
        return;
      }
      if (!answer.data.length) {
        select.appendChild(el("option", { value: "", text: "No saved replies yet" }));
        return;
      }
      select.appendChild(el("option", { value: "", text: "Choose a reply\u2026" }));
      var groups = [];
      answer.data.forEach(function (reply) {
        var at = group(reply, ticket.product.slug);
        if (!groups[at]) {
          groups[at] = el("optgroup", { label: groupName(at, ticket) });
        }
        bodies[reply.slug] = reply.body;
        groups[at].appendChild(el("option", { value: reply.slug, text: reply.title }));
      });
      groups.forEach(function (node) { if (node) select.appendChild(node); });
      select.disabled = false;
    });

    select.addEventListener("change", function () { button.disabled = !select.value; });
    button.addEventListener("click", function () {
      var body = bodies[select.value];
      if (body === undefined) return;
      insert(textarea, body, "block");
      status.textContent = "Inserted \u201c" + select.options[select.selectedIndex].text + "\u201d in your message.";
    });
    textarea.form.addEventListener("reset", function () {
      button.disabled = true;
      status.textContent = "";
    });

    return el("div", { "class": "kbgen-reply-tools__item" }, [
      el("label", { "for": id, text: "Insert a saved reply" }),
      el("div", { "class": "kbgen-reply-tools__row" }, [select, button]),
      status
    ]);
  }

  /* ---- Links to articles ---------------------------------------------------------- */

  // [Title](address): brackets in a title and parentheses in an address would end the link early.
  function markdownLink(title, href) {
    return "[" + title.replace(/([\\\[\]])/g, "\\$1") + "](" + href.replace(/\(/g, "%28").replace(/\)/g, "%29") + ")";
  }

  function articleLinks(form, textarea) {
    var id = "kbgen-article-search";
    var input = el("input", {
      id: id, type: "text", role: "combobox", autocomplete: "off", spellcheck: "false",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": id + "-list",
      "aria-describedby": id + "-hint"
    });
    var list = el("ul", { id: id + "-list", role: "listbox", "aria-label": "Articles", "class": "kbgen-article-list" });
    list.hidden = true;
    var hint = el("p", { id: id + "-hint", "class": "kbgen-reply-tools__hint",
                         text: "Type at least " + MIN_CHARS + " letters; arrows choose, Enter inserts the link, Escape closes." });
    var status = el("p", { "class": "kbgen-reply-tools__status", role: "status", "aria-live": "polite" });
    var results = [], active = -1, timer = null, asked = 0;

    function close() {
      list.hidden = true;
      list.textContent = "";
      results = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (option, at) {
        option.setAttribute("aria-selected", at === index ? "true" : "false");
      });
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", list.children[index].id);
        list.children[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      var result = results[index];
      if (!result) return;
      var href = new URL(result.url, core.siteRoot(form)).href;
      insert(textarea, markdownLink(result.title, href), "inline");
      status.textContent = "Inserted a link to \u201c" + result.title + "\u201d in your message.";
      input.value = "";
      close();
    }

    function show(answer) {
      list.textContent = "";
      results = answer.results || [];
      var names = {};
      ["product", "type"].forEach(function (kind) {
        ((answer.facets && answer.facets[kind]) || []).forEach(function (f) { names[kind + ":" + f.value] = f.label; });
      });
      results.forEach(function (result, at) {
        var about = [names["product:" + result.product], names["type:" + result.type]].filter(Boolean);
        var option = el("li", { id: id + "-" + at, role: "option", "aria-selected": "false",
                                "class": "kbgen-article-list__option" }, [
          el("span", "kbgen-article-list__title", result.title),
          result.section ? el("span", "kbgen-article-list__section", result.section) : null,
          about.length ? el("span", "kbgen-article-list__about", about.filter(function (v, i) {
            return about.indexOf(v) === i;
          }).join(" \u00b7 ")) : null
        ]);
        option.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus
        option.addEventListener("click", function () { choose(at); });
        list.appendChild(option);
      });
      list.hidden = !results.length;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      status.textContent = results.length ? results.length + " article(s) found." : "No article matches.";
      highlight(results.length ? 0 : -1);
    }

    function search() {
      var q = input.value.trim();
      if (q.length < MIN_CHARS) {
        close();
        status.textContent = "";
        return;
      }
      var mine = ++asked;
      core.request("GET", "/api/search?partial=1&limit=" + LIMIT + "&q=" + encodeURIComponent(q)).then(function (answer) {
        if (mine !== asked) return;  // an answer to an older question
        if (!answer.ok) {
          close();
          status.textContent = answer.data.detail || "Search is not available right now.";
          return;
        }
        show(answer.data);
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && results.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) return search();
        var step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + results.length) % results.length);
      } else if (event.key === "Enter") {
        event.preventDefault();  // never sends the comment
        if (open && active >= 0) choose(active);
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        }
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    form.addEventListener("reset", function () { close(); status.textContent = ""; });

    return el("div", { "class": "kbgen-reply-tools__item kbgen-reply-tools__articles" }, [
      el("label", { "for": id, text: "Insert a link to an article" }),
      el("div", { "class": "kbgen-reply-tools__combo" }, [input, list]),
      hint,
      status
    ]);
  }
})();
