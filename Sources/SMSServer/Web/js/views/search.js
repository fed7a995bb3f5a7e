// Conversation search, the "recordings" of SPEC S4, for admins and supervisors.
//
// Filters: a date range in the browser's days ("To" includes the whole day; a conversation matches
// when one of its messages is in the range), part of the client number, campaign and agent. Results
// are conversations newest first, a page at a time (Older / Newer follow the API's nextBeforeId).
// Opening one shows its whole thread read-only, each outgoing message with its delivery state (sent,
// delivered, failed with the reason). "Export CSV" downloads every conversation the filters on screen
// match, one row per message. Supervisors see only the campaigns an admin assigned them to: the
// server enforces it, and the campaign list shows only those.

import { request } from '../api.js';
import { t } from '../i18n.js';
import { formatDate, startOfDay, isoSeconds } from '../format.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, field, fillTableBody, timeElement } from '../components.js';

const PAGE = 50;
const COLUMNS = 8;
const enc = encodeURIComponent;
const searchApi = {
  campaigns: () => request('GET', '/campaigns'),
  search: (query) => request('GET', `/search/conversations?${query}`),
  conversation: (id) => request('GET', `/conversations/${enc(id)}`),
};

function stateLabel(state) {
  return t(`search.state.${state}`);
}

function messageStateLabel(state) {
  return t(`inbox.msgState.${state}`);
}

export function render(main, ctx) {
  const isSupervisor = ctx.user.role === 'supervisor';

  // ---- Filters ---------------------------------------------------------------------------------
  const fromField = field({ id: 'search-from', labelKey: 'search.from', testid: 'search-from', control: h('input', { type: 'date', name: 'from' }) });
  const toField = field({ id: 'search-to', labelKey: 'search.to', testid: 'search-to', control: h('input', { type: 'date', name: 'to' }) });
  const numberField = field({
    id: 'search-number', labelKey: 'search.number', hintKey: 'search.numberHint', testid: 'search-number',
    control: h('input', { type: 'text', name: 'number', autocomplete: 'off', inputmode: 'tel', spellcheck: 'false', class: 'input-mono', maxlength: '32' }),
  });
  const campaignSelect = h('select', { name: 'campaignId' },
    h('option', { value: '' }, t(isSupervisor ? 'search.allMyCampaigns' : 'search.allCampaigns')));
  const campaignField = field({ id: 'search-campaign', labelKey: 'search.campaign', control: campaignSelect, testid: 'search-campaign' });
  const agentSelect = h('select', { name: 'agentId' }, h('option', { value: '' }, t('search.anyAgent')));
  const agentField = field({ id: 'search-agent', labelKey: 'search.agent', control: agentSelect, testid: 'search-agent' });
  const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'search-submit' } }, t('search.submit'));
  const resetBtn = h('button', { type: 'button', class: 'btn btn-ghost', dataset: { testid: 'search-reset' } }, t('search.reset'));
  const exportLink = h('a', {
    class: 'btn', href: '/api/v1/search/conversations.csv', download: 'conversations.csv', dataset: { testid: 'search-export' },
  }, t('search.export'));
  const form = h('form', { class: 'report-form', novalidate: true, 'aria-label': t('search.filters'), dataset: { testid: 'search-form' } },
    h('div', { class: 'report-filters' }, fromField.el, toField.el, numberField.el, campaignField.el, agentField.el),
    h('div', { class: 'form-actions' }, submitBtn, resetBtn, exportLink));
  const scopeNote = h('p', { class: 'notice notice-info search-scope-note', dataset: { testid: 'search-scope-note' } });
  const filtersPanel = h('section', { class: 'panel', 'aria-label': t('search.filters') }, scopeNote, form,
    h('p', { class: 'panel-hint search-export-hint' }, t('search.exportHint')));

  // ---- Results ---------------------------------------------------------------------------------
  const resultsTitle = h('h2', { id: 'search-results-title', class: 'panel-title', tabindex: '-1' }, t('search.results'));
  const error = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'search-error' } });
  const tbody = h('tbody');
  const table = h('table', { class: 'table report-table search-table', 'aria-busy': 'true', 'aria-labelledby': resultsTitle.id, dataset: { testid: 'search-table' } },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('search.colLastActivity')),
      h('th', { scope: 'col' }, t('search.colOpened')),
      h('th', { scope: 'col' }, t('search.colCampaign')),
      h('th', { scope: 'col' }, t('search.colNumber')),
      h('th', { scope: 'col' }, t('search.colAgent')),
      h('th', { scope: 'col' }, t('search.colState')),
      h('th', { scope: 'col' }, t('search.colLastMessage')),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('common.actions'))))),
    tbody);
  const newerBtn = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { testid: 'search-newer' } }, t('search.newer'));
  const olderBtn = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { testid: 'search-older' } }, t('search.older'));
  const pageLabel = h('span', { class: 'muted', dataset: { testid: 'search-page' } });
  const resultsPanel = h('section', { class: 'panel', 'aria-labelledby': resultsTitle.id, dataset: { testid: 'search-results' } },
    h('div', { class: 'panel-head' }, resultsTitle),
    error,
    h('div', { class: 'table-wrap' }, table),
    h('div', { class: 'pager' }, newerBtn, pageLabel, olderBtn));

  // ---- Thread (read-only) -------------------------------------------------------------------------
  const threadPanel = h('section', { class: 'panel search-thread', hidden: true, 'aria-labelledby': 'search-thread-title', dataset: { testid: 'search-thread' } });

  clear(main).append(pageHeader('search.title'), filtersPanel, resultsPanel, threadPanel);

  // ---- State -----------------------------------------------------------------------------------
  let applied = null; // the filters the table shows
  let cursors = [null]; // beforeId of each page seen
  let nextBefore = null;
  let seq = 0;
  let threadSeq = 0;
  let openedFrom = null; // the Open button to return to

  function filtersFromForm() {
    const from = startOfDay(fromField.control.value);
    const to = startOfDay(toField.control.value, 1); // "To" includes the whole day
    return {
      from: from ? isoSeconds(from) : '',
      to: to ? isoSeconds(to) : '',
      number: numberField.control.value.trim(),
      campaignId: campaignSelect.value,
      agentId: agentSelect.value,
    };
  }

  function query(f, extra = {}) {
    const p = new URLSearchParams();
    for (const key of ['from', 'to', 'number', 'campaignId', 'agentId']) if (f[key]) p.set(key, f[key]);
    for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) p.set(k, String(v));
    return p.toString();
  }

  function updateExport() {
    const q = query(filtersFromForm());
    exportLink.href = `/api/v1/search/conversations.csv${q ? `?${q}` : ''}`;
  }

  /** Checks the form; shows each problem by its field. */
  function validForm() {
    fromField.setError('');
    toField.setError('');
    numberField.setError('');
    let ok = true;
    const from = fromField.control.value;
    const to = toField.control.value;
    if (fromField.control.validity && fromField.control.validity.badInput) { fromField.setError(t('search.badDate')); ok = false; }
    if (toField.control.validity && toField.control.validity.badInput) { toField.setError(t('search.badDate')); ok = false; }
    if (from && to && from > to) { toField.setError(t('search.toBeforeFrom')); ok = false; }
    const number = numberField.control.value.trim();
    if (number && !/[0-9A-Za-z]/.test(number)) { numberField.setError(t('search.numberDigits')); ok = false; }
    return ok;
  }

  function firstInvalid() {
    return [fromField, toField, numberField].find((f) => f.control.getAttribute('aria-invalid') === 'true');
  }

  /** A server validation error shown on its field; false when the error names no field of the form. */
  function showFieldError(err) {
    const byField = { from: fromField, to: toField, number: numberField, campaignId: campaignField, agentId: agentField };
    const target = err && err.field ? byField[err.field] : null;
    if (!target) return false;
    target.setError(errorText(err));
    focusEl(target.control);
    return true;
  }

  form.addEventListener('input', updateExport);
  form.addEventListener('change', updateExport);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!validForm()) { focusEl(firstInvalid().control); return; }
    applied = filtersFromForm();
    cursors = [null];
    closeThread(false);
    load();
  });
  resetBtn.addEventListener('click', () => {
    for (const f of [fromField, toField, numberField]) f.control.value = '';
    campaignSelect.value = '';
    agentSelect.value = '';
    for (const f of [fromField, toField, numberField, campaignField, agentField]) f.setError('');
    updateExport();
    applied = filtersFromForm();
    cursors = [null];
    closeThread(false);
    load();
  });
  exportLink.addEventListener('click', (ev) => {
    if (!validForm()) { ev.preventDefault(); focusEl(firstInvalid().control); }
  });
  olderBtn.addEventListener('click', () => {
    if (nextBefore === null) return;
    cursors.push(nextBefore);
    load(olderBtn);
  });
  newerBtn.addEventListener('click', () => {
    if (cursors.length <= 1) return;
    cursors.pop();
    load(newerBtn);
  });

  // ---- Results table ---------------------------------------------------------------------------------
  function row(c) {
    const last = c.lastMessage;
    const openBtn = h('button', {
      type: 'button', class: 'btn btn-small', 'aria-label': t('search.openLabel', { number: c.clientNumber }),
      dataset: { testid: `search-open-${c.id}` },
    }, t('search.open'));
    openBtn.addEventListener('click', () => openThread(c.id, openBtn));
    return h('tr', { dataset: { testid: `search-row-${c.id}`, id: String(c.id) } },
      h('td', null, timeElement(c.lastActivityAt)),
      h('td', null, timeElement(c.openedAt)),
      h('td', null, c.campaignName),
      h('td', { class: 'mono', dataset: { testid: `search-client-${c.id}` } }, c.clientNumber),
      h('td', null, c.agentName || h('span', { class: 'muted' }, t('common.none'))),
      h('td', null, h('span', { class: `pill pill-${c.state}` }, stateLabel(c.state))),
      h('td', null, last ? h('span', { class: 'cell-text', title: last.text }, last.text) : h('span', { class: 'muted' }, t('common.none'))),
      h('td', null, openBtn));
  }

  async function load(focusAfter = null) {
    if (!applied) applied = filtersFromForm();
    const mySeq = ++seq;
    const before = cursors[cursors.length - 1];
    table.setAttribute('aria-busy', 'true');
    error.textContent = '';
    try {
      const r = await searchApi.search(query(applied, { limit: PAGE, beforeId: before }));
      if (!ctx.isCurrent() || mySeq !== seq) return;
      const list = (r && r.conversations) || [];
      nextBefore = r && r.nextBeforeId !== undefined && r.nextBeforeId !== null ? r.nextBeforeId : null;
      fillTableBody(tbody, {
        loaded: true, items: list, columns: COLUMNS, row,
        emptyText: cursors.length > 1 ? t('search.noMore') : t('search.empty'),
        testids: { empty: 'search-empty' },
      });
      pageLabel.textContent = t('search.page', { n: cursors.length });
      newerBtn.disabled = cursors.length <= 1;
      olderBtn.disabled = nextBefore === null;
      if (focusAfter && focusAfter.disabled) focusEl(resultsTitle);
    } catch (err) {
      if (!ctx.isCurrent() || mySeq !== seq || err.status === 401) return;
      fillTableBody(tbody, { loaded: true, items: [], columns: COLUMNS, row, emptyText: t('search.failed') });
      if (!showFieldError(err)) error.textContent = errorText(err);
    } finally {
      if (ctx.isCurrent() && mySeq === seq) table.setAttribute('aria-busy', 'false');
    }
  }

  // ---- Thread ------------------------------------------------------------------------------------
  function closeThread(restoreFocus = true) {
    threadSeq += 1;
    threadPanel.hidden = true;
    clear(threadPanel);
    resultsPanel.hidden = false;
    filtersPanel.hidden = false;
    if (restoreFocus && openedFrom && document.body.contains(openedFrom)) focusEl(openedFrom);
    openedFrom = null;
  }

  function deliveryTitle(m) {
    const parts = [];
    if (m.sentAt) parts.push(t('search.sentAt', { time: formatDate(m.sentAt, 'dateTime') }));
    if (m.deliveredAt) parts.push(t('search.deliveredAt', { time: formatDate(m.deliveredAt, 'dateTime') }));
    return parts.join(' · ') || null;
  }

  function messageItem(m, agentName) {
    const out = m.direction === 'out';
    let author = t('search.client');
    if (out) author = m.automatic ? t('search.automatic') : (agentName || t('search.agentUnknown'));
    return h('li', { class: `msg ${out ? 'msg-out' : 'msg-in'}`, dataset: { testid: `search-msg-${m.id}`, state: m.state, direction: m.direction } },
      h('div', { class: 'bubble' },
        h('p', { class: 'msg-text', dataset: { testid: `search-msg-text-${m.id}` } }, m.text),
        m.reason ? h('p', { class: 'msg-reason', dataset: { testid: `search-msg-reason-${m.id}` } }, m.reason) : null,
        h('div', { class: 'msg-meta' },
          h('span', { class: m.automatic ? 'msg-auto' : null }, author),
          timeElement(m.at),
          h('span', { class: `msg-state msg-state-${m.state}`, title: deliveryTitle(m), dataset: { testid: `search-msg-state-${m.id}` } },
            messageStateLabel(m.state)))));
  }

  function metaItem(labelKey, value) {
    return h('div', { class: 'search-meta-item' }, h('dt', null, t(labelKey)), h('dd', null, value));
  }

  function renderThread(detail) {
    const c = detail.conversation;
    const backBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: 'search-thread-back' } }, t('search.back'));
    backBtn.addEventListener('click', () => closeThread(true));
    const title = h('h2', { id: 'search-thread-title', class: 'thread-title', tabindex: '-1', dataset: { testid: 'search-thread-title' } },
      c.clientNumber);
    const earlier = detail.earlierConversations || [];
    clear(threadPanel).append(...[
      h('div', { class: 'search-thread-head' },
        h('div', { class: 'thread-title-block' }, title,
          h('p', { class: 'muted search-readonly' }, t('search.readOnly'))),
        backBtn),
      h('dl', { class: 'search-meta', dataset: { testid: 'search-thread-meta' } },
        metaItem('search.colCampaign', c.campaignName),
        metaItem('search.colAgent', c.agentName || t('common.none')),
        metaItem('search.colState', h('span', { class: `pill pill-${c.state}` }, stateLabel(c.state))),
        metaItem('search.colOpened', timeElement(c.openedAt)),
        c.closedAt ? metaItem('search.closed', timeElement(c.closedAt)) : null,
        c.wrapUp ? metaItem('search.wrapUp', c.wrapUp) : null),
      h('div', { class: 'search-thread-body' },
        detail.messages.length
          ? h('ol', { class: 'msg-list', 'aria-label': t('search.messages'), dataset: { testid: 'search-messages' } },
            detail.messages.map((m) => messageItem(m, c.agentName)))
          : h('p', { class: 'muted' }, t('search.noMessages'))),
      earlier.length
        ? h('div', { class: 'search-earlier' },
          h('h3', { class: 'panel-title' }, t('search.earlier')),
          h('ul', { class: 'earlier-list', dataset: { testid: 'search-earlier' } }, earlier.map((e) => {
            const btn = h('button', { type: 'button', class: 'btn-link', dataset: { testid: `search-earlier-${e.id}` } },
              t('search.earlierItem', { date: formatDate(e.openedAt, 'dateTime') }));
            btn.addEventListener('click', () => openThread(e.id, openedFrom));
            return h('li', null, btn, h('span', { class: 'muted' }, c.campaignName));
          })))
        : null,
    ].filter(Boolean));
    focusEl(title);
  }

  async function openThread(id, from) {
    const mySeq = ++threadSeq;
    openedFrom = from;
    error.textContent = '';
    try {
      const detail = await searchApi.conversation(id);
      if (!ctx.isCurrent() || mySeq !== threadSeq) return;
      filtersPanel.hidden = true;
      resultsPanel.hidden = true;
      threadPanel.hidden = false;
      renderThread(detail);
    } catch (err) {
      if (ctx.isCurrent() && mySeq === threadSeq && err.status !== 401) error.textContent = errorText(err);
    }
  }

  // ---- Campaigns and agents for the filters ------------------------------------------------------
  async function loadCampaigns() {
    try {
      const r = await searchApi.campaigns();
      if (!ctx.isCurrent()) return;
      let campaigns = (r && r.campaigns) || [];
      if (isSupervisor) campaigns = campaigns.filter((c) => (c.supervisors || []).some((s) => s.userId === ctx.user.id));
      campaigns.sort((a, b) => a.name.localeCompare(b.name));
      for (const c of campaigns) campaignSelect.append(h('option', { value: String(c.id) }, c.name));
      const agents = new Map();
      for (const c of campaigns) for (const m of c.members || []) agents.set(m.userId, m.displayName || m.username);
      [...agents.entries()].sort((a, b) => a[1].localeCompare(b[1]))
        .forEach(([id, name]) => agentSelect.append(h('option', { value: String(id) }, name)));
      if (isSupervisor) scopeNote.textContent = campaigns.length ? t('search.scopeSupervisor', { count: campaigns.length }) : t('search.scopeNone');
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) error.textContent = errorText(err);
    }
  }

  fillTableBody(tbody, { loaded: false, items: [], columns: COLUMNS, row, testids: { loading: 'search-loading' } });
  updateExport();
  loadCampaigns();
  load();
}
