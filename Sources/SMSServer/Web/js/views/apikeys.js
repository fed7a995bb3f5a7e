// API keys page (admin): list, create (key shown once), revoke with a confirm step.

import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, timeEl, errorText } from '../dom.js';
import { pageHeader, messageArea, secretBox, field, preserveFocus, listLoader } from '../components.js';

export function render(main, ctx) {
  const state = { keys: [], loaded: false, busy: new Set(), confirmRevoke: null };
  const messages = messageArea('apikeys');
  const secret = secretBox();
  let shownKeyId = null; // key whose secret is in the one-time box

  // ---- Create form ---------------------------------------------------------
  const nameField = field({
    id: 'new-apikey-name', labelKey: 'apikeys.name', hintKey: 'apikeys.nameHint', testid: 'new-apikey-name',
    control: h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '100', required: true }),
  });
  const formError = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'create-apikey-error' } });
  const createBtn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'create-apikey-submit', dataset: { testid: 'create-apikey-submit' } }, t('apikeys.create'));
  const form = h('form', { id: 'apikey-create-form', class: 'inline-form', novalidate: true, dataset: { testid: 'apikey-create-form' } },
    nameField.el, h('div', { class: 'field field-action' }, createBtn));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    nameField.setError('');
    formError.textContent = '';
    messages.clear();
    const name = nameField.control.value.trim();
    createBtn.disabled = true;
    createBtn.textContent = t('apikeys.creating');
    try {
      const r = await api.createApiKey(name);
      if (!ctx.isCurrent()) return;
      form.reset();
      messages.ok(t('apikeys.created', { name: r.apiKey.name }));
      secret.show(t('secret.apiKeyFor', { name: r.apiKey.name }), r.key, t('secret.apiKeyNotice'));
      shownKeyId = r.apiKey.id;
      upsert(r.apiKey);
      renderTable();
      load();
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      const text = errorText(err);
      if (err.field === 'name') {
        nameField.setError(text);
        nameField.control.focus();
      } else {
        formError.textContent = text;
      }
    } finally {
      createBtn.disabled = false;
      createBtn.textContent = t('apikeys.create');
    }
  });

  // ---- Table ---------------------------------------------------------------
  const tbody = h('tbody');
  const table = h('table', { id: 'apikeys-table', class: 'table', dataset: { testid: 'apikeys-table' } },
    h('caption', { class: 'visually-hidden' }, t('apikeys.listTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('apikeys.colName')),
      h('th', { scope: 'col' }, t('apikeys.colPrefix')),
      h('th', { scope: 'col' }, t('apikeys.colCreated')),
      h('th', { scope: 'col' }, t('apikeys.colLastUsed')),
      h('th', { scope: 'col' }, t('apikeys.colRevoked')),
      h('th', { scope: 'col' }, t('common.actions')))),
    tbody);
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'apikeys-refresh' }, onclick: () => load() }, t('common.refresh'));

  clear(main).append(
    pageHeader('apikeys.title'),
    messages.el,
    secret.el,
    h('section', { class: 'panel', 'aria-labelledby': 'create-apikey-title' },
      h('h2', { id: 'create-apikey-title', class: 'panel-title' }, t('apikeys.createTitle')),
      form, formError),
    h('section', { class: 'panel', 'aria-labelledby': 'apikeys-list-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'apikeys-list-title', class: 'panel-title' }, t('apikeys.listTitle')),
        refreshBtn),
      h('div', { class: 'table-wrap' }, table)),
  );

  function upsert(key) {
    const i = state.keys.findIndex((k) => k.id === key.id);
    if (i >= 0) state.keys[i] = key;
    else state.keys.push(key);
  }

  function renderTable() {
    preserveFocus(main, () => {
      clear(tbody);
      if (!state.loaded) {
        tbody.append(h('tr', null, h('td', { colspan: '6', class: 'muted' }, t('common.loading'))));
        return;
      }
      if (state.keys.length === 0) {
        tbody.append(h('tr', null, h('td', { colspan: '6', class: 'muted' }, t('apikeys.empty'))));
        return;
      }
      for (const k of state.keys) tbody.append(row(k));
    });
  }

  function row(k) {
    const busy = state.busy.has(k.id);
    const revoked = !!k.revokedAt;
    let actions = null;
    if (!revoked && state.confirmRevoke === k.id) {
      actions = h('div', { class: 'confirm-inline', role: 'group', 'aria-label': t('apikeys.revoke') },
        h('span', { class: 'confirm-text' }, t('apikeys.confirmRevoke', { name: k.name })),
        h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { testid: `revoke-confirm-${k.id}` }, disabled: busy, onclick: () => revoke(k) }, t('apikeys.revoke')),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: `revoke-cancel-${k.id}` }, onclick: () => { state.confirmRevoke = null; renderTable(); focusTestid(`revoke-${k.id}`); } }, t('common.cancel')));
    } else if (!revoked) {
      actions = h('button', {
        type: 'button', class: 'btn btn-small', dataset: { testid: `revoke-${k.id}` }, disabled: busy,
        'aria-label': `${t('apikeys.revoke')}: ${k.name}`,
        onclick: () => { state.confirmRevoke = k.id; renderTable(); focusTestid(`revoke-cancel-${k.id}`); },
      }, t('apikeys.revoke'));
    }
    return h('tr', { class: revoked ? 'row-disabled' : null, dataset: { testid: `apikey-row-${k.id}`, name: k.name, revoked: String(revoked) } },
      h('td', null, k.name),
      h('td', null, h('span', { class: 'mono' }, k.prefix)),
      h('td', null, timeEl(k.createdAt)),
      h('td', null, timeEl(k.lastUsedAt, 'common.never')),
      h('td', { dataset: { testid: `apikey-revoked-${k.id}` } }, revoked ? timeEl(k.revokedAt)
        : h('span', { class: 'status-badge status-on' }, t('apikeys.active'))),
      h('td', { class: 'cell-wrap' }, actions));
  }

  function focusTestid(testid) {
    const el = main.querySelector(`[data-testid="${CSS.escape(testid)}"]`);
    if (el) el.focus();
  }

  async function revoke(k) {
    state.busy.add(k.id);
    renderTable();
    messages.clear();
    try {
      await api.revokeApiKey(k.id);
      if (!ctx.isCurrent()) return;
      state.confirmRevoke = null;
      if (shownKeyId === k.id) { secret.hide(); shownKeyId = null; } // no point keeping a dead key on screen
      upsert({ ...k, revokedAt: new Date().toISOString() }); // until the refresh below lands
      messages.ok(t('apikeys.revoked', { name: k.name }));
      load();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.busy.delete(k.id);
      if (ctx.isCurrent()) renderTable();
    }
  }

  const load = listLoader({
    table,
    ctx,
    messages,
    fetch: () => api.listApiKeys(),
    apply: (r) => {
      state.keys = (r && r.apiKeys) || [];
      state.loaded = true;
      renderTable();
    },
  });

  renderTable();
  load();
}
