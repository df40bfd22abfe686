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

  var core = window.kbgen;  // kbgen-core.js
  var el = core.el;
  var root = core.root();
  var mePromise = null;

  function pagePath(name) {
    return new URL(root + core.page(name), location.href).pathname;
  }

  function me() {
    if (!mePromise) {
      var url = core.apiUrl("/api/me");
      mePromise = fetch(url, {
        credentials: core.credentials(url), cache: "no-store", headers: { Accept: "application/json" }
      }).then(function (response) {
        if (response.status === 200) return response.json();
        if (response.status === 401) return null;
        throw new Error("GET /api/me answered " + response.status);
      });
    }
    return mePromise;
  }

  function signOut(account) {
    var url = core.apiUrl("/api/session");
    return fetch(url, {
      method: "DELETE", credentials: core.credentials(url),
      headers: { "X-CSRF-Token": account ? account.csrf_token : "" }
    });
  }

  function renderMenu(container, account) {
    container.textContent = "";
    var onAccountPage = [pagePath("sign_in"), pagePath("sign_out")].indexOf(location.pathname) !== -1;
    if (!account) {
      var signIn = el("a", "kbgen-account__signin", "Sign in");
      var here = location.pathname + location.search + location.hash;
      signIn.href = root + core.signInPage(onAccountPage ? "" : here);
      container.appendChild(signIn);
      return;
    }
    var who = el("span", "kbgen-account__who");
    who.appendChild(el("span", "kbgen-account__name", account.user.name || account.user.email));
    who.appendChild(el("span", "kbgen-account__org", account.organization.name));
    who.title = account.user.email;
    var requests = el("a", "kbgen-account__requests", "Requests");
    requests.href = root + core.page("requests");
    var admin = null;
    if (account.is_admin) {  // the admin pages are the service's own (kbgen.facts SERVICE_PAGES)
      admin = el("a", "kbgen-account__admin", "Admin");
      admin.href = core.apiUrl(core.facts.service_pages.admin_home);
    }
    var out = el("button", "kbgen-account__signout", "Sign out");
    out.type = "button";
    out.addEventListener("click", function () {
      out.disabled = true;
      signOut(account).then(function (response) {
        if (!response.ok) throw new Error("DELETE /api/session answered " + response.status);
        location.reload();
      }).catch(function () {
        location.assign(root + core.page("sign_out"));  // the page's plain form still works
      });
    });
    container.appendChild(who);
    container.appendChild(requests);
    if (admin) container.appendChild(admin);
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
    var next = core.safeNext(new URLSearchParams(location.search).get("next") || "");
    var session = core.apiUrl("/api/session");
    form.elements.next.value = next;
    if (core.meta("kbgen-api")) form.action = session;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      fetch(session, {
        method: "POST", credentials: core.credentials(session),
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
    if (core.meta("kbgen-api")) form.action = core.apiUrl("/api/session/logout");
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
  core.ready(start);
})();
