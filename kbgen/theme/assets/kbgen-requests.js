/* kbgen requests pages (made by kbgen/site/pages/requests.py): the organization's requests and one request.
 *
 * The pages are static shells; everything here comes from the service's /api/tickets, for the
 * signed-in user. Text is always set with textContent; the only HTML inserted is a comment's
 * body, which the service renders from Markdown with raw HTML escaped and links checked.
 * The script is loaded on every page and does nothing where there is no requests page.
 */
(function () {
  "use strict";

  var core = window.kbgen;  // kbgen-core.js
  var el = core.el, siteRoot = core.siteRoot, apiUrl = core.apiUrl;
  var UNREACHABLE = "The support service cannot be reached. Check your connection and try again.";

  function request(method, path, body) {
    return core.request(method, path, body).then(function (answer) {
      if (!answer.status) answer.data = { detail: UNREACHABLE };
      return answer;
    });
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function timeEl(iso) {
    return core.timeEl(iso);  // one date format everywhere: the viewer's time zone, UTC on hover
  }

  function statusChip(status) {
    return el("span", { "class": "kbgen-status", "data-status-slug": status.slug, title: status.meaning, text: status.name });
  }

  function showError(box, message) {
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  function signInNeeded(page) {
    var box = document.querySelector("[data-kbgen-signin]");
    var link = document.querySelector("[data-kbgen-signin-link]");
    if (link) {
      link.href = siteRoot() + core.signInPage(location.pathname + location.search);
    }
    if (box) box.hidden = false;
    page.hidden = true;
  }

  function showAgentControls(scope, isAgent) {
    Array.prototype.forEach.call(scope.querySelectorAll("[data-kbgen-agent-only]"), function (node) {
      node.hidden = !isAgent;
    });
  }

  function fillPeople(select, people, selected, keepFirst) {
    while (select.options.length > keepFirst) select.remove(keepFirst);
    people.forEach(function (person) {
      var option = el("option", { value: String(person.id), text: person.name + (person.email ? " <" + person.email + ">" : "") });
      if (String(person.id) === String(selected) || (selected && person.email === selected)) option.selected = true;
      select.appendChild(option);
    });
    if (selected === "none") select.value = "none";
  }

  /* --------------------------------------------------------------- the list */

  function setupList(page) {
    var form = page.querySelector("[data-kbgen-filters]");
    var params = new URLSearchParams(location.search);
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name || !params.has(control.name)) return;
      if (control.type === "checkbox") control.checked = params.get(control.name) === control.value;
      else if (control.tagName !== "SELECT" || control.querySelector('option[value="' + CSS.escape(params.get(control.name)) + '"]')) {
        control.value = params.get(control.name);
      }
    });
    // Empty filters stay out of the address, so a shared link says only what was chosen.
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (control) {
        if (!control.name || control.disabled) return;
        if (control.type === "checkbox") { if (control.checked) query.set(control.name, control.value); }
        else if (control.value && !(control.name === "sort" && control.value === core.facts.default_sort)) {
          query.set(control.name, control.value);
        }
      });
      var search = query.toString();
      location.assign(location.pathname + (search ? "?" + search : ""));
    });

    var account = window.kbgenAccount ? window.kbgenAccount.me() : Promise.resolve(null);
    account.catch(function () { return null; }).then(function (me) {
      // The support team opens on its queues: All open, unless the address already chose something.
      if (me && core.isSupportTeam(me.user) && !params.toString()) params.set("view", "open");
      loadList(page, params);
    });
  }

  function loadList(page, params) {
    var query = new URLSearchParams();
    ["q", "status", "product", "priority", "requester", "assignee", "sort", "page", "organization", "view"].forEach(function (name) {
      if (params.get(name)) query.set(name, params.get(name));
    });
    if (params.get("mine") === "1") query.set("mine", "true");
    return request("GET", "/api/tickets?" + query.toString()).then(function (answer) {
      if (answer.status === 401) return signInNeeded(page);
      if (!answer.ok) {
        showError(document.querySelector("[data-kbgen-error]"), answer.data.detail || "The requests could not be loaded.");
        page.hidden = false;
        return;
      }
      renderList(page, answer.data, params);
      // Other scripts (live updates) hook in here: reload() fetches the list again.
      document.dispatchEvent(new CustomEvent("kbgen:requests", {
        detail: { data: answer.data, reload: function () { return loadList(page, params); } }
      }));
    });
  }

  function renderViews(page, params) {
    var nav = page.querySelector("[data-kbgen-views]");
    if (!nav) return;
    var current = params.get("view") || "";
    Array.prototype.forEach.call(nav.querySelectorAll("a[data-view]"), function (link) {
      if (link.getAttribute("data-view") === current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
    request("GET", "/api/views").then(function (answer) {
      if (!answer.ok) return;
      answer.data.forEach(function (view) {
        var link = nav.querySelector('a[data-view="' + CSS.escape(view.slug) + '"]');
        var count = link && link.querySelector("[data-kbgen-view-count]");
        if (count) count.textContent = "(" + view.count + (view.more ? "+" : "") + ")";
      });
    });
  }

  function dueCell(item) {
    var sla = item.sla;
    if (!sla || !sla.due_at) {
      return el("td", { "class": "kbgen-due" }, sla && sla.breached.length ? [el("span", { "class": "kbgen-flag kbgen-flag--breached", text: "Breached" })] : []);
    }
    var parts = [timeEl(sla.due_at)];
    if (sla.breached.length) parts.push(el("span", { "class": "kbgen-flag kbgen-flag--breached", text: "Breached" }));
    else if (sla.due_soon) parts.push(el("span", { "class": "kbgen-flag kbgen-flag--soon", text: "Due soon" }));
    return el("td", { "class": "kbgen-due" }, parts);
  }

  function renderList(page, data, params) {
    var isAgent = core.isSupportTeam(data.viewer);
    page.hidden = false;
    showAgentControls(page, isAgent);
    var org = page.querySelector("[data-kbgen-org]");
    var orgs = data.organizations || [];  // a partner's several organizations
    var severalOrgs = isAgent || orgs.length > 1;
    if (org) {
      org.textContent = isAgent ? "every organization"
        : orgs.length > 1 ? orgs.map(function (o) { return o.name; }).join(", ")
        : data.organization ? data.organization.name : "your organization";
    }
    fillPeople(page.querySelector("[data-kbgen-requesters]"), data.requesters, params.get("requester"), 1);
    if (isAgent) {
      fillPeople(page.querySelector("[data-kbgen-assignees]"), data.agents, params.get("assignee"), 2);
      renderViews(page, params);
    }

    var body = clear(page.querySelector("[data-kbgen-table] tbody"));
    var headers = Array.prototype.filter.call(page.querySelectorAll("[data-kbgen-table] thead th"), function (th) {
      return !th.hidden;
    }).map(function (th) { return th.textContent.trim(); });
    var root = siteRoot();
    data.items.forEach(function (item) {
      var who = [el("span", { text: item.requester.name })];
      if (severalOrgs) who.push(el("small", { "class": "kbgen-org-name", text: item.organization.name }));
      var keyCell = [el("a", { href: root + item.url, text: item.key })];
      if (item.sla && item.sla.reopened) keyCell.push(el("span", { "class": "kbgen-flag kbgen-flag--reopened", text: "Reopened" }));
      var cells = [
        el("td", {}, keyCell),
        el("td", {}, [el("a", { href: root + item.url, text: item.summary })]),
        el("td", { text: item.product.name }),
        el("td", {}, [statusChip(item.status)]),
        el("td", { text: item.priority.name }),
        el("td", {}, who)
      ];
      if (isAgent) {
        cells.push(el("td", { text: item.assignee ? item.assignee.name : "Nobody" }));
        cells.push(dueCell(item));
      }
      cells.push(el("td", {}, [timeEl(item.updated_at)]));
      // Phones show each row as a card: every cell names its column (the header's words).
      cells.forEach(function (cell, i) { if (headers[i]) cell.setAttribute("data-label", headers[i]); });
      body.appendChild(el("tr", { "data-key": item.key }, cells));
    });
    var count = page.querySelector("[data-kbgen-count]");
    if (!data.total) {
      count.textContent = params.toString() ? "No requests match these filters." : "No requests yet.";
    } else {
      var first = (data.page - 1) * data.per_page + 1;
      var last = Math.min(data.total, first + data.items.length - 1);
      var total = data.total.toLocaleString() + (data.total_is_lower_bound ? "+" : "");
      count.textContent = data.items.length
        ? "Showing " + first + "–" + last + " of " + total + " request" + (data.total === 1 ? "" : "s") + "."
        : "No requests on this page.";
    }
    renderPager(page.querySelector("[data-kbgen-pager]"), data, params);
  }

  function renderPager(nav, data, params) {
    clear(nav);
    if (data.pages <= 1) return;
    function link(pageNumber, label, rel) {
      var query = new URLSearchParams(params);
      query.set("page", String(pageNumber));
      return el("a", { href: "?" + query.toString(), rel: rel, "class": "md-button", text: label });
    }
    if (data.page > 1) nav.appendChild(link(data.page - 1, "← Previous", "prev"));
    nav.appendChild(el("span", { "class": "kbgen-pager-info", text: "Page " + data.page + " of " + data.pages }));
    if (data.page < data.pages) nav.appendChild(link(data.page + 1, "Next →", "next"));
  }

  /* --------------------------------------------------------------- one request */

  function ticketKey() {
    var key = core.keyInPath(location.pathname);
    if (!core.isKey(key)) key = new URLSearchParams(location.search).get("key") || "";
    return core.isKey(key) ? key.toUpperCase() : "";
  }

  function setupTicket(page) {
    var key = ticketKey();
    var errorBox = document.querySelector("[data-kbgen-error]");
    if (!key) {
      showError(errorBox, "This address names no request. Open one from the requests list.");
      return;
    }
    var state = { key: key };
    load(page, state);

    page.querySelector("[data-kbgen-comment]").addEventListener("submit", function (event) {
      event.preventDefault();
      sendComment(page, state, event.target);
    });
    page.querySelector("[data-kbgen-assign]").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = event.target.elements.assignee.value;
      act(page, state, "PUT", "/assignee", { assignee: value ? Number(value) : null });
    });
    page.querySelector("[data-kbgen-priority]").addEventListener("submit", function (event) {
      event.preventDefault();
      act(page, state, "PUT", "/priority", { priority: event.target.elements.priority.value });
    });
  }

  function load(page, state) {
    return request("GET", "/api/tickets/" + encodeURIComponent(state.key)).then(function (answer) {
      if (answer.status === 401) return signInNeeded(page);
      if (!answer.ok) {
        page.hidden = true;
        showError(document.querySelector("[data-kbgen-error]"), answer.data.detail || "This request could not be loaded.");
        return;
      }
      renderTicket(page, state, answer.data);
    });
  }

  function announce(page, state, t) {
    // Other scripts (live updates, canned replies, ratings) hook in here: reload() fetches the ticket again.
    document.dispatchEvent(new CustomEvent("kbgen:ticket", {
      detail: { ticket: t, page: page, reload: function () { return load(page, state); } }
    }));
  }

  // A move that cannot be undone asks first, in the page (no dialog), and says what follows.
  function confirmClose(page, state, actions, move, t) {
    var existing = actions.querySelector("[data-kbgen-confirm]");
    if (existing) existing.remove();
    var yes = el("button", { type: "button", "class": "md-button md-button--primary", text: "Yes, close it for good" });
    var no = el("button", { type: "button", "class": "md-button", text: "Not yet" });
    var box = el("div", { "class": "kbgen-confirm", "data-kbgen-confirm": "", role: "group", "aria-label": "Confirm the fix" }, [
      el("p", { text: "Close " + t.key + " for good? Nobody can reopen it afterwards; a new problem becomes a new " +
                      "request that refers to this one." }), yes, no]);
    actions.appendChild(box);
    yes.focus();
    no.addEventListener("click", function () {
      box.remove();
      var again = actions.querySelector('[data-to="' + CSS.escape(move.to) + '"]');
      if (again) again.focus();
    });
    yes.addEventListener("click", function () { actOn(page, state, yes, "POST", "/transitions", { to: move.to }); });
  }

  // After an action the page is drawn again: focus goes back to the same control (or the status), not the top.
  function actOn(page, state, control, method, suffix, body) {
    var label = control && (control.getAttribute("data-to") || control.textContent);
    return act(page, state, method, suffix, body).then(function () {
      var same = label && page.querySelector('[data-kbgen-actions] [data-to="' + CSS.escape(label) + '"]');
      var target = same || page.querySelector("[data-kbgen-status]");
      if (target) {
        if (!same) target.setAttribute("tabindex", "-1");
        target.focus();
      }
    });
  }

  function act(page, state, method, suffix, body) {
    var box = page.querySelector("[data-kbgen-action-error]");
    showError(box, "");
    return request(method, "/api/tickets/" + encodeURIComponent(state.key) + suffix, body).then(function (answer) {
      if (answer.status === 401) return signInNeeded(page);
      if (!answer.ok) return showError(box, answer.data.detail || "That did not work; reload the page and try again.");
      renderTicket(page, state, answer.data);
    });
  }

  function sendComment(page, state, form) {
    var box = page.querySelector("[data-kbgen-comment-error]");
    var data = new FormData(form);
    var files = form.querySelector('input[type="file"]');
    if (files && !files.files.length) data.delete("files");
    if (!String(data.get("text") || "").trim() && !(files && files.files.length)) {
      return showError(box, "Write a message or attach a file.");
    }
    showError(box, "");
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    request("POST", "/api/tickets/" + encodeURIComponent(state.key) + "/comments", data).then(function (answer) {
      button.disabled = false;
      if (answer.status === 401) return signInNeeded(page);
      if (!answer.ok) return showError(box, answer.data.detail || "The comment was not sent; try again.");
      form.reset();
      return load(page, state);
    });
  }

  function fact(list, label, value) {
    if (value === null || value === undefined || value === "") return;
    list.appendChild(el("dt", { text: label }));
    list.appendChild(el("dd", {}, [typeof value === "string" ? document.createTextNode(value) : value]));
  }

  function attachmentLinks(items) {
    return items.map(function (a) {
      return el("li", {}, [
        el("a", { href: apiUrl(a.url), download: a.filename, text: a.filename }),
        el("span", { "class": "kbgen-size", text: " (" + size(a.size) + ")" })
      ]);
    });
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function renderTicket(page, state, t) {
    var isAgent = core.isSupportTeam(t.viewer);
    var root = siteRoot();
    page.hidden = false;
    showAgentControls(page, isAgent);
    document.title = t.key + " " + t.summary;
    page.querySelector("[data-kbgen-key]").textContent = t.key;
    page.querySelector("[data-kbgen-summary]").textContent = t.summary;
    var chip = page.querySelector("[data-kbgen-status]");
    chip.textContent = t.status.name;
    chip.setAttribute("data-status-slug", t.status.slug);
    page.querySelector("[data-kbgen-status-meaning]").textContent = t.status.meaning;
    Array.prototype.forEach.call(page.querySelectorAll("[data-kbgen-status-help] tr[data-status]"), function (row) {
      if (row.getAttribute("data-status") === t.status.name) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });

    var facts = clear(page.querySelector("[data-kbgen-facts]"));
    fact(facts, "Status", statusChip(t.status));
    fact(facts, "Product", t.product.name);
    fact(facts, "Request type", t.request_type.name);
    fact(facts, "Priority", t.priority.name);
    fact(facts, "Requester", t.requester.name);
    fact(facts, "Organization", t.organization.name);
    fact(facts, "Created", timeEl(t.created_at));
    fact(facts, "Updated", timeEl(t.updated_at));
    if (isAgent) fact(facts, "Assigned to", t.assignee ? t.assignee.name : "Nobody");
    if (t.reopen_until) fact(facts, "Can be reopened until", timeEl(t.reopen_until));
    if (t.closes_on) fact(facts, "Closes by itself on", timeEl(t.closes_on));
    if (t.closed && t.closed.at) {
      fact(facts, t.status.name, el("span", {}, [t.closed.by ? "Confirmed by " + t.closed.by + ", " : "By itself, ",
                                            timeEl(t.closed.at)]));
    }
    if (t.sla) {
      if (t.sla.reopened) fact(facts, "Reopened", el("span", { "class": "kbgen-flag kbgen-flag--reopened", text: "Reopened by the customer" }));
      fact(facts, "First response", t.sla.first_response_at ? timeEl(t.sla.first_response_at)
        : t.sla.first_response_due_at ? slaDue(t.sla, t.sla.first_response_due_at, "first_response") : "");
      if (t.sla.resolution_due_at) fact(facts, "Resolution due", slaDue(t.sla, t.sla.resolution_due_at, "resolution"));
      else if (t.sla.resolution_paused_seconds_left !== null) {
        fact(facts, "Resolution", "Paused, " + hoursLeft(t.sla.resolution_paused_seconds_left));
      }
    }
    if (t.related_key) fact(facts, "Follows up", el("a", { href: root + core.page("ticket", { key: t.related_key }), text: t.related_key }));

    var fields = clear(page.querySelector("[data-kbgen-fields]"));
    t.fields.forEach(function (f) {
      fields.appendChild(el("dt", { text: f.label }));
      fields.appendChild(el("dd", { "class": "kbgen-field-value kbgen-field-value--" + f.type, text: f.display }));
    });

    var files = clear(page.querySelector("[data-kbgen-attachments]"));
    attachmentLinks(t.attachments).forEach(function (li) { files.appendChild(li); });
    if (!t.attachments.length) files.appendChild(el("li", { "class": "kbgen-empty", text: "No attachments." }));

    var timeline = clear(page.querySelector("[data-kbgen-timeline]"));
    t.timeline.forEach(function (entry) { timeline.appendChild(timelineEntry(entry)); });
    if (!t.timeline.length) timeline.appendChild(el("li", { "class": "kbgen-empty", text: "No comments yet." }));

    var actions = clear(page.querySelector("[data-kbgen-actions]"));
    t.transitions.forEach(function (move) {
      var button = el("button", { type: "button", "class": "md-button", "data-to": move.to, text: move.action });
      button.addEventListener("click", function () {
        if (move.slug === core.facts.final_status) return confirmClose(page, state, actions, move, t);
        actOn(page, state, button, "POST", "/transitions", { to: move.to });
      });
      actions.appendChild(button);
    });

    var closed = page.querySelector("[data-kbgen-closed]");
    clear(closed);
    closed.hidden = !t.closed;
    if (t.closed) {
      closed.appendChild(el("p", { text: t.closed.detail }));
      closed.appendChild(el("a", { "class": "md-button md-button--primary", href: root + t.closed.new_request_url,
                                  text: "Open a new request about " + t.key }));
    }
    page.querySelector("[data-kbgen-comment]").hidden = !t.can_comment;
    page.querySelector('[data-kbgen-comment] input[name="internal"]').disabled = !t.can_add_internal_note;

    if (isAgent) fillPeople(page.querySelector("[data-kbgen-assign] select"), t.agents, t.assignee ? t.assignee.id : "", 1);
    var priority = page.querySelector("[data-kbgen-priority]");
    priority.hidden = !t.can_change_priority;
    priority.elements.priority.value = t.priority.slug;
    var promise = page.querySelector("[data-kbgen-promise]");
    promise.textContent = t.promise;
    promise.hidden = !t.promise || !!t.closed || t.status.slug === core.facts.final_status;
    announce(page, state, t);
  }

  function slaDue(sla, iso, clock) {
    var parts = ["Due ", timeEl(iso)];
    if (sla.breached.indexOf(clock) !== -1) parts.push(el("span", { "class": "kbgen-flag kbgen-flag--breached", text: "Breached" }));
    else if (sla.due_soon && sla.due_at === iso) parts.push(el("span", { "class": "kbgen-flag kbgen-flag--soon", text: "Due soon" }));
    return el("span", {}, parts);
  }

  function hoursLeft(seconds) {
    var minutes = Math.round(Math.abs(seconds) / 60);
    var text = (minutes >= 60 ? Math.floor(minutes / 60) + " h " : "") + (minutes % 60) + " min";
    return seconds < 0 ? text + " over the target" : text + " of working time left";
  }

  function timelineEntry(entry) {
    var who = entry.author ? entry.author.name : (entry.kind.indexOf("automation") === 0 ? "Automation" : "The support team");
    var head = el("p", { "class": "kbgen-entry-head" }, [el("strong", { text: who }), " ", timeEl(entry.created_at)]);
    var item = el("li", { "class": "kbgen-entry kbgen-entry--" + entry.kind, "data-kind": entry.kind }, [head]);
    if (entry.internal) head.appendChild(el("span", { "class": "kbgen-badge", text: "Internal" }));
    if (entry.kind === "status") {
      item.appendChild(el("p", {}, ["Changed the status from ", el("strong", { text: entry.old_status }),
                                    " to ", el("strong", { text: entry.new_status }), "."]));
    } else {
      if (entry.title) item.appendChild(el("p", { "class": "kbgen-entry-title", text: entry.title }));
      if (entry.html) {
        var body = el("div", { "class": "kbgen-entry-body" });
        body.innerHTML = entry.html;  // rendered and sanitized by the service (kbgen.tickets.render_markdown)
        item.appendChild(body);
      }
    }
    if (entry.attachments && entry.attachments.length) {
      item.appendChild(el("ul", { "class": "kbgen-attachments" }, attachmentLinks(entry.attachments)));
    }
    return item;
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-kbgen-requests]"), function (page) {
      if (page.getAttribute("data-kbgen-requests") === "list") setupList(page);
      else setupTicket(page);
    });
  }

  core.ready(start);
})();
