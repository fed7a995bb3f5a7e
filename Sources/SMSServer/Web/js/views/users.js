// Users page (admin): list, create, change role, disable/enable,
// reset password, end sessions, set a user's UI language and time zone, and allow supervisors to
// watch an agent's screen (SPEC S3 monitor screen).

import { api } from '../api.js';
import { t, LANGUAGES } from '../i18n.js';
import { validTimeZone, zoneDatalist } from '../schedule.js';
import { h, clear, timeEl, errorText } from '../dom.js';
import { pageHeader, messageArea, secretBox, field, preserveFocus, listLoader } from '../components.js';

const ROLES = ['admin', 'supervisor', 'agent'];

export function render(main, ctx) {
  const state = {
    users: [],
    loaded: false,
    busy: new Set(),        // user ids with a request in flight
    confirmReset: null,     // user id awaiting reset confirmation
    roleDraft: new Map(),   // user id -> role chosen in the select, not yet saved
  };

  const messages = messageArea('users');
  const secret = secretBox();

  // ---- Create form ---------------------------------------------------------
  const usernameField = field({
    id: 'new-username', labelKey: 'users.username', hintKey: 'users.usernameHint', testid: 'new-username',
    control: h('input', { type: 'text', name: 'username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '32', required: true }),
  });
  const displayNameField = field({
    id: 'new-displayname', labelKey: 'users.displayName', optional: true, testid: 'new-displayname',
    control: h('input', { type: 'text', name: 'displayName', autocomplete: 'off', maxlength: '100' }),
  });
  const roleSelect = h('select', { name: 'role' },
    ROLES.map((r) => h('option', { value: r, selected: r === 'agent' }, t(`role.${r}`))));
  const roleField = field({ id: 'new-role', labelKey: 'users.role', control: roleSelect, testid: 'new-role' });
  const formError = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'create-user-error' } });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'create-user-submit', dataset: { testid: 'create-user-submit' } }, t('users.create'));
  const fields = { username: usernameField, displayName: displayNameField, role: roleField };

  const form = h('form', { id: 'user-create-form', class: 'inline-form', novalidate: true, dataset: { testid: 'user-create-form' } },
    usernameField.el, displayNameField.el, roleField.el,
    h('div', { class: 'field field-action' }, createBtn));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const f of Object.values(fields)) f.setError('');
    formError.textContent = '';
    messages.clear();
    const username = usernameField.control.value.trim();
    const displayName = displayNameField.control.value.trim();
    const role = roleSelect.value;
    const body = { username, role };
    if (displayName) body.displayName = displayName;
    createBtn.disabled = true;
    createBtn.textContent = t('users.creating');
    try {
      const r = await api.createUser(body);
      if (!ctx.isCurrent()) return;
      form.reset();
      roleSelect.value = 'agent';
      messages.ok(t('users.created', { username: r.user.username }));
      secret.show(t('secret.passwordFor', { username: r.user.username }), r.password);
      upsert(r.user);
      renderTable();
      load(); // authoritative refresh
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      let text = errorText(err);
      if (err.code === 'conflict' && (!err.field || err.field === 'username')) text = t('users.usernameTaken');
      const target = err.field && fields[err.field];
      if (target) {
        target.setError(text);
        target.control.focus();
      } else {
        formError.textContent = text;
      }
    } finally {
      createBtn.disabled = false;
      createBtn.textContent = t('users.create');
    }
  });

  // ---- Table ---------------------------------------------------------------
  const tbody = h('tbody');
  const table = h('table', { id: 'users-table', class: 'table', dataset: { testid: 'users-table' } },
    h('caption', { class: 'visually-hidden' }, t('users.listTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('users.colUsername')),
      h('th', { scope: 'col' }, t('users.colDisplayName')),
      h('th', { scope: 'col' }, t('users.colRole')),
      h('th', { scope: 'col' }, t('users.colStatus')),
      h('th', { scope: 'col' }, t('users.colPreferences')),
      h('th', { scope: 'col' }, t('users.colCreated')),
      h('th', { scope: 'col' }, t('common.actions')))),
    tbody);
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'users-refresh' }, onclick: () => load() }, t('common.refresh'));

  clear(main).append(
    pageHeader('users.title'),
    messages.el,
    secret.el,
    h('section', { class: 'panel', 'aria-labelledby': 'create-user-title' },
      h('h2', { id: 'create-user-title', class: 'panel-title' }, t('users.createTitle')),
      form, formError),
    h('section', { class: 'panel', 'aria-labelledby': 'users-list-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'users-list-title', class: 'panel-title' }, t('users.listTitle')),
        refreshBtn),
      h('div', { class: 'table-wrap' }, table),
      zoneDatalist('users-tz-list')),
  );

  function upsert(user) {
    const i = state.users.findIndex((u) => u.id === user.id);
    if (i >= 0) state.users[i] = user;
    else state.users.push(user);
  }

  function renderTable() {
    preserveFocus(main, () => {
      clear(tbody);
      if (!state.loaded) {
        tbody.append(h('tr', null, h('td', { colspan: '7', class: 'muted' }, t('common.loading'))));
        return;
      }
      if (state.users.length === 0) {
        tbody.append(h('tr', null, h('td', { colspan: '7', class: 'muted' }, t('users.empty'))));
        return;
      }
      for (const u of state.users) tbody.append(row(u));
    });
  }

  function row(u) {
    const isSelf = ctx.user && ctx.user.id === u.id;
    const busy = state.busy.has(u.id);
    const name = u.username;

    let roleCell;
    if (isSelf) {
      roleCell = h('span', { class: 'role-badge', dataset: { testid: `role-text-${name}` } }, t(`role.${u.role}`));
    } else {
      const draft = state.roleDraft.has(u.id) ? state.roleDraft.get(u.id) : u.role;
      const select = h('select', {
        class: 'select-small', 'aria-label': t('users.roleFor', { username: name }),
        dataset: { testid: `role-select-${name}` }, disabled: busy,
      }, ROLES.map((r) => h('option', { value: r, selected: r === draft }, t(`role.${r}`))));
      const save = h('button', {
        type: 'button', class: 'btn btn-small', dataset: { testid: `role-save-${name}` },
        disabled: busy || draft === u.role, 'aria-label': `${t('users.saveRole')}: ${name}`,
      }, t('common.save'));
      select.addEventListener('change', () => {
        if (select.value === u.role) state.roleDraft.delete(u.id);
        else state.roleDraft.set(u.id, select.value);
        save.disabled = select.value === u.role;
      });
      save.addEventListener('click', () => changeRole(u, select.value));
      roleCell = h('div', { class: 'cell-inline' }, select, save);
    }

    let actions;
    if (state.confirmReset === u.id) {
      actions = h('div', { class: 'confirm-inline', role: 'group', 'aria-label': t('users.resetPassword') },
        h('span', { class: 'confirm-text' }, t('users.confirmReset', { username: name })),
        h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { testid: `reset-confirm-${name}` }, disabled: busy, onclick: () => resetPassword(u) }, t('users.resetPassword')),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: `reset-cancel-${name}` }, onclick: () => { state.confirmReset = null; renderTable(); } }, t('common.cancel')));
    } else {
      actions = h('div', { class: 'cell-actions' },
        isSelf ? null : h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: `toggle-disabled-${name}` }, disabled: busy,
          'aria-label': `${u.disabled ? t('users.enable') : t('users.disable')}: ${name}`,
          onclick: () => setDisabled(u, !u.disabled),
        }, u.disabled ? t('users.enable') : t('users.disable')),
        h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: `reset-password-${name}` }, disabled: busy,
          'aria-label': `${t('users.resetPassword')}: ${name}`,
          onclick: () => { state.confirmReset = u.id; renderTable(); focusTestid(`reset-confirm-${name}`); },
        }, t('users.resetPassword')),
        h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: `end-sessions-${name}` }, disabled: busy,
          'aria-label': `${t('users.endSessions')}: ${name}`,
          onclick: () => endSessions(u),
        }, t('users.endSessions')));
    }

    return h('tr', { class: u.disabled ? 'row-disabled' : null, dataset: { testid: `user-row-${name}`, username: name, role: u.role, disabled: String(!!u.disabled) } },
      h('td', null, h('span', { class: 'mono' }, name), isSelf ? h('span', { class: 'muted' }, ' ', t('common.you')) : null),
      h('td', null, u.displayName || h('span', { class: 'muted' }, t('common.none'))),
      h('td', null, roleCell),
      h('td', null, h('span', {
        class: u.disabled ? 'status-badge status-off' : 'status-badge status-on',
        dataset: { testid: `user-status-${name}` },
      }, u.disabled ? t('users.statusDisabled') : t('users.statusActive')),
      u.role === 'agent' ? monitorScreenToggle(u, busy) : null),
      h('td', null, preferencesCell(u, isSelf, busy)),
      h('td', null, timeEl(u.createdAt)),
      h('td', { class: 'cell-wrap' }, actions));
  }

  /** Agents only: whether supervisors may watch this agent's screen live. */
  function monitorScreenToggle(u, busy) {
    const box = h('input', { type: 'checkbox', checked: !!u.monitorScreenAllowed, disabled: busy,
      dataset: { testid: `monitor-screen-${u.username}` },
      onchange: () => setMonitorScreen(u, box.checked) });
    return h('label', { class: 'checkbox-inline users-monitor-screen' }, box, ' ', t('users.monitorScreen'));
  }

  /** The user's UI language and time zone; empty: their browser's. Your own are set in the top bar. */
  function preferencesCell(u, isSelf, busy) {
    const name = u.username;
    const languageName = (code) => (LANGUAGES.find((l) => l.code === code) || { name: code }).name;
    if (isSelf) {
      const text = !u.locale && !u.timeZone ? t('users.browserDefault')
        : `${u.locale ? languageName(u.locale) : t('users.browserDefault')} · ${u.timeZone || t('users.browserDefault')}`;
      return h('span', { class: 'muted', dataset: { testid: `prefs-text-${name}` } }, text);
    }
    const language = h('select', {
      class: 'select-small', 'aria-label': t('users.languageFor', { username: name }),
      dataset: { testid: `locale-select-${name}` }, disabled: busy,
    }, h('option', { value: '', selected: !u.locale }, t('users.browserDefault')),
    LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code, selected: u.locale === l.code }, l.name)));
    language.addEventListener('change', () => savePreferences(u, { locale: language.value || null }));
    const zone = h('input', {
      type: 'text', class: 'input-small', list: 'users-tz-list', autocomplete: 'off', spellcheck: 'false',
      value: u.timeZone || '', placeholder: t('users.browserDefault'), disabled: busy,
      'aria-label': t('users.timeZoneFor', { username: name }), dataset: { testid: `timezone-input-${name}` },
    });
    zone.addEventListener('change', () => {
      const value = zone.value.trim();
      if (value && !validTimeZone(value)) {
        messages.fail(t('users.timeZoneInvalid', { zone: value }));
        return;
      }
      savePreferences(u, { timeZone: value || null });
    });
    return h('div', { class: 'cell-inline' }, language, zone);
  }

  function savePreferences(u, changes) {
    return withBusy(u, async () => {
      const r = await api.updateUser(u.id, changes);
      upsert(r.user);
      messages.ok(t('users.preferencesSaved', { username: r.user.username }));
    });
  }

  function focusTestid(testid) {
    const el = main.querySelector(`[data-testid="${CSS.escape(testid)}"]`);
    if (el) el.focus();
  }

  async function withBusy(u, fn) {
    // Controls are disabled while busy, which drops focus; remember where it was.
    const active = document.activeElement;
    const focusKey = active && main.contains(active) ? active.dataset.testid : null;
    state.busy.add(u.id);
    renderTable();
    messages.clear();
    try {
      await fn();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.busy.delete(u.id);
      if (ctx.isCurrent()) {
        renderTable();
        const secretShown = document.activeElement && document.activeElement.dataset.testid === 'secret-copy';
        if (focusKey && !secretShown) focusTestid(focusKey);
      }
    }
  }

  function changeRole(u, role) {
    return withBusy(u, async () => {
      const r = await api.updateUser(u.id, { role });
      state.roleDraft.delete(u.id);
      upsert(r.user);
      messages.ok(t('users.roleSaved', { username: r.user.username, role: t(`role.${r.user.role}`) }));
    });
  }

  function setDisabled(u, disabled) {
    return withBusy(u, async () => {
      const r = await api.updateUser(u.id, { disabled });
      upsert(r.user);
      messages.ok(t(r.user.disabled ? 'users.disabled' : 'users.enabled', { username: r.user.username }));
    });
  }

  function setMonitorScreen(u, monitorScreenAllowed) {
    return withBusy(u, async () => {
      const r = await api.updateUser(u.id, { monitorScreenAllowed });
      upsert(r.user);
      messages.ok(t(r.user.monitorScreenAllowed ? 'users.monitorScreenOn' : 'users.monitorScreenOff', { username: r.user.username }));
    });
  }

  function resetPassword(u) {
    return withBusy(u, async () => {
      const r = await api.resetPassword(u.id);
      state.confirmReset = null;
      messages.ok(t('users.passwordReset', { username: u.username }));
      secret.show(t('secret.passwordFor', { username: u.username }), r.password);
    });
  }

  function endSessions(u) {
    return withBusy(u, async () => {
      await api.endSessions(u.id);
      messages.ok(t('users.sessionsEnded', { username: u.username }));
    });
  }

  const load = listLoader({
    table,
    ctx,
    messages,
    fetch: () => api.listUsers(),
    apply: (r) => {
      state.users = (r && r.users) || [];
      state.loaded = true;
      renderTable();
    },
  });

  renderTable();
  load();
}
