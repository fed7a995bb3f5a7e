// Application shell: session check, login view, role-aware navigation and
// the hash router (#/providers, #/users, #/apikeys, …).
//
// Views get ctx = { user, isCurrent(), onLeave(fn) }: onLeave handlers run when
// the user navigates away or the session ends (stop timers, abort uploads).

import { api, onUnauthorized } from './api.js';
import { disconnect as disconnectLive } from './live.js';
import { t, translateDom, setPreferences } from './i18n.js';
import { applyUserPreferences, openPreferences, preferencesLabel } from './preferences.js';
import { h, clear, focusEl } from './dom.js';
import { render as renderUsers } from './views/users.js';
import { render as renderApiKeys } from './views/apikeys.js';
import { render as renderWebhooks } from './views/webhooks.js';
import { render as renderProviders } from './views/providers.js';
import { render as renderDialers } from './views/dialers.js';
import { render as renderCampaigns } from './views/campaigns.js';
import { render as renderDialerMonitor } from './views/dialer-monitor.js';
import { render as renderInbox } from './views/inbox.js';
import { render as renderMonitor } from './views/monitor.js';
import { render as renderSearch } from './views/search.js';
import { render as renderSettings } from './views/settings.js';
import { renderUnavailable, renderNoAccess } from './views/placeholder.js';

const ADMIN = 'admin';
const SUPERVISOR = 'supervisor';
const AGENT = 'agent';

// Admins see everything except the agent inbox (they do not take conversations).
// Supervisors see the provider configuration read-only (the API refuses their writes).
const ROUTES = {
  providers: { titleKey: 'nav.providers', roles: [ADMIN, SUPERVISOR], view: renderProviders },
  campaigns: { titleKey: 'nav.campaigns', roles: [ADMIN], view: renderCampaigns },
  dialers: { titleKey: 'nav.dialers', roles: [ADMIN], view: renderDialers },
  users: { titleKey: 'nav.users', roles: [ADMIN], view: renderUsers },
  apikeys: { titleKey: 'nav.apikeys', roles: [ADMIN], view: renderApiKeys },
  webhooks: { titleKey: 'nav.webhooks', roles: [ADMIN], view: renderWebhooks },
  settings: { titleKey: 'nav.settings', roles: [ADMIN], view: renderSettings },
  monitor: { titleKey: 'nav.monitor', roles: [ADMIN, SUPERVISOR], view: renderMonitor },
  'dialer-monitor': { titleKey: 'nav.dialerMonitor', roles: [ADMIN, SUPERVISOR], view: renderDialerMonitor },
  search: { titleKey: 'nav.search', roles: [ADMIN, SUPERVISOR], view: renderSearch },
  inbox: { titleKey: 'nav.inbox', roles: [AGENT], view: renderInbox },
};

const NAV_GROUPS = [
  { titleKey: 'nav.groupAdmin', routes: ['providers', 'campaigns', 'dialers', 'users', 'apikeys', 'webhooks', 'settings'] },
  { titleKey: 'nav.groupSupervision', routes: ['monitor', 'dialer-monitor', 'search'] },
  { titleKey: 'nav.groupAgent', routes: ['inbox'] },
];

const DEFAULT_ROUTE = { [ADMIN]: 'users', [SUPERVISOR]: 'monitor', [AGENT]: 'inbox' };

const els = {
  boot: document.getElementById('boot'),
  login: document.getElementById('login-view'),
  loginForm: document.getElementById('login-form'),
  loginUser: document.getElementById('login-username'),
  loginPass: document.getElementById('login-password'),
  loginSubmit: document.getElementById('login-submit'),
  loginError: document.getElementById('login-error'),
  loginInfo: document.getElementById('login-info'),
  shell: document.getElementById('shell'),
  nav: document.getElementById('sidenav'),
  main: document.getElementById('main'),
  userName: document.getElementById('current-user'),
  userRole: document.getElementById('current-role'),
  logout: document.getElementById('logout-button'),
  preferences: document.getElementById('preferences-button'),
  skip: document.getElementById('skip-link'),
};

let currentUser = null;
let viewToken = 0; // bumps on every render; views check ctx.isCurrent()
let navLinks = new Map();
let leaveHandlers = []; // cleanups registered by the current view (ctx.onLeave)

/** Runs and forgets the current view's cleanups; a failing one does not stop the others. */
function leaveView() {
  const handlers = leaveHandlers;
  leaveHandlers = [];
  for (const fn of handlers) {
    try { fn(); } catch (_) { /* a view's cleanup must not block navigation */ }
  }
}

function canUse(routeName, role) {
  const route = ROUTES[routeName];
  return !!route && route.roles.includes(role);
}

function routeFromHash() {
  const m = /^#\/([a-z-]+)\/?$/.exec(location.hash || '');
  return m ? m[1] : null;
}

// ---- Login view --------------------------------------------------------------

function showLogin(infoKey = null, { keepUsername = false } = {}) {
  leaveView();
  disconnectLive(); // the live connection belongs to the session that ended
  currentUser = null;
  // The sign-in page follows the browser's language, not the last user's.
  if (setPreferences({})) translateDom();
  viewToken += 1;
  clear(els.main);
  clear(els.nav);
  navLinks = new Map();
  els.userName.textContent = '';
  els.userRole.textContent = '';
  els.shell.hidden = true;
  els.boot.hidden = true;
  els.login.hidden = false;
  if (!keepUsername) els.loginUser.value = '';
  els.loginPass.value = '';
  els.loginError.textContent = '';
  els.loginInfo.textContent = infoKey ? t(infoKey) : '';
  els.loginSubmit.disabled = false;
  els.loginSubmit.textContent = t('login.submit');
  document.title = t('app.name');
  (els.loginUser.value ? els.loginPass : els.loginUser).focus();
}

async function submitLogin(ev) {
  ev.preventDefault();
  els.loginError.textContent = '';
  els.loginInfo.textContent = '';
  const username = els.loginUser.value.trim();
  const password = els.loginPass.value;
  if (!username) { els.loginUser.focus(); return; }
  if (!password) { els.loginPass.focus(); return; }
  els.loginSubmit.disabled = true;
  els.loginSubmit.textContent = t('login.submitting');
  try {
    const r = await api.login(username, password);
    els.loginPass.value = '';
    enterShell(r.user);
  } catch (err) {
    let text;
    if (err.status === 401) text = t('login.wrong');
    else if (err.code === 'account_disabled') text = t('login.disabled');
    else if (err.status === 429) {
      text = Number.isFinite(err.retryAfter) && err.retryAfter > 0
        ? t('login.tooMany', { seconds: Math.ceil(err.retryAfter) })
        : t('login.tooManyNoTime');
    } else if (err.code === 'network') text = t('error.network');
    else text = t('login.failed');
    els.loginError.textContent = text;
    els.loginPass.value = '';
    els.loginPass.focus();
  } finally {
    els.loginSubmit.disabled = false;
    els.loginSubmit.textContent = t('login.submit');
  }
}

// ---- Shell ---------------------------------------------------------------------

function buildNav(role) {
  clear(els.nav);
  navLinks = new Map();
  for (const group of NAV_GROUPS) {
    const items = group.routes.filter((name) => canUse(name, role));
    if (items.length === 0) continue;
    const headingId = `nav-group-${group.titleKey.split('.').pop()}`;
    els.nav.append(h('div', { class: 'nav-group' },
      h('h2', { id: headingId, class: 'nav-group-title' }, t(group.titleKey)),
      h('ul', { class: 'nav-list', 'aria-labelledby': headingId },
        items.map((name) => {
          const a = h('a', { href: `#/${name}`, class: 'nav-link', dataset: { testid: `nav-${name}` } }, t(ROUTES[name].titleKey));
          navLinks.set(name, a);
          return h('li', null, a);
        }))));
  }
}

/** Texts of the shell that depend on the user and the language. */
function renderShellChrome(user) {
  translateDom();
  els.userName.textContent = user.displayName || user.username;
  els.userName.title = user.username;
  els.userRole.textContent = t(`role.${user.role}`);
  els.userRole.dataset.role = user.role;
  els.preferences.textContent = preferencesLabel();
  els.preferences.setAttribute('aria-label', `${t('topbar.preferences')}: ${preferencesLabel()}`);
  buildNav(user.role);
}

/** The user saved another language or time zone: redraw everything in it, keeping the session and the page. */
function preferencesSaved(user) {
  if (!currentUser) return;
  currentUser = { ...currentUser, locale: user.locale, timeZone: user.timeZone };
  renderShellChrome(currentUser);
  route(false);
  focusEl(els.preferences);
}

function enterShell(user) {
  currentUser = user;
  applyUserPreferences(user);
  renderShellChrome(user);
  els.boot.hidden = true;
  els.login.hidden = true;
  els.loginInfo.textContent = '';
  els.loginError.textContent = '';
  els.shell.hidden = false;
  const wanted = routeFromHash();
  if (!wanted || !canUse(wanted, user.role)) {
    // After sign-in, land on the role's home rather than a page it cannot use.
    history.replaceState(null, '', `#/${DEFAULT_ROUTE[user.role] || ''}`);
  }
  route(true);
}

function route(focusHeading = true) {
  if (!currentUser) return;
  let name = routeFromHash();
  if (!name || !ROUTES[name]) {
    name = DEFAULT_ROUTE[currentUser.role];
    history.replaceState(null, '', `#/${name}`);
  }
  leaveView();
  viewToken += 1;
  const token = viewToken;
  const ctx = {
    user: currentUser,
    isCurrent: () => token === viewToken && currentUser !== null,
    onLeave: (fn) => { if (token === viewToken) leaveHandlers.push(fn); },
  };

  for (const [n, a] of navLinks) {
    if (n === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }

  const spec = ROUTES[name];
  if (!canUse(name, currentUser.role)) {
    renderNoAccess(els.main);
    document.title = `${t('page.noAccessTitle')} — ${t('app.name')}`;
  } else {
    document.title = `${t(spec.titleKey)} — ${t('app.name')}`;
    if (spec.view) spec.view(els.main, ctx);
    else renderUnavailable(els.main, spec.titleKey);
  }
  els.main.scrollTop = 0;
  if (focusHeading) focusEl(document.getElementById('page-title'));
}

async function logout() {
  els.logout.disabled = true;
  try {
    await api.logout();
  } catch (_) {
    // The session is gone either way from the user's point of view.
  } finally {
    els.logout.disabled = false;
  }
  history.replaceState(null, '', location.pathname + location.search);
  showLogin('login.loggedOut');
}

// ---- Boot ------------------------------------------------------------------------

async function boot() {
  setPreferences({});
  translateDom();
  els.loginForm.addEventListener('submit', submitLogin);
  els.logout.addEventListener('click', logout);
  els.preferences.addEventListener('click', () => { if (currentUser) openPreferences(currentUser, preferencesSaved); });
  els.skip.addEventListener('click', () => focusEl(document.getElementById('page-title') || els.main));
  window.addEventListener('hashchange', () => route(true));
  onUnauthorized(() => {
    // Keep the username so the same person can sign straight back in.
    if (currentUser) {
      const username = currentUser.username;
      showLogin('login.sessionEnded', { keepUsername: true });
      els.loginUser.value = username;
      els.loginPass.focus();
    }
  });

  try {
    const r = await api.me();
    enterShell(r.user);
  } catch (err) {
    showLogin();
    if (err.status !== 401) {
      els.loginError.textContent = err.code === 'network' ? t('error.network') : t('error.generic');
    }
  }
}

boot();
