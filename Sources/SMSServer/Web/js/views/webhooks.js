// Outgoing webhooks page (admin): register URLs for events (the signing secret is shown once),
// edit events / enabled, rotate the secret, send a test event, delete with a confirm step, and
// each webhook's delivery log with its attempts, last answer and a Replay button per delivery.

import { request } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, timeEl, errorText } from '../dom.js';
import { pageHeader, messageArea, secretBox, field, preserveFocus, fillTableBody, deleteControl, focusTestid, listLoader } from '../components.js';

const enc = encodeURIComponent;
const webhookApi = {
  list: () => request('GET', '/webhooks'),
  create: (body) => request('POST', '/webhooks', body),
  update: (id, body) => request('PATCH', `/webhooks/${enc(id)}`, body),
  remove: (id) => request('DELETE', `/webhooks/${enc(id)}`),
  rotate: (id) => request('POST', `/webhooks/${enc(id)}/secret`),
  ping: (id) => request('POST', `/webhooks/${enc(id)}/ping`),
  deliveries: (id, state, beforeId) => {
    const q = new URLSearchParams({ limit: '25' });
    if (state) q.set('state', state);
    if (beforeId) q.set('beforeId', String(beforeId));
    return request('GET', `/webhooks/${enc(id)}/deliveries?${q}`);
  },
  replay: (id, deliveryId) => request('POST', `/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/replay`),
};

const EVENTS = ['message.inbound', 'message.status', 'conversation.closed', 'optout'];
const STATES = ['pending', 'delivered', 'failed'];

export function render(main, ctx) {
  const state = {
    hooks: [], loaded: false, busy: new Set(), confirmDelete: null, confirmRotate: null, editing: null,
    selected: null, deliveries: [], deliveriesLoaded: false, nextBeforeId: null, stateFilter: '',
  };
  const messages = messageArea('webhooks');
  const secret = secretBox();

  // ---- Create / edit form (one form; "editing" switches it) ---------------------------------
  const urlField = field({
    id: 'webhook-url', labelKey: 'webhooks.url', hintKey: 'webhooks.urlHint', testid: 'webhook-url',
    control: h('input', { type: 'url', name: 'url', autocomplete: 'off', maxlength: '2000', placeholder: 'https://', required: true }),
  });
  urlField.control.classList.add('wh-url-input');
  const eventBoxes = EVENTS.map((name) => {
    const id = `webhook-event-${name.replace('.', '-')}`;
    const box = h('input', { type: 'checkbox', id, value: name, dataset: { testid: id } });
    return { name, box, label: h('label', { class: 'check chip', for: id }, box, h('span', null, t(`webhooks.event.${name}`))) };
  });
  const eventsError = h('p', { id: 'webhook-events-error', class: 'field-error', dataset: { testid: 'webhook-events-error' } });
  const eventsGroup = h('fieldset', { class: 'field wh-events', 'aria-describedby': 'webhook-events-hint webhook-events-error' },
    h('legend', null, t('webhooks.events')),
    h('div', { class: 'check-list' }, ...eventBoxes.map((e) => e.label)),
    h('p', { id: 'webhook-events-hint', class: 'field-hint' }, t('webhooks.eventsHint')),
    eventsError);
  const enabledBox = h('input', { type: 'checkbox', id: 'webhook-enabled', checked: true, dataset: { testid: 'webhook-enabled' } });
  const enabledField = h('div', { class: 'field field-check' },
    h('label', { class: 'check', for: 'webhook-enabled' }, enabledBox, h('span', null, t('webhooks.enabled'))));
  const formTitle = h('h2', { id: 'webhook-form-title', class: 'panel-title' }, t('webhooks.createTitle'));
  const formError = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'webhook-form-error' } });
  const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'webhook-submit' } }, t('webhooks.create'));
  const cancelEditBtn = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, dataset: { testid: 'webhook-edit-cancel' },
    onclick: () => stopEditing() }, t('common.cancel'));
  const form = h('form', { id: 'webhook-form', class: 'wh-form', novalidate: true, dataset: { testid: 'webhook-form' } },
    urlField.el, eventsGroup, enabledField, h('div', { class: 'wh-form-actions' }, submitBtn, cancelEditBtn));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    urlField.setError('');
    eventsError.textContent = '';
    formError.textContent = '';
    messages.clear();
    const body = {
      url: urlField.control.value.trim(),
      events: eventBoxes.filter((e) => e.box.checked).map((e) => e.name),
      enabled: enabledBox.checked,
    };
    const editing = state.editing;
    submitBtn.disabled = true;
    try {
      if (editing) {
        const r = await webhookApi.update(editing.id, body);
        if (!ctx.isCurrent()) return;
        upsert(r.webhook);
        messages.ok(t('webhooks.saved', { url: r.webhook.url }));
        stopEditing();
      } else {
        const r = await webhookApi.create(body);
        if (!ctx.isCurrent()) return;
        form.reset();
        enabledBox.checked = true;
        upsert(r.webhook);
        messages.ok(t('webhooks.created', { url: r.webhook.url }));
        secret.show(t('webhooks.secretFor', { url: r.webhook.url }), r.secret, t('webhooks.secretNotice'));
      }
      renderTable();
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      const text = errorText(err);
      if (err.field === 'url') { urlField.setError(text); urlField.control.focus(); }
      else if (err.field === 'events') { eventsError.textContent = text; eventBoxes[0].box.focus(); }
      else formError.textContent = text;
    } finally {
      submitBtn.disabled = false;
    }
  });

  function startEditing(hook) {
    state.editing = hook;
    urlField.control.value = hook.url;
    for (const e of eventBoxes) e.box.checked = hook.events.includes(e.name);
    enabledBox.checked = hook.enabled;
    formTitle.textContent = t('webhooks.editTitle');
    submitBtn.textContent = t('common.save');
    cancelEditBtn.hidden = false;
    form.scrollIntoView({ block: 'nearest' });
    urlField.control.focus();
  }

  function stopEditing() {
    state.editing = null;
    form.reset();
    enabledBox.checked = true;
    urlField.setError('');
    eventsError.textContent = '';
    formTitle.textContent = t('webhooks.createTitle');
    submitBtn.textContent = t('webhooks.create');
    cancelEditBtn.hidden = true;
  }

  // ---- Webhooks table -----------------------------------------------------------------------
  const tbody = h('tbody');
  const table = h('table', { id: 'webhooks-table', class: 'table', dataset: { testid: 'webhooks-table' } },
    h('caption', { class: 'visually-hidden' }, t('webhooks.listTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('webhooks.url')),
      h('th', { scope: 'col' }, t('webhooks.events')),
      h('th', { scope: 'col' }, t('webhooks.colState')),
      h('th', { scope: 'col' }, t('webhooks.colCreated')),
      h('th', { scope: 'col' }, t('common.actions')))),
    tbody);

  // ---- Delivery log -------------------------------------------------------------------------
  const logTitle = h('h2', { id: 'webhook-log-title', class: 'panel-title', dataset: { testid: 'webhook-log-title' } });
  const stateSelect = h('select', { id: 'webhook-log-state', dataset: { testid: 'webhook-log-state' } },
    h('option', { value: '' }, t('webhooks.stateAll')),
    ...STATES.map((s) => h('option', { value: s }, t(`webhooks.state.${s}`))));
  stateSelect.addEventListener('change', () => { state.stateFilter = stateSelect.value; loadDeliveries(false); });
  const logRefresh = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'webhook-log-refresh' },
    onclick: () => loadDeliveries(false) }, t('common.refresh'));
  const logBody = h('tbody');
  const logTable = h('table', { id: 'webhook-log', class: 'table wh-log', dataset: { testid: 'webhook-log' } },
    h('caption', { class: 'visually-hidden' }, t('webhooks.logTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'num' }, t('webhooks.colDelivery')),
      h('th', { scope: 'col' }, t('webhooks.colEvent')),
      h('th', { scope: 'col' }, t('webhooks.colState')),
      h('th', { scope: 'col', class: 'num' }, t('webhooks.colAttempts')),
      h('th', { scope: 'col' }, t('webhooks.colCreated')),
      h('th', { scope: 'col' }, t('webhooks.colLastAttempt')),
      h('th', { scope: 'col' }, t('webhooks.colResponse')),
      h('th', { scope: 'col' }, t('common.actions')))),
    logBody);
  const moreBtn = h('button', { type: 'button', class: 'btn btn-small', hidden: true, dataset: { testid: 'webhook-log-more' },
    onclick: () => loadDeliveries(true) }, t('webhooks.more'));
  const logPanel = h('section', { class: 'panel', hidden: true, 'aria-labelledby': 'webhook-log-title', dataset: { testid: 'webhook-log-panel' } },
    h('div', { class: 'panel-head' }, logTitle,
      h('div', { class: 'cell-actions' },
        h('label', { for: 'webhook-log-state' }, t('webhooks.filterState')), stateSelect, logRefresh)),
    h('div', { class: 'table-wrap' }, logTable),
    h('div', { class: 'pager' }, moreBtn));

  clear(main).append(
    pageHeader('webhooks.title'),
    h('p', { class: 'page-intro muted' }, t('webhooks.intro')),
    messages.el,
    secret.el,
    h('section', { class: 'panel', 'aria-labelledby': 'webhook-form-title' }, formTitle, form, formError),
    h('section', { class: 'panel', 'aria-labelledby': 'webhooks-list-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'webhooks-list-title', class: 'panel-title' }, t('webhooks.listTitle')),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'webhooks-refresh' }, onclick: () => load() },
          t('common.refresh'))),
      h('div', { class: 'table-wrap' }, table)),
    logPanel,
  );

  function upsert(hook) {
    const i = state.hooks.findIndex((x) => x.id === hook.id);
    if (i >= 0) state.hooks[i] = hook;
    else state.hooks.push(hook);
  }

  function renderTable() {
    preserveFocus(main, () => fillTableBody(tbody, {
      loaded: state.loaded, items: state.hooks, columns: 5, emptyText: t('webhooks.empty'),
      testids: { empty: 'webhooks-empty' }, row,
    }));
  }

  function row(hook) {
    const busy = state.busy.has(hook.id);
    const actions = [];
    if (state.confirmRotate === hook.id) {
      actions.push(h('div', { class: 'confirm-inline', role: 'group', 'aria-label': t('webhooks.rotate') },
        h('span', { class: 'confirm-text' }, t('webhooks.confirmRotate')),
        h('button', { type: 'button', class: 'btn btn-small btn-danger', disabled: busy, dataset: { testid: `webhook-rotate-confirm-${hook.id}` },
          onclick: () => rotate(hook) }, t('webhooks.rotate')),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: `webhook-rotate-cancel-${hook.id}` },
          onclick: () => { state.confirmRotate = null; renderTable(); focusTestid(main, `webhook-rotate-${hook.id}`); } }, t('common.cancel'))));
    } else {
      actions.push(
        h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `webhook-deliveries-${hook.id}` },
          'aria-label': `${t('webhooks.deliveries')}: ${hook.url}`, onclick: () => select(hook) }, t('webhooks.deliveries')),
        h('button', { type: 'button', class: 'btn btn-small', disabled: busy, dataset: { testid: `webhook-ping-${hook.id}` },
          'aria-label': `${t('webhooks.ping')}: ${hook.url}`, onclick: () => ping(hook) }, t('webhooks.ping')),
        h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `webhook-edit-${hook.id}` },
          'aria-label': `${t('webhooks.edit')}: ${hook.url}`, onclick: () => startEditing(hook) }, t('webhooks.edit')),
        h('button', { type: 'button', class: 'btn btn-small', disabled: busy, dataset: { testid: `webhook-rotate-${hook.id}` },
          'aria-label': `${t('webhooks.rotate')}: ${hook.url}`,
          onclick: () => { state.confirmRotate = hook.id; state.confirmDelete = null; renderTable(); focusTestid(main, `webhook-rotate-cancel-${hook.id}`); } },
        t('webhooks.rotate')),
        deleteControl({
          prefix: 'webhook', id: hook.id, label: t('webhooks.delete'), confirmText: t('webhooks.confirmDelete'), name: hook.url, busy,
          confirming: state.confirmDelete === hook.id,
          onAsk: () => { state.confirmDelete = hook.id; state.confirmRotate = null; renderTable(); focusTestid(main, `webhook-delete-cancel-${hook.id}`); },
          onCancel: () => { state.confirmDelete = null; renderTable(); focusTestid(main, `webhook-delete-${hook.id}`); },
          onConfirm: () => remove(hook),
        }));
    }
    return h('tr', {
      class: [hook.enabled ? null : 'row-disabled', state.selected === hook.id ? 'row-selected' : null].filter(Boolean).join(' ') || null,
      dataset: { testid: `webhook-row-${hook.id}`, url: hook.url },
    },
    h('td', { class: 'td-wrap' }, h('span', { class: 'mono wh-url' }, hook.url)),
    h('td', { class: 'td-wrap' }, h('div', { class: 'wh-event-list' },
      ...hook.events.map((e) => h('span', { class: 'role-badge', dataset: { testid: `webhook-${hook.id}-event` } }, t(`webhooks.event.${e}`))))),
    h('td', null, h('span', { class: `status-badge ${hook.enabled ? 'status-on' : 'status-off'}`, dataset: { testid: `webhook-enabled-${hook.id}` } },
      t(hook.enabled ? 'webhooks.on' : 'webhooks.off'))),
    h('td', null, timeEl(hook.createdAt)),
    h('td', { class: 'td-wrap' }, h('div', { class: 'cell-actions wh-actions' }, ...actions)));
  }

  async function withBusy(hook, work) {
    state.busy.add(hook.id);
    renderTable();
    messages.clear();
    try {
      await work();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.busy.delete(hook.id);
      if (ctx.isCurrent()) renderTable();
    }
  }

  function ping(hook) {
    return withBusy(hook, async () => {
      await webhookApi.ping(hook.id);
      if (!ctx.isCurrent()) return;
      messages.ok(t('webhooks.pinged', { url: hook.url }));
      if (state.selected === hook.id) setTimeout(() => { if (ctx.isCurrent()) loadDeliveries(false); }, 1000);
      else select(hook);
    });
  }

  function rotate(hook) {
    return withBusy(hook, async () => {
      const r = await webhookApi.rotate(hook.id);
      if (!ctx.isCurrent()) return;
      state.confirmRotate = null;
      messages.ok(t('webhooks.rotated', { url: hook.url }));
      secret.show(t('webhooks.secretFor', { url: hook.url }), r.secret, t('webhooks.secretNotice'));
    });
  }

  function remove(hook) {
    return withBusy(hook, async () => {
      await webhookApi.remove(hook.id);
      if (!ctx.isCurrent()) return;
      state.confirmDelete = null;
      state.hooks = state.hooks.filter((x) => x.id !== hook.id);
      if (state.selected === hook.id) { state.selected = null; logPanel.hidden = true; }
      if (state.editing && state.editing.id === hook.id) stopEditing();
      messages.ok(t('webhooks.deleted', { url: hook.url }));
    });
  }

  function select(hook) {
    state.selected = hook.id;
    logTitle.textContent = t('webhooks.logFor', { url: hook.url });
    logPanel.hidden = false;
    renderTable();
    loadDeliveries(false);
    logPanel.scrollIntoView({ block: 'nearest' });
  }

  // ---- Delivery log rows --------------------------------------------------------------------
  function renderLog() {
    preserveFocus(main, () => fillTableBody(logBody, {
      loaded: state.deliveriesLoaded, items: state.deliveries, columns: 8, emptyText: t('webhooks.logEmpty'),
      testids: { empty: 'webhook-log-empty' }, row: deliveryRow,
    }));
    moreBtn.hidden = !state.nextBeforeId;
  }

  function lastAnswer(d) {
    if (d.lastStatus != null) return `${d.lastStatus}${d.lastResponse ? ` · ${d.lastResponse}` : ''}`;
    if (d.lastError) return d.lastError;
    return null;
  }

  function deliveryRow(d) {
    const answer = lastAnswer(d);
    const stateClass = d.state === 'delivered' ? 'status-on' : d.state === 'failed' ? 'status-failed' : 'status-off';
    const attempts = (d.attemptLog || []).map((a) => h('li', null,
      timeEl(a.at), ' — ',
      a.status != null ? t('webhooks.attemptStatus', { status: a.status, ms: a.durationMs })
        : t('webhooks.attemptError', { error: a.error || '', ms: a.durationMs }),
      a.response ? h('pre', { class: 'wh-pre' }, a.response) : null));
    const details = h('details', { class: 'wh-details', dataset: { testid: `delivery-details-${d.id}` } },
      h('summary', null, t('webhooks.details')),
      h('h3', { class: 'wh-sub' }, t('webhooks.payload')),
      h('pre', { class: 'wh-pre', dataset: { testid: `delivery-payload-${d.id}` } }, prettyJSON(d.payload)),
      h('h3', { class: 'wh-sub' }, t('webhooks.attemptLog')),
      attempts.length ? h('ol', { class: 'wh-attempts' }, ...attempts) : h('p', { class: 'muted' }, t('webhooks.noAttempts')),
      d.state === 'pending' && d.nextAttemptAt ? h('p', null, t('webhooks.nextAttempt'), ' ', timeEl(d.nextAttemptAt)) : null);
    return h('tr', { dataset: { testid: `delivery-row-${d.id}`, state: d.state, event: d.event } },
      h('td', { class: 'num mono' }, String(d.id)),
      h('td', null, h('span', { class: 'mono' }, d.event)),
      h('td', null, h('span', { class: `status-badge ${stateClass}`, dataset: { testid: `delivery-state-${d.id}` } }, t(`webhooks.state.${d.state}`))),
      h('td', { class: 'num', dataset: { testid: `delivery-attempts-${d.id}` } }, String(d.attempts)),
      h('td', null, timeEl(d.createdAt)),
      h('td', null, timeEl(d.lastAttemptAt, 'webhooks.notYet')),
      h('td', { class: 'td-wrap wh-answer' },
        h('span', { class: 'mono', dataset: { testid: `delivery-response-${d.id}` } }, answer || t('webhooks.notYet')),
        details),
      h('td', null, h('button', {
        type: 'button', class: 'btn btn-small', dataset: { testid: `delivery-replay-${d.id}` },
        'aria-label': `${t('webhooks.replay')}: ${d.id}`, onclick: (ev) => replay(d, ev.currentTarget),
      }, t('webhooks.replay'))));
  }

  function prettyJSON(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (_) { return text; }
  }

  async function replay(d, button) {
    button.disabled = true;
    messages.clear();
    try {
      await webhookApi.replay(d.webhookId, d.id);
      if (!ctx.isCurrent()) return;
      messages.ok(t('webhooks.replayed', { id: d.id }));
      const i = state.deliveries.findIndex((x) => x.id === d.id);
      if (i >= 0) state.deliveries[i] = { ...d, state: 'pending' };
      renderLog();
      setTimeout(() => { if (ctx.isCurrent()) loadDeliveries(false); }, 1500);
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
      button.disabled = false;
    }
  }

  let logSeq = 0;
  async function loadDeliveries(more) {
    const hookId = state.selected;
    if (!hookId) return;
    const seq = ++logSeq;
    if (!more) { state.deliveriesLoaded = state.deliveriesLoaded && state.deliveries.length > 0 && state.deliveries[0].webhookId === hookId; }
    logTable.setAttribute('aria-busy', 'true');
    try {
      const r = await webhookApi.deliveries(hookId, state.stateFilter, more ? state.nextBeforeId : null);
      if (!ctx.isCurrent() || seq !== logSeq || hookId !== state.selected) return;
      state.deliveries = more ? state.deliveries.concat(r.deliveries) : r.deliveries;
      state.nextBeforeId = r.nextBeforeId || null;
      state.deliveriesLoaded = true;
      renderLog();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      if (seq === logSeq) logTable.setAttribute('aria-busy', 'false');
    }
  }

  const load = listLoader({
    table,
    ctx,
    messages,
    fetch: () => webhookApi.list(),
    apply: (r) => {
      state.hooks = (r && r.webhooks) || [];
      state.loaded = true;
      renderTable();
    },
  });

  renderTable();
  renderLog();
  load();
}
