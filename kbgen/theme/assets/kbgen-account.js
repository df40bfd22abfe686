/* The account menu in the header, and the sign-in / sign-out forms made smoother.
 *
 * Talks to the service at <meta name="kbgen-api"> + /api/... (empty: this origin).
 * Links are relative to <meta name="kbgen-root">, so the site works under a sub-path.
 * Other scripts may reuse the answer of GET /api/me: window.kbgenAccount.me() is a
 * Promise of {user, organization, csrf_token} or null, and "kbgen:account" fires on
 * document with the same value as event.detail.
 */
(function () {
  "use strict";

  function meta(name) {
    var tag = document.querySelector('meta[name="' + name + '"]');
    return tag ? tag.getAttribute("content") || "" : "";
  }

  var root = meta("kbgen-root") || "./";
  var api = meta("kbgen-api").replace(/\/+$/, "");
  // Cookies go to another origin only when the site names one (it then answers with CORS).
  var credentials = api ? "include" : "same-origin";
  var mePromise = null;

  function apiUrl(path) {
    return api + path;
  }

  // The same rule as the service's safe_next: a path on this site, nothing that could leave it.
  function safeNext(value) {
    if (typeof value !== "string" || value.length > 2000 || value.charAt(0) !== "/") return "";
    if (value.charAt(1) === "/" || value.indexOf("\\") !== -1 || /[\u0000-\u001f\u007f]/.test(value)) return "";
    return value;
  }

  function pagePath(relative) {
    return new URL(root + relative, location.href).pathname;
  }

  function me() {
    if (!mePromise) {
      mePromise = fetch(apiUrl("/api/me"), {
        credentials: credentials, cache: "no-store", headers: { Accept: "application/json" }
      }).then(function (response) {
        if (response.status === 200) return response.json();
        if (response.status === 401) return null;
        throw new Error("GET /api/me answered " + response.status);
      });
    }
    return mePromise;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;  // never innerHTML: names come from people
    return node;
  }

  function signOut(account) {
    return fetch(apiUrl("/api/session"), {
      method: "DELETE", credentials: credentials,
      headers: { "X-CSRF-Token": account ? account.csrf_token : "" }
    });
  }

  function renderMenu(container, account) {
    container.textContent = "";
    var onAccountPage = [pagePath("login/"), pagePath("logout/")].indexOf(location.pathname) !== -1;
    if (!account) {
      var signIn = element("a", "kbgen-account__signin", "Sign in");
      var here = location.pathname + location.search + location.hash;
      signIn.href = root + "login/" + (onAccountPage ? "" : "?next=" + encodeURIComponent(here));
      container.appendChild(signIn);
      return;
    }
    var who = element("span", "kbgen-account__who");
    who.appendChild(element("span", "kbgen-account__name", account.user.name || account.user.email));
    who.appendChild(element("span", "kbgen-account__org", account.organization.name));
    who.title = account.user.email;
    var requests = element("a", "kbgen-account__requests", "Requests");
    requests.href = root + "requests/";
    var out = element("button", "kbgen-account__signout", "Sign out");
    out.type = "button";
    out.addEventListener("click", function () {
      out.disabled = true;
      signOut(account).then(function (response) {
        if (!response.ok) throw new Error("DELETE /api/session answered " + response.status);
        location.reload();
      }).catch(function () {
        location.assign(root + "logout/");  // the page's plain form still works
      });
    });
    container.appendChild(who);
    container.appendChild(requests);
    container.appendChild(out);
  }

  function showError(form, text) {
    var live = document.querySelector("[data-kbgen-login-error]");
    if (!live) return;
    document.querySelectorAll(".kbgen-account-message:not([data-kbgen-login-error])").forEach(function (old) {
      old.classList.add("kbgen-account-message--stale");  // a no-JS redirect's message, now outdated
    });
    live.textContent = text;
    live.hidden = false;
  }

  function setupLogin(form) {
    var next = safeNext(new URLSearchParams(location.search).get("next") || "");
    form.elements.next.value = next;
    if (api) form.action = apiUrl("/api/session");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      fetch(apiUrl("/api/session"), {
        method: "POST", credentials: credentials,
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ email: form.elements.email.value, password: form.elements.password.value })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.status === 200) {
            location.assign(next || root);
            return;
          }
          showError(form, body.detail || "Sign-in failed. Try again.");
          form.elements.password.value = "";
          form.elements.password.focus();
          button.disabled = false;
        });
      }).catch(function () {
        showError(form, "The portal service did not answer. Try again in a moment.");
        button.disabled = false;
      });
    });
  }

  function setupLogout(form) {
    if (api) form.action = apiUrl("/api/session/logout");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      me().then(signOut).then(function () {
        location.assign(root);
      }).catch(function () {
        form.submit();
      });
    });
  }

  function start() {
    document.querySelectorAll("form[data-kbgen-login]").forEach(setupLogin);
    document.querySelectorAll("form[data-kbgen-logout]").forEach(setupLogout);
    var menus = document.querySelectorAll("[data-kbgen-account]");
    me().then(function (account) {
      menus.forEach(function (menu) { renderMenu(menu, account); });
      document.dispatchEvent(new CustomEvent("kbgen:account", { detail: account }));
    }).catch(function () {
      // The service is unreachable (a static preview): the menu stays empty rather than lie.
      document.dispatchEvent(new CustomEvent("kbgen:account", { detail: null }));
    });
  }

  window.kbgenAccount = { me: me, signOut: function () { return me().then(signOut); } };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
