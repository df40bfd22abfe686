/* kbgen ticket forms (pages made by kbgen/site/pages/support.py).
 *
 * The forms work without this script: they post multipart to the intake and
 * every field is shown. This adds: fields that show only when they apply,
 * inline errors that keep what the customer typed, a submission that survives
 * retries (idempotency key), and knowledge base suggestions for the summary.
 * The script is loaded on every page and does nothing where there is no form.
 */
(function () {
  "use strict";

  var SUGGEST_DELAY_MS = 350;
  var SUGGEST_MIN_CHARS = 3;

  var core = window.kbgen;  // kbgen-core.js
  var siteRoot = core.siteRoot, apiUrl = core.apiUrl;

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // randomUUID needs a secure context; an intranet portal on plain http still deserves unique keys.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // A URL the server gave us, relative to the site root; anything else could send the customer off-site.
  function sitePath(form, url) {
    if (typeof url !== "string" || /^[a-z][a-z0-9+.\-]*:|^\/\/|^\\/i.test(url)) return null;
    return siteRoot(form) + url.replace(/^\/+/, "");
  }

  function controls(wrapper) {
    return wrapper.querySelectorAll("input, select, textarea");
  }

  /* ---------------------------------------------------------------- show_if */

  function currentValues(wrapper) {
    var values = [];
    Array.prototype.forEach.call(controls(wrapper), function (el) {
      if (el.type === "checkbox") {
        if (wrapper.classList.contains("kbgen-field--consent")) values.push(el.checked ? "true" : "false");
        else if (el.checked) values.push(el.value);
      } else if (el.value) {
        values.push(el.value);
      }
    });
    return values;
  }

  function setShown(wrapper, shown) {
    wrapper.hidden = !shown;
    Array.prototype.forEach.call(controls(wrapper), function (el) {
      // Disabled controls are neither validated by the browser nor sent: hidden answers are not stored.
      el.disabled = !shown;
      if (el.getAttribute("data-required") === "true") el.required = shown;
    });
    if (!shown) clearFieldError(wrapper);
  }

  function refreshConditions(form) {
    // Definitions only refer to earlier fields, so one pass in document order settles chains.
    Array.prototype.forEach.call(form.querySelectorAll("[data-show-field]"), function (wrapper) {
      var source = fieldWrapper(form, wrapper.getAttribute("data-show-field"));
      var wanted = JSON.parse(wrapper.getAttribute("data-show-values") || "[]");
      var shown = !!source && !source.hidden && currentValues(source).some(function (v) {
        return wanted.indexOf(v) !== -1;
      });
      setShown(wrapper, shown);
    });
  }

  function fieldWrapper(form, name) {
    var all = form.querySelectorAll("[data-field]");
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-field") === name) return all[i];
    return null;
  }

  /* ---------------------------------------------------------------- errors */

  function errorSlot(form, field) {
    var all = form.querySelectorAll("[data-error-for]");
    for (var i = 0; i < all.length; i++) if (all[i].getAttribute("data-error-for") === field) return all[i];
    return null;
  }

  function clearFieldError(wrapper) {
    var slot = wrapper.querySelector("[data-error-for]");
    if (slot) slot.textContent = "";
    wrapper.classList.remove("kbgen-field--invalid");
    Array.prototype.forEach.call(controls(wrapper), function (el) { el.removeAttribute("aria-invalid"); });
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), clearFieldError);
    var summary = form.querySelector("[data-kbgen-error-summary]");
    summary.hidden = true;
    summary.querySelector("ul").textContent = "";
    Array.prototype.forEach.call(summary.querySelectorAll(".kbgen-error-message"), function (p) { p.remove(); });
  }

  // errors: [{field, message}] with field names as in the inputs ("fields.version", "priority").
  function showErrors(form, errors, intro) {
    clearErrors(form);
    var summary = form.querySelector("[data-kbgen-error-summary]");
    var list = summary.querySelector("ul");
    if (intro) {
      var p = document.createElement("p");
      p.className = "kbgen-error-message";
      p.textContent = intro;
      list.parentNode.insertBefore(p, list);
    }
    errors.forEach(function (error) {
      var message = String(error.message || "");
      var slot = errorSlot(form, String(error.field || ""));
      var item = document.createElement("li");
      var wrapper = slot && slot.closest("[data-field]");
      if (slot && wrapper && !wrapper.hidden) {
        slot.textContent = message;
        wrapper.classList.add("kbgen-field--invalid");
        var first = null;
        Array.prototype.forEach.call(controls(wrapper), function (el) {
          el.setAttribute("aria-invalid", "true");
          first = first || el;
        });
        var link = document.createElement("a");
        link.href = "#" + (first ? first.id : slot.id);
        link.textContent = (wrapper.getAttribute("data-label") || "") + ": " + message;
        link.addEventListener("click", function (ev) {
          if (first) { ev.preventDefault(); first.focus(); }
        });
        item.appendChild(link);
      } else {
        item.textContent = message;
      }
      list.appendChild(item);
    });
    summary.hidden = false;
    summary.focus();
  }

  // A message in the summary box that is not about one field (sign in, too large, service down).
  function showProblem(form, nodes) {
    clearErrors(form);
    var summary = form.querySelector("[data-kbgen-error-summary]");
    var p = document.createElement("p");
    p.className = "kbgen-error-message";
    nodes.forEach(function (n) { p.appendChild(typeof n === "string" ? document.createTextNode(n) : n); });
    summary.insertBefore(p, summary.querySelector("ul"));
    summary.hidden = false;
    summary.focus();
  }

  function browserErrors(form) {
    var errors = [];
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (wrapper) {
      if (wrapper.hidden) return;
      var slot = wrapper.querySelector("[data-error-for]");
      if (!slot) return;
      var field = slot.getAttribute("data-error-for");
      var message = "";
      if (wrapper.tagName === "FIELDSET") {
        var ticked = wrapper.querySelectorAll("input:checked").length;
        if (wrapper.getAttribute("data-required") === "true" && !ticked) message = "Choose at least one option.";
      } else {
        Array.prototype.forEach.call(controls(wrapper), function (el) {
          if (message || el.disabled || el.validity.valid) return;
          message = el.validity.patternMismatch && el.getAttribute("data-pattern-message")
            ? el.getAttribute("data-pattern-message") : el.validationMessage;
        });
        var files = wrapper.querySelector('input[type="file"]');
        if (!message && files && files.files) {
          var max = parseInt(files.getAttribute("data-max-files") || "0", 10);
          var maxBytes = parseInt(files.getAttribute("data-max-bytes") || "0", 10);
          if (max && files.files.length > max) message = "Attach at most " + max + " file(s) here.";
          Array.prototype.forEach.call(files.files, function (f) {
            if (!message && maxBytes && f.size > maxBytes) {
              message = "“" + f.name + "” is larger than " + Math.round(maxBytes / 1048576) + " MB.";
            }
          });
        }
      }
      if (message) errors.push({ field: field, message: message });
    });
    return errors;
  }

  /* ---------------------------------------------------------------- submitting */

  function setBusy(form, busy) {
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = busy;
    var status = form.querySelector("[data-kbgen-status]");
    if (status) {
      status.hidden = !busy;
      status.textContent = busy ? "Sending your request…" : "";
    }
  }

  function submit(form, ev) {
    ev.preventDefault();
    if (form.getAttribute("data-kbgen-busy")) return;
    refreshConditions(form);
    var problems = browserErrors(form);
    if (problems.length) { showErrors(form, problems); return; }
    clearErrors(form);

    var data = new FormData(form);
    // A file input with nothing chosen still adds an empty part; the intake should not see it.
    Array.prototype.forEach.call(form.querySelectorAll('input[type="file"]'), function (el) {
      if (!el.disabled && el.files && !el.files.length) data.delete(el.name);
    });
    form.setAttribute("data-kbgen-busy", "1");
    setBusy(form, true);
    core.request("POST", "/api/tickets", data).then(function (answer) {
      if (answer.status === 0) throw answer;  // no answer at all
      handleResponse(form, answer.status, answer.data || {});
    }).catch(function () {
      showProblem(form, ["We could not reach the support service. Your answers are still here: try again in a moment."]);
    }).then(function () {
      form.removeAttribute("data-kbgen-busy");
      setBusy(form, false);
    });
  }

  /* ---------------------------------------------------------------- drafts and signing in */

  // What a visitor typed survives the sign-in round trip (and a reload) in this tab's sessionStorage,
  // keyed by the form's address; files cannot be kept, and the notice says so. Cleared once sent.
  var DRAFT_PREFIX = "kbgen-draft:";

  function draftKey() {
    return DRAFT_PREFIX + window.location.pathname;
  }

  function saveDraft(form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (control) {
      if (!control.name || control.type === "file" || control.type === "hidden" || control.disabled) return;
      if (control.type === "checkbox" || control.type === "radio") {
        if (control.checked) (values[control.name] = values[control.name] || []).push(control.value);
      } else if (control.value) {
        values[control.name] = [control.value];
      }
    });
    try { sessionStorage.setItem(draftKey(), JSON.stringify(values)); } catch (e) { /* storage full or off */ }
  }

  function restoreDraft(form) {
    var values;
    try { values = JSON.parse(sessionStorage.getItem(draftKey()) || "null"); } catch (e) { values = null; }
    if (!values || typeof values !== "object") return false;
    Array.prototype.forEach.call(form.elements, function (control) {
      var saved = values[control.name];
      if (!control.name || !Array.isArray(saved) || control.type === "file" || control.type === "hidden") return;
      if (control.type === "checkbox" || control.type === "radio") control.checked = saved.indexOf(control.value) !== -1;
      else control.value = String(saved[0]);
    });
    return true;
  }

  function forgetDraft() {
    try { sessionStorage.removeItem(draftKey()); } catch (e) { /* nothing to forget */ }
  }

  function signInLink(form) {
    var link = document.createElement("a");
    link.href = siteRoot(form) + core.signInPage(window.location.pathname + window.location.search);
    link.textContent = "Sign in";
    link.addEventListener("click", function () { saveDraft(form); });
    return link;
  }

  // Before anyone types: a signed-out visitor learns that sending needs an account.
  function announceSignIn(form) {
    var account = window.kbgenAccount;
    if (!account) return;
    account.me().then(function (me) {
      if (me) return;
      var note = form.querySelector("[data-kbgen-signin-note]");
      if (!note) return;
      note.textContent = "";
      note.appendChild(document.createTextNode("You need to sign in to send a request. "));
      note.appendChild(signInLink(form));
      note.appendChild(document.createTextNode(" now, or when you send it: what you type here is kept (attached " +
                                               "files need choosing again)."));
      note.hidden = false;
    }).catch(function () { /* the service cannot be reached: the send will say so */ });
  }

  function handleResponse(form, status, body) {
    if (status === 201 || status === 200) {
      forgetDraft();
      var target = sitePath(form, body.url) ||
        (body.key ? siteRoot(form) + core.page("ticket", { key: body.key }) : siteRoot(form));
      window.location.assign(target);
      return;
    }
    if (status === 401) {
      saveDraft(form);
      var link = signInLink(form);
      link.textContent = "Please sign in";
      showProblem(form, [link, " to send your request. What you typed is kept and comes back after signing in " +
                               "(attached files need choosing again)."]);
      return;
    }
    if (status === 422 && Array.isArray(body.errors) && body.errors.length) {
      showErrors(form, body.errors, typeof body.detail === "string" ? body.detail : "");
      return;
    }
    if (status === 413) {
      showProblem(form, [typeof body.detail === "string" && body.detail ? body.detail
        : "The request is too large: attach fewer or smaller files."]);
      return;
    }
    var detail = typeof body.detail === "string" && body.detail ? body.detail : "";
    showProblem(form, [(detail || "The support service could not take your request (error " + status + ").") +
      " Your answers are still here."]);
  }

  /* ---------------------------------------------------------------- suggestions */

  // The snippet is HTML from the search API with <mark> around matches; keep only text and <mark>.
  function snippetNodes(html) {
    var template = document.createElement("template");
    template.innerHTML = String(html || "");
    var out = document.createDocumentFragment();
    Array.prototype.forEach.call(template.content.childNodes, function (node) {
      if (node.nodeType === 1 && node.tagName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.appendChild(mark);
      } else {
        out.appendChild(document.createTextNode(node.textContent));
      }
    });
    return out;
  }

  function setupSuggestions(form) {
    var input = form.querySelector('[name="fields.summary"]');
    var box = form.querySelector("[data-kbgen-suggestions]");
    if (!input || !box) return;
    var list = box.querySelector("ul");
    var timer = null, seq = 0, controller = null;

    function hide() { box.hidden = true; list.textContent = ""; }

    function show(results) {
      list.textContent = "";
      results.slice(0, 3).forEach(function (r) {
        var href = sitePath(form, r && r.url);
        if (!href || !r.title) return;
        var item = document.createElement("li");
        var a = document.createElement("a");
        a.href = href;
        a.target = "_blank";  // the form stays open with everything typed
        a.rel = "noopener";
        a.textContent = String(r.title);
        item.appendChild(a);
        if (r.section) {
          var section = document.createElement("span");
          section.className = "kbgen-suggestion-section";
          section.textContent = String(r.section);
          item.appendChild(section);
        }
        if (r.snippet) {
          var p = document.createElement("p");
          p.appendChild(snippetNodes(r.snippet));
          item.appendChild(p);
        }
        list.appendChild(item);
      });
      box.hidden = !list.children.length;
    }

    function lookup() {
      var q = input.value.trim();
      var mine = ++seq;
      if (controller) controller.abort();
      if (q.length < SUGGEST_MIN_CHARS) { hide(); return; }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var params = new URLSearchParams({ q: q, product: form.getAttribute("data-product") || "", limit: "3" });
      var url = apiUrl("/api/search?" + params.toString());
      fetch(url, {
        headers: { "Accept": "application/json" },
        credentials: core.credentials(url),
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok) throw new Error("search answered " + response.status);
        return response.json();
      }).then(function (body) {
        if (mine === seq) show(body && Array.isArray(body.results) ? body.results : []);
      }).catch(function () {
        if (mine === seq) hide();  // service down or not deployed: say nothing rather than something broken
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, SUGGEST_DELAY_MS);
    });
  }

  /* ---------------------------------------------------------------- follow-ups */

  // "Open a new request" on a closed one links to support/<product>/?related=XC-42.
  function relatedKey() {
    var key = new URLSearchParams(window.location.search).get("related") || "";
    return core.isKey(key) ? key.toUpperCase() : "";
  }

  function carryRelated(nav) {
    var key = relatedKey();
    if (!key || nav.getAttribute("data-kbgen-ready")) return;
    nav.setAttribute("data-kbgen-ready", "1");
    Array.prototype.forEach.call(nav.querySelectorAll("a[href]"), function (a) {
      var url = new URL(a.getAttribute("href"), window.location.href);
      url.searchParams.set("related", key);
      a.href = url.href;
    });
  }

  function showRelated(form) {
    var key = relatedKey();
    var input = form.querySelector("[data-kbgen-related]");
    var note = form.querySelector("[data-kbgen-related-note]");
    if (!key || !input) return;
    input.value = key;
    if (note) {
      note.textContent = "This request follows up " + key + ".";
      note.hidden = false;
    }
  }

  /* ---------------------------------------------------------------- organizations */

  // A partner of several organizations picks the request's organization (GET /api/me lists them).
  function offerOrganizations(form) {
    var wrapper = form.querySelector("[data-kbgen-organization]");
    var account = window.kbgenAccount;
    if (!wrapper || !account) return;
    account.me().then(function (me) {
      var orgs = me && Array.isArray(me.organizations) ? me.organizations : [];
      if (orgs.length < 2) return;
      var select = wrapper.querySelector("select");
      select.textContent = "";
      var choose = document.createElement("option");
      choose.value = "";
      choose.textContent = "Choose…";
      select.appendChild(choose);
      orgs.forEach(function (org) {
        var option = document.createElement("option");
        option.value = String(org.id);
        option.textContent = org.name;
        select.appendChild(option);
      });
      select.required = true;
      select.disabled = false;
      wrapper.hidden = false;
    }).catch(function () { /* signed out or no service: the form says so on submit */ });
  }

  /* ---------------------------------------------------------------- start */

  function setup(form) {
    if (form.getAttribute("data-kbgen-ready")) return;
    form.setAttribute("data-kbgen-ready", "1");
    form.classList.add("kbgen-form--js");
    form.noValidate = true;  // errors are shown inline and in the summary, the same way as the server's
    form.action = apiUrl("/api/tickets");
    var key = form.querySelector('input[name="idempotency_key"]');
    if (key && !key.value) key.value = uuid();  // kept for retries of this page, so one ticket is created
    showRelated(form);
    offerOrganizations(form);
    restoreDraft(form);
    announceSignIn(form);
    refreshConditions(form);
    form.addEventListener("change", function () { refreshConditions(form); });
    form.addEventListener("change", function () { saveDraft(form); });
    form.addEventListener("input", function (ev) {
      var wrapper = ev.target.closest && ev.target.closest("[data-field]");
      if (wrapper && wrapper.classList.contains("kbgen-field--invalid")) clearFieldError(wrapper);
    });
    form.addEventListener("submit", function (ev) { submit(form, ev); });
    setupSuggestions(form);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-kbgen-form]"), setup);
    Array.prototype.forEach.call(document.querySelectorAll("[data-kbgen-request-types]"), carryRelated);
  }

  // Material's instant navigation swaps pages without a reload and announces each one on document$.
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(start);
  core.ready(start);
})();
