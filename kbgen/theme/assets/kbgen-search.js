/* kbgen search: results as you type in every form[data-kbgen-search], and the full
 * results page (search/?q=) in [data-kbgen-results].
 *
 * Asks the service at <meta name="kbgen-api"> + /api/search (empty: this origin).
 * Result URLs are relative to the site root, <meta name="kbgen-root">, so the site
 * works under a sub-path. Titles and labels are inserted as text; only snippets are
 * inserted as HTML, because the service escapes them and adds nothing but <mark>.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 120;
  var LIVE_LIMIT = 6;
  var MIN_CHARS = 2;  // one letter matches nothing useful
  var PAGE_LIMIT = 10;
  var UNREACHABLE = "Search is not available right now. Browse the Knowledge Base or contact us.";
  var WEAK = "Only weak matches: these pages have only some of your words.";
  var KINDS = {product: "Product", type: "Type"};

  var core = window.kbgen;  // kbgen-core.js
  var el = core.el;

  function siteUrl(node, relative) {
    return new URL(core.root(node) + relative, location.href).href;
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value !== undefined && value !== null && value !== "") {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
      }
    });
    return parts.join("&");
  }

  // The version of the page being read (<meta name="kbgen-version">): its copy of a versioned page comes first.
  function readerVersion() {
    var meta = document.querySelector('meta[name="kbgen-version"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Resolves to the JSON answer; rejects with {message} for a 400, {unreachable: true} otherwise.
  function fetchResults(params, signal, keepalive) {
    if (!params.version) params.version = readerVersion();
    return fetch(core.apiUrl("/api/search?" + query(params)), {
      signal: signal, keepalive: !!keepalive, credentials: "same-origin", headers: {Accept: "application/json"}
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) throw {unreachable: true};
      return response.json().then(function (body) {
        if (response.status === 400) throw {message: body.detail || "This search could not be run."};
        if (!response.ok) throw {unreachable: true};
        return body;
      });
    }, function (error) {
      if (error && error.name === "AbortError") throw error;
      throw {unreachable: true};
    });
  }

  function labels(facets) {
    var names = {};
    ["product", "type"].forEach(function (kind) {
      ((facets && facets[kind]) || []).forEach(function (facet) { names[kind + ":" + facet.value] = facet.label; });
    });
    return names;
  }

  // "XCALLY · Troubleshooting"; a License article is just "License".
  function metaLabels(names, result) {
    var product = names["product:" + result.product], type = names["type:" + result.type];
    var place = (result.place || []).map(function (name) { return name.toLowerCase(); });
    // A label the breadcrumbs already say ("Knowledge Base > XCALLY > How-To") is not said twice.
    return [product, type !== product ? type : null].filter(function (label) {
      return label && place.indexOf(label.toLowerCase()) < 0;
    }).join(" \u00b7 ");
  }

  function snippetNode(result) {
    var node = el("span", "kbgen-hit__snippet");
    // The service escaped everything in the snippet and added only <mark>: safe as HTML.
    node.innerHTML = result.snippet || "";
    return node;
  }

  function contactLine(node) {
    var line = el("p", "kbgen-search__contact");
    line.appendChild(document.createTextNode("Need to raise a request? "));
    var link = el("a", "kbgen-search__contact-link", "Contact us");
    link.href = siteUrl(node, core.page("support"));
    line.appendChild(link);
    return line;
  }

  // Where a result is: the sections it is in, the innermost few (two pages may share a title, "Overview").
  var PLACE_SHOWN = 3;
  function addPlace(parent, result) {
    var place = result.place || [];
    if (!place.length) return;
    var shown = place.slice(-PLACE_SHOWN).join(" \u203a ");
    parent.appendChild(el("span", "kbgen-hit__place", place.length > PLACE_SHOWN ? "\u2026 \u203a " + shown : shown));
  }

  function versionChip(result) {
    var node = el("span", "kbgen-chip kbgen-hit__version", result.version);
    node.title = "Version: " + result.version;
    return node;
  }

  function chip(kind, facet, active, onToggle) {
    var button = el("button", "kbgen-chip kbgen-search__chip" + (active ? " kbgen-search__chip--on" : ""));
    button.type = "button";
    button.setAttribute("aria-pressed", active ? "true" : "false");
    button.setAttribute("data-kind", kind);
    button.setAttribute("data-value", facet.value);
    button.title = KINDS[kind] + ": " + facet.label;
    button.appendChild(document.createTextNode(facet.label + " "));
    button.appendChild(el("span", "kbgen-search__count", String(facet.count)));
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep focus in the input
    button.addEventListener("click", function () { onToggle(kind, active ? "" : facet.value); });
    return button;
  }

  /* ---- Results as you type -------------------------------------------------------- */

  var counter = 0;

  function enhanceForm(form) {
    var input = form.querySelector('input[name="q"]');
    if (!input || form.hasAttribute("data-kbgen-ready")) return;
    form.setAttribute("data-kbgen-ready", "");
    var id = "kbgen-search-" + (++counter);
    var panel = el("div", "kbgen-search__panel");
    panel.hidden = true;
    var status = el("p", "kbgen-search__status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var chips = el("div", "kbgen-search__chips");
    var list = el("ul", "kbgen-search__list");
    list.id = id + "-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Search results");
    panel.appendChild(chips);
    panel.appendChild(status);
    panel.appendChild(list);
    form.appendChild(panel);
    form.classList.add("kbgen-search--enhanced");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");

    var filters = {product: "", type: ""};
    var timer = null;
    var controller = null;
    var active = -1;
    var lastQuery = "";
    var lastEmpty = false;

    function options() { return list.querySelectorAll('[role="option"]'); }

    function open(isOpen) {
      panel.hidden = !isOpen;
      input.setAttribute("aria-expanded", isOpen ? "true" : "false");
      if (!isOpen) setActive(-1);
    }

    function setActive(index) {
      var all = options();
      active = all.length ? Math.max(-1, Math.min(index, all.length - 1)) : -1;
      for (var i = 0; i < all.length; i++) all[i].setAttribute("aria-selected", i === active ? "true" : "false");
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", all[active].id);
        all[active].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function fullResultsUrl(q) {
      return siteUrl(form, core.page("search")) + "?" + query({q: q, product: filters.product, type: filters.type});
    }

    function addOption(href, className, build) {
      var item = el("li", className);
      item.id = id + "-opt-" + list.children.length;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      // An option is not a link inside an option (axe: nested-interactive): the option itself goes there,
      // by click or by Enter on the input (aria-activedescendant).
      var link = el("span", "kbgen-hit__link");
      item.setAttribute("data-href", href);
      build(link);
      item.appendChild(link);
      item.addEventListener("mousedown", function (event) { event.preventDefault(); });
      item.addEventListener("click", function () { location.href = href; });
      list.appendChild(item);
    }

    function render(body) {
      var names = labels(body.facets);
      chips.textContent = "";
      status.textContent = "";
      list.textContent = "";
      ["product", "type"].forEach(function (kind) {
        var facets = body.facets[kind] || [];
        if (facets.length) chips.appendChild(el("span", "kbgen-search__facet-label", KINDS[kind]));
        facets.forEach(function (facet) {
          chips.appendChild(chip(kind, facet, filters[kind] === facet.value, toggle));
        });
      });
      if (body.suggestion) {
        var again = el("button", "kbgen-search__suggestion", body.suggestion);
        again.type = "button";
        again.addEventListener("mousedown", function (event) { event.preventDefault(); });
        again.addEventListener("click", function () { input.value = body.suggestion; run(); });
        status.appendChild(document.createTextNode("Did you mean "));
        status.appendChild(again);
        status.appendChild(document.createTextNode("?"));
      }
      lastEmpty = !body.total;
      setContact(!body.total || body.weak);
      if (body.total && body.weak) status.appendChild(el("span", "kbgen-search__weak", (body.suggestion ? " " : "") + WEAK));
      if (!body.total) {
        status.appendChild(el("span", "kbgen-search__none", (body.suggestion ? " " : "") + "No results for \u201c" + body.query + "\u201d."));
        open(true);
        return;
      }
      body.results.forEach(function (result) {
        addOption(withHighlight(siteUrl(form, result.url), body), "kbgen-hit", function (link) {
          addPlace(link, result);
          var title = el("span", "kbgen-hit__title", result.title);
          link.appendChild(title);
          if (result.version) title.appendChild(versionChip(result));
          if (result.section) link.appendChild(el("span", "kbgen-hit__section", result.section));
          link.appendChild(snippetNode(result));
          var tags = metaLabels(names, result);
          if (result.versions && result.versions.length) {
            tags = (tags ? tags + " \u00b7 " : "") + "Also in " + result.versions.map(function (v) { return v.label; }).join(", ");
          }
          if (tags) link.appendChild(el("span", "kbgen-hit__meta", tags));
        });
      });
      addOption(fullResultsUrl(input.value.trim()), "kbgen-hit kbgen-hit--all", function (link) {
        link.textContent = body.total === 1 ? "Open the result page" : "See all " + body.total + " results";
      });
      open(true);
    }

    function setContact(show) {
      var line = panel.querySelector(".kbgen-search__contact");
      if (line) line.remove();
      if (show) panel.appendChild(contactLine(form));
    }

    function showMessage(text, withContact) {
      chips.textContent = "";
      list.textContent = "";
      status.textContent = text;
      setContact(withContact);
      open(true);
    }

    function run() {
      var q = input.value;
      clearTimeout(timer);
      if (controller) controller.abort();
      if (q.trim().length < MIN_CHARS) {
        lastQuery = "";
        open(false);
        return;
      }
      lastQuery = q;
      controller = window.AbortController ? new AbortController() : null;
      var params = {q: q, limit: LIVE_LIMIT, partial: 1, product: filters.product, type: filters.type};
      fetchResults(params, controller && controller.signal).then(function (body) {
        if (q !== input.value) return;  // an older answer arriving late
        setActive(-1);
        render(body);
      }, function (error) {
        if (error && error.name === "AbortError") return;
        showMessage(error && error.message ? error.message : UNREACHABLE, !(error && error.message));
      });
    }

    function toggle(kind, value) {
      filters[kind] = value;
      run();
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, DEBOUNCE_MS);
    });
    input.addEventListener("focus", function () {
      if (input.value.trim() && input.value === lastQuery && list.children.length + status.textContent.length) open(true);
    });
    input.addEventListener("keydown", function (event) {
      var all = options();
      if (event.key === "ArrowDown") {
        if (panel.hidden && input.value.trim()) { run(); return; }
        event.preventDefault();
        setActive(active + 1 >= all.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        setActive(active <= 0 ? all.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        if (!panel.hidden && active >= 0 && all[active]) {
          event.preventDefault();
          location.href = all[active].getAttribute("data-href");
        } else if (input.value.trim()) {
          event.preventDefault();
          location.href = fullResultsUrl(input.value.trim());
        }
      } else if (event.key === "Escape") {
        if (!panel.hidden) {
          event.preventDefault();
          open(false);
        } else if (input.value) {
          input.value = "";
        }
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(function () { if (!form.contains(document.activeElement)) open(false); }, 150);
    });
    panel.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest(".kbgen-search__contact-link");
      // A customer giving up on the search: count it among the searches that found nothing.
      if (link && lastEmpty && lastQuery.trim()) {
        fetchResults({q: lastQuery, limit: 1}, null, true).catch(function () {});
      }
    });
    form.addEventListener("submit", function (event) {
      if (!input.value.trim()) event.preventDefault();
    });
  }

  /* ---- The full results page --------------------------------------------------------- */

  function resultsPage(container) {
    if (container.hasAttribute("data-kbgen-ready")) return;
    container.setAttribute("data-kbgen-ready", "");
    var params = new URLSearchParams(location.search);
    var q = (params.get("q") || "").trim();
    var product = params.get("product") || "";
    var type = params.get("type") || "";
    var page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    var status = container.querySelector("[data-kbgen-status]");
    var list = container.querySelector("[data-kbgen-list]");
    var filterBox = container.querySelector("[data-kbgen-filters]");
    var pager = container.querySelector("[data-kbgen-pager]");
    var input = container.querySelector('input[name="q"]');
    if (input) input.value = q;
    var header = document.querySelector('.kbgen-search--header input[name="q"]');
    if (header && !header.value) header.value = q;

    function pageUrl(changes) {
      var next = {q: q, product: product, type: type, page: page > 1 ? page : ""};
      Object.keys(changes).forEach(function (key) { next[key] = changes[key]; });
      if (next.page === 1) next.page = "";
      return "?" + query(next);
    }

    if (!q) {
      status.textContent = "Type what you are looking for above.";
      if (input) input.focus();
      return;
    }
    document.title = q + " \u2013 " + document.title;
    status.textContent = "Searching\u2026";
    fetchResults({q: q, product: product, type: type, page: page, limit: PAGE_LIMIT}).then(function (body) {
      var names = labels(body.facets);
      status.textContent = "";
      ["product", "type"].forEach(function (kind) {
        var facets = body.facets[kind] || [];
        if (!facets.length) return;
        var group = el("div", "kbgen-results__facet");
        group.setAttribute("role", "group");
        group.setAttribute("aria-label", "Filter by " + KINDS[kind].toLowerCase());
        group.appendChild(el("span", "kbgen-search__facet-label", KINDS[kind]));
        facets.forEach(function (facet) {
          var on = (kind === "product" ? product : type) === facet.value;
          var change = {page: 1};
          change[kind] = on ? "" : facet.value;
          var link = el("a", "kbgen-chip kbgen-search__chip" + (on ? " kbgen-search__chip--on" : ""), facet.label + " ");
          link.href = pageUrl(change);
          if (on) link.setAttribute("aria-current", "true");  // a link is current, not pressed (a button is)
          link.setAttribute("data-kind", kind);
          link.title = KINDS[kind] + ": " + facet.label;
          link.appendChild(el("span", "kbgen-search__count", String(facet.count)));
          group.appendChild(link);
        });
        filterBox.appendChild(group);
      });
      if (body.suggestion) {
        var p = el("p", "kbgen-results__suggestion", "Did you mean ");
        var link = el("a", "", body.suggestion);
        link.href = "?" + query({q: body.suggestion, product: product, type: type});
        p.appendChild(link);
        p.appendChild(document.createTextNode("?"));
        status.parentNode.insertBefore(p, status);
      }
      if (!body.total) {
        status.textContent = "No results for \u201c" + q + "\u201d" + (product || type ? " with these filters." : ".");
        status.parentNode.insertBefore(contactLine(container), list);
        return;
      }
      var first = (body.page - 1) * body.limit + 1;
      var last = first + body.results.length - 1;
      status.textContent = body.total === 1 ? "1 result" : "Results " + first + "\u2013" + last + " of " + body.total;
      if (body.weak) {
        status.appendChild(el("span", "kbgen-search__weak", " " + WEAK));
        status.parentNode.insertBefore(contactLine(container), list);
      }
      list.start = first;
      body.results.forEach(function (result) {
        var item = el("li", "kbgen-hit");
        addPlace(item, result);
        var link = el("a", "kbgen-hit__title", result.title);
        link.href = withHighlight(siteUrl(container, result.url), body);
        item.appendChild(link);
        if (result.version) item.appendChild(versionChip(result));
        if (result.section) item.appendChild(el("span", "kbgen-hit__section", result.section));
        var text = el("p");
        text.appendChild(snippetNode(result));
        item.appendChild(text);
        var tags = metaLabels(names, result);
        if (tags) item.appendChild(el("span", "kbgen-hit__meta", tags));
        if (result.versions && result.versions.length) {
          var others = el("span", "kbgen-hit__versions", "Other versions: ");
          result.versions.forEach(function (other, n) {
            if (n) others.appendChild(document.createTextNode(", "));
            var to = el("a", "", other.label);
            to.href = withHighlight(siteUrl(container, other.url), body);
            others.appendChild(to);
          });
          item.appendChild(others);
        }
        list.appendChild(item);
      });
      var pages = Math.min(Math.ceil(body.total / body.limit), 100);
      if (pages > 1) {
        var from = Math.max(1, body.page - 4);
        var to = Math.min(pages, from + 8);
        if (body.page > 1) pager.appendChild(pagerLink("Previous", body.page - 1, false));
        for (var n = from; n <= to; n++) pager.appendChild(pagerLink(String(n), n, n === body.page));
        if (body.page < pages) pager.appendChild(pagerLink("Next", body.page + 1, false));
      }
      list.insertAdjacentElement("afterend", contactLine(container));
    }, function (error) {
      status.textContent = error && error.message ? error.message : UNREACHABLE;
      if (!(error && error.message)) status.parentNode.insertBefore(contactLine(container), list);
    });

    function pagerLink(text, number, current) {
      var link = el("a", "kbgen-results__page" + (current ? " kbgen-results__page--current" : ""), text);
      link.href = pageUrl({page: number});
      if (current) link.setAttribute("aria-current", "page");
      return link;
    }
  }

  /* ---- The searched words marked on the page a result opens ---------------------------- */
  // Material's `search.highlight` feature, kept when kbgen replaces Material's search: a result's link
  // carries the search (?h=), and the page it opens marks the words starting with a searched word.
  var HIGHLIGHT = "h";
  var MAX_HIGHLIGHT_CHARS = 200;
  var MAX_HIGHLIGHT_WORDS = 10;
  var MAX_MARKS = 500;
  var SKIPPED = /^(SCRIPT|STYLE|TEXTAREA|MARK|SVG)$/;

  var highlighting = null;  // read once: every result link asks, and the site's features never change
  function highlightOn() {
    if (highlighting === null) {
      var config = document.getElementById("__config");  // Material's settings, features included
      try {
        highlighting = !!config && (JSON.parse(config.textContent).features || []).indexOf("search.highlight") >= 0;
      } catch (error) {
        highlighting = false;
      }
    }
    return highlighting;
  }

  function withHighlight(url, body) {
    var searched = [body.query, body.suggestion].filter(Boolean).join(" ").slice(0, MAX_HIGHLIGHT_CHARS);
    if (!searched || !highlightOn()) return url;
    var target = new URL(url);
    target.searchParams.set(HIGHLIGHT, searched);
    return target.href;
  }

  function highlightPage() {
    var searched = new URL(location.href).searchParams.get(HIGHLIGHT);
    var root = document.querySelector("article.md-content__inner");
    if (!searched || !root || root.hasAttribute("data-kbgen-highlighted") || !highlightOn()) return;
    root.setAttribute("data-kbgen-highlighted", "");
    var words = (searched.slice(0, MAX_HIGHLIGHT_CHARS).toLowerCase().match(/[\p{L}\p{N}_]{3,}/gu) || [])
      .filter(function (word, n, all) { return all.indexOf(word) === n; }).slice(0, MAX_HIGHLIGHT_WORDS);
    if (!words.length) return;
    var escaped = words.map(function (word) { return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); });
    var pattern = new RegExp("(^|[^\\p{L}\\p{N}_])((?:" + escaped.join("|") + ")[\\p{L}\\p{N}_]*)", "giu");
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        for (var up = node.parentNode; up && up !== root; up = up.parentNode) {
          if (SKIPPED.test(up.nodeName.toUpperCase()) || (up.classList && up.classList.contains("headerlink"))) {
            return NodeFilter.FILTER_REJECT;
          }
        }
        return NodeFilter.FILTER_ACCEPT;
      }
    });
    var texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    var marks = 0;
    texts.forEach(function (node) {
      var text = node.nodeValue, at = 0, parts = [], found;
      pattern.lastIndex = 0;
      while (marks < MAX_MARKS && (found = pattern.exec(text)) !== null) {
        var start = found.index + found[1].length;
        parts.push(document.createTextNode(text.slice(at, start)));
        parts.push(el("mark", "kbgen-highlight", found[2]));
        at = start + found[2].length;
        marks++;
      }
      if (!parts.length) return;
      parts.push(document.createTextNode(text.slice(at)));
      parts.forEach(function (part) { node.parentNode.insertBefore(part, node); });
      node.parentNode.removeChild(node);
    });
  }

  /* ---- Wiring ------------------------------------------------------------------------ */

  function init() {
    document.querySelectorAll("form[data-kbgen-search]").forEach(enhanceForm);
    document.querySelectorAll("[data-kbgen-results]").forEach(resultsPage);
    highlightPage();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var bar = document.querySelector("input[data-kbgen-shortcut]") || document.querySelector("form[data-kbgen-search] input[name=q]");
    if (bar) {
      event.preventDefault();
      bar.focus();
      bar.select();
    }
  });

  core.ready(init);
  // Material's instant navigation swaps the page without reloading scripts.
  if (window.document$ && window.document$.subscribe) window.document$.subscribe(init);
})();
