/* kbgen-core.js: what every kbgen script shares, as window.kbgen.
 *
 * Loaded after assets/kbgen-facts.js (the portal's facts, written by the build from kbgen/facts.py)
 * and before kbgen-account.js, kbgen-search.js, kbgen-forms.js and kbgen-requests.js, which use it.
 * The site's root is <meta name="kbgen-root"> (the site may live under a sub-path), or a
 * data-kbgen-root / data-base attribute around the node a script works on; the service's URL
 * prefix is <meta name="kbgen-api"> (empty: this origin).
 */
(function () {
  "use strict";

  var facts = window.kbgenFacts;
  if (!facts) throw new Error("assets/kbgen-facts.js did not load before kbgen-core.js; rebuild the site");
  var keyPattern = new RegExp("^(?:" + facts.key_pattern + ")$");
  var nextPattern = new RegExp("^(?:" + facts.next_pattern + ")$");

  function meta(name) {
    var tag = document.querySelector('meta[name="' + name + '"]');
    return tag ? tag.getAttribute("content") || "" : "";
  }

  // The site's root as the page writes it ("../../"): for links, which then stay relative.
  function root(node) {
    var holder = node && node.closest ? node.closest("[data-kbgen-root], [data-base]") : null;
    var base = holder ? holder.getAttribute("data-kbgen-root") || holder.getAttribute("data-base") : "";
    return base || meta("kbgen-root") || "./";
  }

  // The same root as an absolute URL ending in "/".
  function siteRoot(node) {
    return new URL(root(node), location.href).href;
  }

  // A page of the site relative to its root, from facts.pages: page("ticket", {key: "XC-42"}).
  function page(name, parts) {
    var template = facts.pages[name];
    if (template === undefined) throw new Error("no page named " + name + " in kbgen-facts.js");
    return template.replace(/\{(\w+)\}/g, function (_, part) { return encodeURIComponent((parts || {})[part]); });
  }

  // The sign-in page, coming back to `next` (a path on this site) once signed in.
  function signInPage(next) {
    return page("sign_in") + (next ? "?next=" + encodeURIComponent(next) : "");
  }

  function apiUrl(path) {
    return meta("kbgen-api").trim().replace(/\/+$/, "") + path;
  }

  function crossOrigin(url) {
    return new URL(url, location.href).origin !== location.origin;
  }

  // Cookies go to another origin only when the site names one (it then answers with CORS).
  function credentials(url) {
    return crossOrigin(url) ? "include" : "same-origin";
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  /* el("span", "kbgen-hit__title", title) is short for el("span", {"class": "kbgen-hit__title", text: title}).
   * Text is always set as text, never as HTML: names, titles and summaries come from people. */
  function el(tag, attrs, children) {
    if (typeof attrs === "string") {
      attrs = { "class": attrs || null, text: children };
      children = [];
    }
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // The service's own rule (kbgen.facts.safe_next): a path on this site, nothing that could leave it.
  function safeNext(value) {
    return typeof value === "string" && nextPattern.test(value) ? value : "";
  }

  function isKey(value) {
    return typeof value === "string" && keyPattern.test(value);
  }

  function literally(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  // The key in a ticket page's address (…/requests/XC-42/ by facts.pages.ticket), as written; "" if none.
  function keyInPath(pathname) {
    var around = facts.pages.ticket.split("{key}");
    var match = pathname.match(new RegExp("/" + literally(around[0]) + "([^/]+)" +
                                          literally(around[1].replace(/\/$/, "")) + "/?(?:index\\.html)?$"));
    return match ? decodeURIComponent(match[1]) : "";
  }

  function isSupportTeam(viewer) {
    return !!viewer && facts.support_roles.indexOf(viewer.role) !== -1;
  }

  // A JSON call to the service: resolves to {status, ok, data}; status 0 when it cannot be reached.
  function request(method, path, body) {
    var url = apiUrl(path);
    var headers = { "Accept": "application/json" };
    var options = { method: method, headers: headers, credentials: credentials(url) };
    if (method !== "GET") {
      var token = cookie(facts.csrf_cookie);
      if (token) headers["X-CSRF-Token"] = token;
      if (body instanceof FormData) {
        options.body = body;
      } else if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, ok: response.ok, data: data };
      });
    }, function () {
      return { status: 0, ok: false, data: {} };
    });
  }

  // One date format everywhere: "6 Dec 2026, 14:05" in the viewer's time zone, the UTC time on hover.
  function formatDate(iso) {
    var date = new Date(iso);
    if (!iso || isNaN(date.getTime())) return iso || "";
    return date.toLocaleString(undefined, { day: "numeric", month: "short", year: "numeric", hour: "2-digit",
                                            minute: "2-digit" });
  }

  function timeEl(iso) {
    var date = new Date(iso);
    var utc = isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    return el("time", { datetime: iso || "", title: utc, text: formatDate(iso) });
  }

  function ready(start) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }

  window.kbgen = {
    facts: facts, meta: meta, root: root, siteRoot: siteRoot, page: page, signInPage: signInPage,
    apiUrl: apiUrl, crossOrigin: crossOrigin, credentials: credentials, cookie: cookie, el: el,
    safeNext: safeNext, isKey: isKey, keyInPath: keyInPath, isSupportTeam: isSupportTeam, request: request, ready: ready,
    formatDate: formatDate, timeEl: timeEl
  };
})();
