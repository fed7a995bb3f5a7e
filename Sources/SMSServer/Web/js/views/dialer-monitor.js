// Dialer monitor (SPEC D7, D9, D12, S5), for admins and supervisors.
//
// Per campaign, live: status (a serving dialer is enabled), in date (a serving
// dialer is inside its schedule), processed / not processed / other / locked /
// possible duplicates, the delivery funnel, a failover marker, Start/Finish per
// dialer and "delete unprocessed" with a confirm step. Below: tools to send one
// message, upload a bulk CSV (dry run first, then queue) and upload a DNCR CSV,
// and the reports table (filters, paging, CSV export).
//
// Live data comes from a source object with start(onData, onError) / refresh() /
// stop() / connected(): liveMonitorSource() loads GET /dialer-monitor once and
// again whenever the page's WebSocket (live.js) carries a `dialer.progress`
// event, after a reconnect, and when asked (after an action).

import { request, ApiError } from '../api.js';
import * as liveEvents from '../live.js';
import { t } from '../i18n.js';
import { formatDate, formatNumber, startOfDay, isoSeconds } from '../format.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, messageArea, field, timeElement } from '../components.js';

const enc = encodeURIComponent;
const monitorApi = {
  monitor: () => request('GET', '/dialer-monitor'),
  providers: () => request('GET', '/providers'),
  start: (id) => request('POST', `/dialers/${enc(id)}/start`),
  finish: (id) => request('POST', `/dialers/${enc(id)}/finish`),
  cancelUnprocessed: (campaignId) => request('POST', `/campaigns/${enc(campaignId)}/spool/cancel`),
  unitary: (body) => request('POST', '/spool/unitary', body),
  report: (query) => request('GET', `/spool?${query}`),
  /** A fresh CSRF token for the uploads, which bypass request() to get upload progress. */
  csrfToken: async () => {
    const me = await request('GET', '/me');
    return me && me.csrfToken;
  },
};

/** Spool states, in the order filters and legends list them. */
const STATES = ['none', 'to_process', 'sending', 'sent', 'delivered', 'failed', 'blocked', 'invalid', 'cancelled', 'expired'];

/** The delivery funnel (SPEC D12): held, queued → sending → sent → delivered / failed / blocked / invalid, then the rest. */
const FUNNEL = STATES;

/** The per-campaign counters, their API key and test id stem. */
const STATS = [
  { key: 'processed', testid: 'processed', labelKey: 'dm.processed', hintKey: 'dm.processedHint' },
  { key: 'notProcessed', testid: 'not-processed', labelKey: 'dm.notProcessed', hintKey: 'dm.notProcessedHint' },
  { key: 'other', testid: 'other', labelKey: 'dm.other', hintKey: 'dm.otherHint' },
  { key: 'locked', testid: 'locked', labelKey: 'dm.locked', hintKey: 'dm.lockedHint' },
  { key: 'possibleDuplicates', testid: 'duplicates', labelKey: 'dm.duplicates', hintKey: 'dm.duplicatesHint' },
];

const REPORT_PAGE = 100;

function fmt(n) {
  return formatNumber(Number(n) || 0);
}

/** "1 message" / "3 messages": keys `<key>.one` and `<key>.other`, both with {count}. */
function tCount(key, count, params = {}) {
  return t(`${key}.${count === 1 ? 'one' : 'other'}`, { ...params, count: fmt(count) });
}

function stateLabel(state) {
  return t(`state.${state}`);
}

/** A server field name (CSV column) in words, or the name itself when unknown. */
function fieldLabel(name) {
  if (!name) return t('common.none');
  const key = `dm.field.${name}`;
  const text = t(key);
  return text === key ? name : text;
}

function formatBytes(n) {
  if (n < 1024) return t('dm.bytes', { n: fmt(n) });
  if (n < 1024 * 1024) return t('dm.kilobytes', { n: formatNumber(n / 1024, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
  return t('dm.megabytes', { n: formatNumber(n / (1024 * 1024), { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
}

// ---- Live data source -------------------------------------------------------------

/**
 * Loads GET /dialer-monitor when the live connection opens or comes back, on every
 * `dialer.progress` event (merged: one request at a time, at most one every
 * `minIntervalMs`), on refresh(), and every `safetyMs` for what changes with the
 * clock alone ("in schedule"). While the connection is down it loads every
 * `fallbackMs` instead, so the page keeps updating slowly. Nothing is loaded
 * while the page is hidden; it catches up when shown.
 */
export function liveMonitorSource({ minIntervalMs = 300, safetyMs = 60000, fallbackMs = 10000 } = {}) {
  let running = false;
  let inFlight = false;
  let again = false;
  let dirty = false;        // a load was wanted while hidden
  let lastStart = 0;
  let timer = null;         // the next merged load
  let periodic = null;      // safety or fallback loads
  let onData = null;
  let onError = null;
  const unsubscribe = [];

  function want() {
    if (!running) return;
    if (document.hidden) { dirty = true; return; }
    if (inFlight) { again = true; return; }
    if (timer !== null) return;
    const wait = Math.max(0, lastStart + minIntervalMs - Date.now());
    timer = setTimeout(load, wait);
  }

  async function load() {
    timer = null;
    if (!running) return;
    inFlight = true;
    lastStart = Date.now();
    try {
      const data = await monitorApi.monitor();
      if (running) onData(data);
    } catch (err) {
      if (running) onError(err);
      if (err.status === 401) stop(); // the app shows the login view
    } finally {
      inFlight = false;
    }
    if (again) { again = false; want(); }
  }

  function setPeriodic(ms) {
    if (periodic !== null) clearInterval(periodic);
    periodic = running ? setInterval(want, ms) : null;
  }

  function onVisibility() {
    if (!document.hidden && dirty) { dirty = false; want(); }
  }

  function stop() {
    running = false;
    if (timer !== null) { clearTimeout(timer); timer = null; }
    setPeriodic(0);
    document.removeEventListener('visibilitychange', onVisibility);
    while (unsubscribe.length) unsubscribe.pop()();
  }

  return {
    start(dataHandler, errorHandler) {
      onData = dataHandler;
      onError = errorHandler;
      running = true;
      document.addEventListener('visibilitychange', onVisibility);
      unsubscribe.push(liveEvents.subscribe('dialer.progress', want));
      unsubscribe.push(liveEvents.onState(({ state }) => {
        if (!running) return;
        if (state === 'live') {
          setPeriodic(safetyMs);
          want(); // first connection, or back after a drop (a resync included): load what is there now
        } else if (state === 'lost') {
          setPeriodic(fallbackMs);
          onError(new ApiError({ status: 0, code: 'live_lost', message: t('dm.socketLost') }));
        }
      }));
      want(); // do not wait for the connection to show the page
    },
    /** Load now (after an action), rather than waiting for the event. */
    refresh() {
      want();
    },
    /** Whether the page is following live events (else the data may be stale). */
    connected() {
      return liveEvents.state() === 'live';
    },
    stop,
  };
}

// ---- Uploads with progress ------------------------------------------------------------

/**
 * POST a file as the raw body (text/csv) with upload progress, which fetch cannot report.
 * Returns { promise, abort }; the promise resolves { status, body } for any HTTP answer
 * and rejects with an ApiError for network failures ('network') and aborts ('aborted').
 */
function uploadCsv(path, file, csrfToken, { onProgress, onUploaded }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', `/api/v1${path}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.addEventListener('progress', (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size));
    xhr.upload.addEventListener('load', () => onUploaded());
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (_) { body = null; }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener('error', () => reject(new ApiError({ status: 0, code: 'network', message: 'upload failed' })));
    xhr.addEventListener('abort', () => reject(new ApiError({ status: 0, code: 'aborted', message: 'upload cancelled' })));
    xhr.send(file);
  });
  return { promise, abort: () => xhr.abort() };
}

/** The ApiError of a non-2xx upload answer without a report. */
function uploadError(status, body) {
  const e = (body && body.error) || {};
  return new ApiError({
    status,
    code: typeof e.code === 'string' ? e.code : `http_${status}`,
    message: typeof e.message === 'string' ? e.message : '',
    field: typeof e.field === 'string' ? e.field : null,
  });
}

/**
 * A file upload box: file input, action buttons, progress bar and a result area.
 * run(path) uploads the chosen file and resolves { status, report } (report may be
 * null), or null when cancelled or failed (the error is shown).
 */
function uploadBox({ prefix, ctx, labelKey, hintKey }) {
  const input = h('input', { type: 'file', accept: '.csv,text/csv', class: 'file-input' });
  const fileField = field({ id: `${prefix}-file`, labelKey, hintKey, control: input, testid: `${prefix}-file` });
  const progress = h('progress', { class: 'upload-progress', max: '100', value: '0', dataset: { testid: `${prefix}-progress` } });
  const progressText = h('span', { class: 'upload-progress-text', dataset: { testid: `${prefix}-progress-text` } });
  const abortBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', hidden: true, dataset: { testid: `${prefix}-abort` } }, t('dm.uploadAbort'));
  const progressRow = h('div', { class: 'upload-progress-row', hidden: true, dataset: { testid: `${prefix}-progress-row` } },
    progress, progressText, abortBtn);
  progress.setAttribute('aria-label', t('dm.uploadProgress'));
  const error = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: `${prefix}-error` } });
  const result = h('div', { class: 'upload-result', 'aria-live': 'polite', dataset: { testid: `${prefix}-result` } });

  let current = null; // { abort } while uploading

  abortBtn.addEventListener('click', () => { if (current) current.abort(); });
  ctx.onLeave(() => { if (current) current.abort(); });

  function setProgress(loaded, total) {
    const pct = total > 0 ? Math.min(100, Math.round((loaded / total) * 100)) : 0;
    progress.value = pct;
    progressText.textContent = t('dm.uploading', { pct: formatNumber(pct), loaded: formatBytes(loaded), total: formatBytes(total) });
  }

  async function run(path) {
    const file = input.files && input.files[0];
    error.textContent = '';
    fileField.setError('');
    if (!file) {
      fileField.setError(t('dm.chooseFile'));
      input.focus();
      return null;
    }
    let token;
    try {
      token = await monitorApi.csrfToken();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) error.textContent = errorText(err);
      return null;
    }
    if (!ctx.isCurrent()) return null;
    progressRow.hidden = false;
    abortBtn.hidden = false;
    setProgress(0, file.size);
    const upload = uploadCsv(path.replace('{fileName}', enc(file.name)), file, token, {
      onProgress: setProgress,
      onUploaded: () => {
        progress.value = 100;
        abortBtn.hidden = true; // the server is working on it now
        progressText.textContent = t('dm.processing', { size: formatBytes(file.size) });
      },
    });
    current = upload;
    try {
      const { status, body } = await upload.promise;
      if (!ctx.isCurrent()) return null;
      if (body && body.report && (status === 200 || status === 422)) return { status, report: body.report, file };
      const err = uploadError(status, body);
      if (status === 401) {
        // Let the app notice the ended session (the shared 401 handler lives in request()).
        request('GET', '/me').catch(() => {});
        return null;
      }
      error.textContent = errorText(err);
      return null;
    } catch (err) {
      if (ctx.isCurrent()) error.textContent = err.code === 'aborted' ? t('dm.uploadAborted') : errorText(err);
      return null;
    } finally {
      current = null;
      progressRow.hidden = true;
      abortBtn.hidden = true;
    }
  }

  return {
    input,
    fileField,
    error,
    result,
    progressRow,
    run,
    busy: () => current !== null,
    file: () => (input.files && input.files[0]) || null,
  };
}

/** The table of bad lines of a refused file (every one of them). */
function issuesTable(prefix, issues) {
  const body = h('tbody');
  const frag = document.createDocumentFragment();
  issues.forEach((issue, i) => {
    frag.appendChild(h('tr', { dataset: { testid: `${prefix}-issue-${i}`, line: String(issue.line), field: issue.field || '' } },
      h('td', { class: 'num' }, issue.line > 0 ? fmt(issue.line) : t('dm.issueFile')),
      h('td', null, fieldLabel(issue.field)),
      h('td', { class: 'td-wrap' }, issue.reason)));
  });
  body.appendChild(frag);
  return h('div', { class: 'table-wrap issues-wrap' },
    h('table', { class: 'table issues-table', dataset: { testid: `${prefix}-issues` } },
      h('caption', { class: 'visually-hidden' }, t('dm.issuesTitle')),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('dm.colLine')),
        h('th', { scope: 'col' }, t('dm.colField')),
        h('th', { scope: 'col' }, t('dm.colReason')))),
      body));
}

/** A <dl> of label/value pairs; values get data-testid `${prefix}-${key}`. */
function summaryList(prefix, items) {
  return h('dl', { class: 'summary-list', dataset: { testid: `${prefix}-summary` } },
    items.map(([key, label, value]) => h('div', { class: 'summary-item' },
      h('dt', null, label),
      h('dd', { dataset: { testid: `${prefix}-${key}` } }, value))));
}

// ---- Tabs -----------------------------------------------------------------------------------

/** ARIA tabs: defs = [{ key, labelKey, panel }]; arrow keys move between tabs. */
function tabSet(prefix, labelKey, defs) {
  const tabs = new Map();
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t(labelKey) });
  for (const def of defs) {
    const tab = h('button', {
      type: 'button', role: 'tab', class: 'tab', id: `${prefix}-tab-${def.key}`,
      'aria-controls': `${prefix}-panel-${def.key}`, dataset: { testid: `${prefix}-tab-${def.key}` },
    }, t(def.labelKey));
    def.panel.id = `${prefix}-panel-${def.key}`;
    def.panel.setAttribute('role', 'tabpanel');
    def.panel.setAttribute('aria-labelledby', tab.id);
    def.panel.classList.add('tab-panel');
    tab.addEventListener('click', () => select(def.key));
    tab.addEventListener('keydown', (ev) => {
      const keys = defs.map((d) => d.key);
      let i = keys.indexOf(def.key);
      if (ev.key === 'ArrowRight') i = (i + 1) % keys.length;
      else if (ev.key === 'ArrowLeft') i = (i - 1 + keys.length) % keys.length;
      else if (ev.key === 'Home') i = 0;
      else if (ev.key === 'End') i = keys.length - 1;
      else return;
      ev.preventDefault();
      select(keys[i], true);
    });
    tabs.set(def.key, { tab, panel: def.panel });
    list.append(tab);
  }

  function select(key, focusTab = false) {
    for (const [k, { tab, panel }] of tabs) {
      const on = k === key;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
      if (on && focusTab) tab.focus();
    }
  }

  select(defs[0].key);
  return { list, panels: defs.map((d) => d.panel), select };
}

// ---- The page -------------------------------------------------------------------------------

export function render(main, ctx, { source = liveMonitorSource() } = {}) {
  const isAdmin = !!ctx.user && ctx.user.role === 'admin';
  const state = {
    data: null,               // last monitor answer
    providers: new Map(),     // id -> name
    cards: new Map(),         // campaignId -> card
    busyDialers: new Set(),   // dialer ids with start/finish in flight
    busyCampaigns: new Set(), // campaign ids with delete in flight
    confirmCancel: null,      // campaign id awaiting the delete confirmation
    live: 'connecting',       // connecting | live | lost
  };
  const messages = messageArea('dm');

  // ---- Header: live indicator ------------------------------------------------------
  const liveDot = h('span', { class: 'live-dot', 'aria-hidden': 'true' });
  const liveText = h('span', { dataset: { testid: 'dm-live-text' } }, t('dm.connecting'));
  const live = h('p', { class: 'live-indicator', dataset: { testid: 'dm-live', state: 'connecting' } }, liveDot, liveText);

  // ---- Campaign cards ---------------------------------------------------------------------
  const cardsEl = h('div', { class: 'dm-cards', 'aria-busy': 'true', dataset: { testid: 'dm-campaigns' } });
  const cardsStatus = h('p', { class: 'muted', dataset: { testid: 'dm-loading' } }, t('common.loading'));
  const cardsSection = h('section', { class: 'dm-section', 'aria-labelledby': 'dm-campaigns-title' },
    h('h2', { id: 'dm-campaigns-title', class: 'visually-hidden' }, t('dm.campaignsTitle')),
    cardsStatus, cardsEl);

  // ---- Tools ------------------------------------------------------------------------------
  const unitary = buildUnitary();
  const bulk = buildBulkImport();
  const dncr = buildDncrImport();
  const tools = tabSet('dm', 'dm.toolsTitle', [
    { key: 'unitary', labelKey: 'dm.tabUnitary', panel: unitary.el },
    { key: 'import', labelKey: 'dm.tabImport', panel: bulk.el },
    { key: 'dncr', labelKey: 'dm.tabDncr', panel: dncr.el },
  ]);
  const toolsSection = h('section', { class: 'panel', 'aria-labelledby': 'dm-tools-title', dataset: { testid: 'dm-tools' } },
    h('h2', { id: 'dm-tools-title', class: 'panel-title' }, t('dm.toolsTitle')),
    tools.list, tools.panels);

  // ---- Reports ------------------------------------------------------------------------------
  const reports = buildReports();

  clear(main).append(
    pageHeader('dm.title', live),
    messages.el,
    cardsSection,
    toolsSection,
    reports.el,
  );

  // ---- Live updates ---------------------------------------------------------------------------

  function setLive(mode, at) {
    state.live = mode;
    live.dataset.state = mode;
    if (mode === 'live') {
      liveText.textContent = t('dm.liveAt', { time: formatDate(at || Date.now(), 'timeSeconds') });
    } else if (mode === 'lost') {
      liveText.textContent = t('dm.lost');
    } else {
      liveText.textContent = t('dm.connecting');
    }
  }

  function onData(data) {
    if (!ctx.isCurrent()) { source.stop(); return; }
    const wasLost = state.live === 'lost';
    state.data = data;
    if (!source.connected || source.connected()) {
      setLive('live', data && data.at);
      if (wasLost) messages.ok(t('dm.liveAgain'));
    }
    renderCards();
    ensureProviderNames(data);
    unitary.setCampaigns(campaignList());
    reports.setCampaigns(campaignList());
  }

  function onError(err) {
    if (!ctx.isCurrent()) { source.stop(); return; }
    if (err.status === 401) return;
    const reason = err.code === 'live_lost' ? err.message : errorText(err);
    if (state.live !== 'lost') messages.fail(t('dm.lostDetail', { reason }));
    setLive('lost');
  }

  function campaignList() {
    return ((state.data && state.data.campaigns) || []).map((c) => ({ id: c.campaignId, name: c.campaign }));
  }

  function campaignName(id) {
    const c = ((state.data && state.data.campaigns) || []).find((x) => x.campaignId === id);
    return c ? c.campaign : `#${id}`;
  }

  function renderCards() {
    const campaigns = (state.data && state.data.campaigns) || [];
    cardsEl.setAttribute('aria-busy', 'false');
    if (campaigns.length === 0) {
      clear(cardsStatus);
      cardsStatus.dataset.testid = 'dm-empty';
      cardsStatus.append(t('dm.empty'), ' ',
        isAdmin ? h('a', { href: '#/campaigns', dataset: { testid: 'dm-empty-link' } }, t('dm.emptyLink')) : t('dm.emptyAskAdmin'));
      cardsStatus.hidden = false;
    } else {
      cardsStatus.hidden = true;
    }
    const seen = new Set();
    let previous = null;
    for (const c of campaigns) {
      seen.add(c.campaignId);
      let card = state.cards.get(c.campaignId);
      if (!card) {
        card = createCard(c.campaignId);
        state.cards.set(c.campaignId, card);
      }
      card.update(c);
      // Keep the server's order without re-inserting cards that are already in place.
      const expectedNext = previous ? previous.nextSibling : cardsEl.firstChild;
      if (expectedNext !== card.el) cardsEl.insertBefore(card.el, expectedNext);
      previous = card.el;
    }
    for (const [id, card] of state.cards) {
      if (!seen.has(id)) {
        card.el.remove();
        state.cards.delete(id);
        if (state.confirmCancel === id) state.confirmCancel = null;
      }
    }
  }

  /** One campaign's card; update(c) changes only what differs, so focus and clicks survive each tick. */
  function createCard(id) {
    const title = h('h3', { class: 'dm-card-title', id: `dm-card-title-${id}`, dataset: { testid: `dm-name-${id}` } });
    const statusBadge = h('span', { class: 'status-badge', dataset: { testid: `dm-status-${id}` } });
    const dateBadge = h('span', { class: 'status-badge', dataset: { testid: `dm-indate-${id}` } });
    const failoverBadge = h('span', {
      class: 'status-badge status-warn', hidden: true, title: t('dm.failoverHint'), dataset: { testid: `dm-failover-${id}` },
    }, t('dm.failover'));

    const sendOneBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `dm-send-one-${id}` } }, t('dm.sendOne'));
    const reportsBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `dm-reports-${id}` } }, t('dm.reports'));
    const cancelBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `dm-cancel-${id}` } }, t('dm.deleteUnprocessed'));
    const actions = h('div', { class: 'dm-card-actions' }, sendOneBtn, reportsBtn, cancelBtn);

    const confirmText = h('span', { class: 'confirm-text' });
    const confirmYes = h('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { testid: `dm-cancel-confirm-${id}` } }, t('dm.deleteConfirm'));
    const confirmNo = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: `dm-cancel-cancel-${id}` } }, t('dm.deleteKeep'));
    const confirm = h('div', { class: 'confirm-inline dm-confirm', role: 'group', hidden: true, dataset: { testid: `dm-cancel-box-${id}` } },
      confirmText, confirmYes, confirmNo);

    const statValues = new Map();
    const stats = h('dl', { class: 'dm-stats' }, STATS.map((s) => {
      const dd = h('dd', { class: 'dm-stat-value', dataset: { testid: `dm-${s.testid}-${id}`, value: '0' } }, '0');
      statValues.set(s.key, dd);
      return h('div', { class: `dm-stat dm-stat-${s.testid}`, title: t(s.hintKey) }, h('dt', null, t(s.labelKey)), dd);
    }));

    const segs = new Map();
    const legendCounts = new Map();
    const legendItems = new Map();
    const bar = h('div', { class: 'dm-funnel-bar', 'aria-hidden': 'true', dataset: { testid: `dm-funnel-bar-${id}` } },
      FUNNEL.map((st) => {
        const seg = h('span', { class: `dm-seg seg-${st}` });
        segs.set(st, seg);
        return seg;
      }));
    const legend = h('ul', { class: 'dm-legend', 'aria-label': t('dm.funnel') }, FUNNEL.map((st) => {
      const count = h('span', { class: 'dm-legend-count', dataset: { testid: `dm-funnel-${st}-${id}` } }, '0');
      legendCounts.set(st, count);
      const btn = h('button', {
        type: 'button', class: 'dm-legend-item', title: t('dm.drillHint', { state: stateLabel(st) }), dataset: { state: st },
      }, h('span', { class: `dm-swatch seg-${st}`, 'aria-hidden': 'true' }), h('span', null, stateLabel(st)), count);
      btn.addEventListener('click', () => reports.show({ campaignId: id, states: [st] }));
      legendItems.set(st, btn);
      return h('li', null, btn);
    }));
    const funnel = h('div', { class: 'dm-funnel', dataset: { testid: `dm-funnel-${id}` } },
      h('h4', { class: 'dm-subtitle' }, t('dm.funnel')), bar, legend);

    const dialersBody = h('tbody');
    const dialersTable = h('table', { class: 'table dm-dialers', dataset: { testid: `dm-dialers-${id}` } },
      h('caption', { class: 'visually-hidden' }, t('dm.dialersOf', { name: '' })),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('dm.colDialer')),
        h('th', { scope: 'col' }, t('dm.colSending')),
        h('th', { scope: 'col' }, t('dm.colSchedule')),
        h('th', { scope: 'col' }, t('dm.colProvider')),
        h('th', { scope: 'col' }, t('common.actions')))),
      dialersBody);
    const noDialers = h('p', { class: 'muted dm-no-dialers', hidden: true, dataset: { testid: `dm-no-dialers-${id}` } },
      t('dm.noDialers'), ' ',
      isAdmin ? h('a', { href: '#/dialers' }, t('dm.noDialersLink')) : null);
    const dialerRows = new Map(); // dialer id -> row

    const el = h('article', { class: 'dm-card', 'aria-labelledby': title.id, dataset: { testid: `dm-campaign-${id}`, campaignId: String(id) } },
      h('div', { class: 'dm-card-head' }, title, statusBadge, dateBadge, failoverBadge, actions),
      confirm,
      stats,
      h('div', { class: 'dm-card-body' },
        funnel,
        h('div', { class: 'dm-dialers-wrap' }, h('h4', { class: 'dm-subtitle' }, t('dm.dialers')), noDialers,
          h('div', { class: 'table-wrap' }, dialersTable))));

    let current = null;

    sendOneBtn.addEventListener('click', () => { tools.select('unitary'); unitary.prefill(current.campaign); });
    reportsBtn.addEventListener('click', () => reports.show({ campaignId: id, states: [] }));
    cancelBtn.addEventListener('click', () => {
      state.confirmCancel = id;
      update(current);
      confirmNo.focus();
    });
    confirmNo.addEventListener('click', () => {
      state.confirmCancel = null;
      update(current);
      cancelBtn.focus();
    });
    confirmYes.addEventListener('click', () => cancelUnprocessed(current, () => update(current), cancelBtn));

    function setText(elm, text) {
      if (elm.textContent !== text) elm.textContent = text;
    }

    function setBadge(elm, text, cls) {
      setText(elm, text);
      const want = `status-badge ${cls}`;
      if (elm.className !== want) elm.className = want;
    }

    function dialerRow(d) {
      const name = h('span', { class: 'cell-name' });
      const sending = h('span', { class: 'status-badge' });
      const schedule = h('span', { class: 'status-badge' });
      const provider = h('span');
      const failover = h('span', { class: 'status-badge status-warn', hidden: true, title: t('dm.failoverHint') }, t('dm.onFallback'));
      const startBtn = h('button', { type: 'button', class: 'btn btn-small btn-primary', dataset: { testid: `dm-start-${id}-${d.id}` } }, t('dm.start'));
      const finishBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `dm-finish-${id}-${d.id}` } }, t('dm.finish'));
      const tr = h('tr', { dataset: { testid: `dm-dialer-${id}-${d.id}`, dialerId: String(d.id) } },
        h('td', null, name),
        h('td', { dataset: { testid: `dm-dialer-state-${id}-${d.id}` } }, sending),
        h('td', null, schedule),
        h('td', null, h('span', { class: 'cell-inline' }, provider, failover)),
        h('td', null, h('div', { class: 'cell-actions' }, startBtn, finishBtn)));
      let dialer = d;
      startBtn.addEventListener('click', () => startFinish(dialer, true, finishBtn));
      finishBtn.addEventListener('click', () => startFinish(dialer, false, startBtn));
      return {
        el: tr,
        update(x) {
          dialer = x;
          setText(name, x.name);
          setBadge(sending, x.enabled ? t('dm.dialerOn') : t('dm.dialerOff'), x.enabled ? 'status-on' : 'status-off');
          setBadge(schedule, x.inDate ? t('dm.inDate') : t('dm.outOfDate'), x.inDate ? 'status-implicit' : 'status-off');
          setText(provider, state.providers.get(x.providerId) || `#${x.providerId}`);
          failover.hidden = !x.failoverActive;
          tr.dataset.enabled = String(!!x.enabled);
          tr.dataset.failover = String(!!x.failoverActive);
          const busy = state.busyDialers.has(x.id);
          startBtn.disabled = busy || x.enabled;
          finishBtn.disabled = busy || !x.enabled;
          startBtn.setAttribute('aria-label', `${t('dm.start')}: ${x.name}`);
          finishBtn.setAttribute('aria-label', `${t('dm.finish')}: ${x.name}`);
        },
      };
    }

    function update(c) {
      current = c;
      setText(title, c.campaign);
      el.dataset.active = String(!!c.active);
      el.dataset.inDate = String(!!c.inDate);
      const hasDialers = c.dialers.length > 0;
      setBadge(statusBadge, c.active ? t('dm.active') : t('dm.inactive'), c.active ? 'status-on' : 'status-off');
      if (hasDialers) setBadge(dateBadge, c.inDate ? t('dm.inDate') : t('dm.outOfDate'), c.inDate ? 'status-implicit' : 'status-off');
      else setBadge(dateBadge, t('dm.noDialer'), 'status-off');
      const failoverOn = c.dialers.some((d) => d.failoverActive);
      failoverBadge.hidden = !failoverOn;
      el.classList.toggle('dm-card-failover', failoverOn);

      for (const s of STATS) {
        const dd = statValues.get(s.key);
        const n = Number(c[s.key]) || 0;
        setText(dd, fmt(n));
        dd.dataset.value = String(n);
      }

      const counts = c.funnel || {};
      const total = FUNNEL.reduce((sum, st) => sum + (Number(counts[st]) || 0), 0);
      for (const st of FUNNEL) {
        const n = Number(counts[st]) || 0;
        const seg = segs.get(st);
        const width = total > 0 ? `${(n / total) * 100}%` : '0%';
        if (seg.style.width !== width) seg.style.width = width; // CSSOM, allowed by the CSP
        seg.hidden = n === 0;
        seg.title = `${stateLabel(st)}: ${fmt(n)}`;
        const cnt = legendCounts.get(st);
        setText(cnt, fmt(n));
        cnt.dataset.value = String(n);
        legendItems.get(st).classList.toggle('is-zero', n === 0);
      }
      bar.classList.toggle('is-empty', total === 0);

      noDialers.hidden = hasDialers;
      dialersTable.hidden = !hasDialers;
      dialersTable.querySelector('caption').textContent = t('dm.dialersOf', { name: c.campaign });
      const ids = new Set(c.dialers.map((d) => d.id));
      for (const [did, row] of dialerRows) if (!ids.has(did)) { row.el.remove(); dialerRows.delete(did); }
      let prev = null;
      for (const d of c.dialers) {
        let row = dialerRows.get(d.id);
        if (!row) { row = dialerRow(d); dialerRows.set(d.id, row); }
        row.update(d);
        const expectedNext = prev ? prev.nextSibling : dialersBody.firstChild;
        if (expectedNext !== row.el) dialersBody.insertBefore(row.el, expectedNext);
        prev = row.el;
      }

      const pending = Number(c.notProcessed) || 0;
      const confirming = state.confirmCancel === id;
      const busy = state.busyCampaigns.has(id);
      cancelBtn.hidden = confirming;
      cancelBtn.disabled = busy || pending === 0;
      cancelBtn.title = pending === 0 ? t('dm.nothingToDelete') : '';
      confirm.hidden = !confirming;
      confirm.setAttribute('aria-label', t('dm.deleteUnprocessed'));
      setText(confirmText, tCount('dm.confirmDelete', pending, { name: c.campaign }));
      confirmYes.disabled = busy;
      sendOneBtn.setAttribute('aria-label', `${t('dm.sendOne')}: ${c.campaign}`);
      reportsBtn.setAttribute('aria-label', `${t('dm.reports')}: ${c.campaign}`);
      cancelBtn.setAttribute('aria-label', `${t('dm.deleteUnprocessed')}: ${c.campaign}`);
    }

    return { el, update, refresh: () => { if (current) update(current); } };
  }

  function refreshCards() {
    for (const card of state.cards.values()) card.refresh();
  }

  async function startFinish(dialer, start, focusAfter) {
    state.busyDialers.add(dialer.id);
    refreshCards();
    messages.clear();
    try {
      const r = start ? await monitorApi.start(dialer.id) : await monitorApi.finish(dialer.id);
      if (!ctx.isCurrent()) return;
      const d = r && r.dialer;
      // Show the new state at once; the next tick brings the campaign counters.
      if (d && state.data) {
        for (const c of state.data.campaigns) {
          for (const x of c.dialers) if (x.id === d.id) x.enabled = d.enabled;
          c.active = c.dialers.some((x) => x.enabled);
        }
      }
      messages.ok(t(start ? 'dm.started' : 'dm.finished', { name: (d && d.name) || dialer.name }));
      source.refresh();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.busyDialers.delete(dialer.id);
      if (ctx.isCurrent()) {
        renderCards();
        // The pressed button is disabled now: move focus to its counterpart.
        if (document.activeElement === document.body || (document.activeElement && document.activeElement.disabled)) {
          if (focusAfter && !focusAfter.disabled) focusAfter.focus();
        }
      }
    }
  }

  async function cancelUnprocessed(c, rerender, focusAfter) {
    state.busyCampaigns.add(c.campaignId);
    rerender();
    messages.clear();
    try {
      const r = await monitorApi.cancelUnprocessed(c.campaignId);
      if (!ctx.isCurrent()) return;
      state.confirmCancel = null;
      messages.ok(tCount('dm.deleted', (r && r.cancelled) || 0, { name: c.campaign }));
      source.refresh();
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      state.confirmCancel = null;
      messages.fail(errorText(err));
    } finally {
      state.busyCampaigns.delete(c.campaignId);
      if (ctx.isCurrent()) {
        rerender();
        focusEl(focusAfter);
      }
    }
  }

  // ---- Tool: outgoing unitary -------------------------------------------------------------------

  function buildUnitary() {
    const campaignSelect = h('select', { name: 'campaign' }, h('option', { value: '' }, t('common.loading')));
    const campaignField = field({ id: 'dm-unitary-campaign', labelKey: 'dm.campaign', control: campaignSelect, testid: 'dm-unitary-campaign' });
    const toField = field({
      id: 'dm-unitary-to', labelKey: 'dm.number', hintKey: 'dm.numberHint', testid: 'dm-unitary-to',
      control: h('input', { type: 'text', name: 'to', autocomplete: 'off', inputmode: 'tel', spellcheck: 'false', class: 'input-mono', maxlength: '32' }),
    });
    const textArea = h('textarea', { name: 'text', rows: '3', maxlength: '5000' });
    const textField = field({ id: 'dm-unitary-text', labelKey: 'dm.text', control: textArea, testid: 'dm-unitary-text' });
    const counter = h('span', { class: 'field-hint char-count', 'aria-live': 'off', dataset: { testid: 'dm-unitary-count' } }, tCount('dm.characters', 0));
    textField.el.append(counter);
    const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'dm-unitary-send' } }, t('dm.unitarySend'));
    const status = h('p', { class: 'notice notice-ok', role: 'status', dataset: { testid: 'dm-unitary-status' } });
    const error = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'dm-unitary-error' } });
    const fields = { campaign: campaignField, to: toField, text: textField };
    const form = h('form', { class: 'tool-form', novalidate: true, dataset: { testid: 'dm-unitary-form' } },
      h('p', { class: 'panel-hint' }, t('dm.unitaryHint')),
      h('div', { class: 'form-grid' }, campaignField.el, toField.el),
      h('div', { class: 'form-grid' }, h('div', { class: 'field-wide' }, textField.el)),
      error,
      h('div', { class: 'form-actions form-actions-status' }, sendBtn, status));
    const el = h('div', null, form);
    let campaignsKey = null;

    textArea.addEventListener('input', () => {
      counter.textContent = tCount('dm.characters', [...textArea.value].length);
    });

    function setCampaigns(list) {
      const key = list.map((c) => `${c.id}:${c.name}`).join('|');
      if (key === campaignsKey) return;
      campaignsKey = key;
      const value = campaignSelect.value;
      clear(campaignSelect);
      campaignSelect.append(h('option', { value: '' }, list.length ? t('dm.chooseCampaign') : t('dm.noCampaigns')),
        ...list.map((c) => h('option', { value: c.name }, c.name)));
      if (list.some((c) => c.name === value)) campaignSelect.value = value;
      else if (list.length === 1) campaignSelect.value = list[0].name;
    }

    function prefill(name) {
      campaignSelect.value = name;
      status.textContent = '';
      el.scrollIntoView({ block: 'nearest' });
      toField.control.focus();
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      for (const f of Object.values(fields)) f.setError('');
      error.textContent = '';
      status.textContent = '';
      const body = { campaign: campaignSelect.value, to: toField.control.value.trim(), text: textArea.value };
      if (!body.campaign) { campaignField.setError(t('dm.campaignRequired')); campaignSelect.focus(); return; }
      if (!body.to) { toField.setError(t('dm.numberRequired')); toField.control.focus(); return; }
      if (!body.text.trim()) { textField.setError(t('dm.textRequired')); textArea.focus(); return; }
      sendBtn.disabled = true;
      sendBtn.textContent = t('dm.unitarySending');
      try {
        const r = await monitorApi.unitary(body);
        if (!ctx.isCurrent()) return;
        const m = (r && r.message) || {};
        status.textContent = t('dm.unitaryQueued', {
          id: m.id, to: m.to || body.to, state: stateLabel(m.state || 'to_process'),
          encoding: m.encoding || '', segments: tCount('dm.segments', m.segments || 1),
        });
        toField.control.value = '';
        textArea.value = '';
        counter.textContent = tCount('dm.characters', 0);
        source.refresh();
        toField.control.focus();
      } catch (err) {
        if (!ctx.isCurrent() || err.status === 401) return;
        const target = err.field && fields[err.field];
        if (target) { target.setError(errorText(err)); target.control.focus(); } else error.textContent = errorText(err);
      } finally {
        sendBtn.disabled = false;
        sendBtn.textContent = t('dm.unitarySend');
      }
    });

    return { el, setCampaigns, prefill };
  }

  // ---- Tool: outgoing massive (bulk CSV, dry run first) ----------------------------------------

  function buildBulkImport() {
    const box = uploadBox({ prefix: 'dm-import', ctx, labelKey: 'dm.importFile', hintKey: 'dm.importHint' });
    const dryRunBtn = h('button', { type: 'button', class: 'btn btn-primary', dataset: { testid: 'dm-import-dryrun' } }, t('dm.dryRun'));
    const queueBtn = h('button', { type: 'button', class: 'btn btn-primary', hidden: true, dataset: { testid: 'dm-import-queue' } });
    const el = h('div', null,
      h('p', { class: 'panel-hint' }, t('dm.importIntro')),
      h('div', { class: 'upload-row' }, box.fileField.el, h('div', { class: 'form-actions' }, dryRunBtn, queueBtn)),
      box.progressRow, box.error, box.result);
    let checked = null; // { file, report } of the last dry run that passed

    /** The button to press next is the primary one: Dry run, or Queue after a dry run passed. */
    function setQueueShown(shown) {
      queueBtn.hidden = !shown;
      dryRunBtn.className = shown ? 'btn' : 'btn btn-primary';
    }

    function setBusy(busy) {
      dryRunBtn.disabled = busy;
      queueBtn.disabled = busy;
      box.input.disabled = busy;
    }

    box.input.addEventListener('change', () => {
      checked = null;
      setQueueShown(false);
      clear(box.result);
      box.error.textContent = '';
      box.fileField.setError('');
    });

    function showReport(report, file) {
      clear(box.result);
      if (report.refused) {
        const n = report.issues.length;
        box.result.append(
          h('p', { class: 'notice notice-error', dataset: { testid: 'dm-import-refused' } },
            tCount('dm.importRefused', n, { file: report.fileName || file.name })),
          issuesTable('dm-import', report.issues));
        return;
      }
      const perEncoding = report.encodings || {};
      const encodings = Object.keys(perEncoding).length
        ? Object.entries(perEncoding).map(([k, v]) => `${k}: ${fmt(v)}`).join(' · ') : t('common.none');
      const campaigns = Object.entries(report.campaigns || {});
      box.result.append(
        report.dryRun
          ? h('p', { class: 'notice notice-info', dataset: { testid: 'dm-import-dryrun-note' } }, t('dm.dryRunNote', { file: report.fileName }))
          : h('p', { class: 'notice notice-ok', dataset: { testid: 'dm-import-done' } },
            tCount('dm.importQueued', report.queued || 0, { file: report.fileName })),
        summaryList('dm-import', [
          ['rows', t('dm.rRows'), fmt(report.rows)],
          ['valid', t('dm.rValid'), fmt(report.valid)],
          ['invalid', t('dm.rInvalid'), fmt(report.invalid)],
          ['duplicates', t('dm.rDuplicates'), fmt(report.duplicates)],
          ['dncr', t('dm.rDncr'), fmt(report.blockedByDNCR)],
          ['optedout', t('dm.rOptedOut'), fmt(report.optedOut)],
          ['tosend', t('dm.rToSend'), fmt(report.toSend)],
          ['segments', t('dm.rSegments'), fmt(report.segments)],
          ['encodings', t('dm.rEncodings'), encodings],
        ]),
        campaigns.length ? h('div', { class: 'table-wrap' },
          h('table', { class: 'table table-compact', dataset: { testid: 'dm-import-campaigns' } },
            h('caption', { class: 'visually-hidden' }, t('dm.rPerCampaign')),
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('dm.campaign')), h('th', { scope: 'col', class: 'num' }, t('dm.rRows')))),
            h('tbody', null, campaigns.map(([name, n]) => h('tr', { dataset: { campaign: name } },
              h('td', null, name), h('td', { class: 'num' }, fmt(n))))))) : null);
    }

    async function upload(dryRun) {
      const file = box.file();
      if (!dryRun && (!checked || checked.file !== file)) return;
      setBusy(true);
      if (dryRun) { setQueueShown(false); checked = null; }
      clear(box.result);
      try {
        const r = await box.run(`/spool/import?fileName={fileName}&dryRun=${dryRun ? 'true' : 'false'}`);
        if (!r || !ctx.isCurrent()) return;
        showReport(r.report, r.file);
        if (dryRun && !r.report.refused) {
          checked = { file: r.file, report: r.report };
          queueBtn.textContent = tCount('dm.queueN', r.report.rows);
          setQueueShown(true);
          queueBtn.disabled = false;
          queueBtn.focus();
        } else if (!dryRun) {
          checked = null;
          setQueueShown(false);
          if (!r.report.refused) {
            box.input.value = '';
            source.refresh();
          }
        }
      } finally {
        if (ctx.isCurrent()) {
          setBusy(false);
          if (queueBtn.hidden && document.activeElement === document.body) dryRunBtn.focus();
        }
      }
    }

    dryRunBtn.addEventListener('click', () => upload(true));
    queueBtn.addEventListener('click', () => upload(false));
    return { el };
  }

  // ---- Tool: DNCR upload -----------------------------------------------------------------------

  function buildDncrImport() {
    const box = uploadBox({ prefix: 'dm-dncr', ctx, labelKey: 'dm.dncrFile', hintKey: 'dm.dncrHint' });
    const uploadBtn = h('button', { type: 'button', class: 'btn btn-primary', dataset: { testid: 'dm-dncr-upload' } }, t('dm.dncrUpload'));
    const el = h('div', null,
      h('p', { class: 'panel-hint' }, t('dm.dncrIntro')),
      h('div', { class: 'upload-row' }, box.fileField.el, h('div', { class: 'form-actions' }, uploadBtn)),
      box.progressRow, box.error, box.result);

    box.input.addEventListener('change', () => { clear(box.result); box.error.textContent = ''; box.fileField.setError(''); });

    uploadBtn.addEventListener('click', async () => {
      uploadBtn.disabled = true;
      box.input.disabled = true;
      clear(box.result);
      try {
        const r = await box.run('/dncr/import');
        if (!r || !ctx.isCurrent()) return;
        const rep = r.report;
        if (rep.refused) {
          box.result.append(
            h('p', { class: 'notice notice-error', dataset: { testid: 'dm-dncr-refused' } },
              tCount('dm.dncrRefused', rep.issues.length, { file: r.file.name })),
            issuesTable('dm-dncr', rep.issues));
        } else {
          box.result.append(
            h('p', { class: 'notice notice-ok', dataset: { testid: 'dm-dncr-done' } }, t('dm.dncrDone', { file: r.file.name })),
            summaryList('dm-dncr', [
              ['rows', t('dm.rRows'), fmt(rep.rows)],
              ['added', t('dm.dncrAdded'), fmt(rep.added)],
              ['already', t('dm.dncrAlready'), fmt(rep.alreadyListed)],
            ]));
          box.input.value = '';
        }
      } finally {
        if (ctx.isCurrent()) {
          uploadBtn.disabled = false;
          box.input.disabled = false;
        }
      }
    });
    return { el };
  }

  // ---- Reports -----------------------------------------------------------------------------------

  function buildReports() {
    const title = h('h2', { id: 'dm-reports-title', class: 'panel-title', tabindex: '-1' }, t('dm.reportsTitle'));
    const campaignSelect = h('select', { name: 'campaignId' }, h('option', { value: '' }, t('dm.allCampaigns')));
    const campaignField = field({ id: 'dm-report-campaign', labelKey: 'dm.campaign', control: campaignSelect, testid: 'dm-report-campaign' });
    const numberField = field({
      id: 'dm-report-number', labelKey: 'dm.numberContains', testid: 'dm-report-number',
      control: h('input', { type: 'text', name: 'number', autocomplete: 'off', inputmode: 'tel', spellcheck: 'false', class: 'input-mono', maxlength: '32' }),
    });
    const fromField = field({ id: 'dm-report-from', labelKey: 'dm.from', testid: 'dm-report-from', control: h('input', { type: 'date', name: 'from' }) });
    const toField = field({ id: 'dm-report-to', labelKey: 'dm.to', testid: 'dm-report-to', control: h('input', { type: 'date', name: 'to' }) });
    const stateBoxes = new Map();
    const states = h('fieldset', { class: 'state-filter', dataset: { testid: 'dm-report-states' } },
      h('legend', null, t('dm.states')),
      STATES.map((st) => {
        const box = h('input', { type: 'checkbox', value: st, id: `dm-report-state-${st}`, dataset: { testid: `dm-report-state-${st}` } });
        stateBoxes.set(st, box);
        return h('label', { class: 'check chip', for: box.id }, box, h('span', { class: `dm-swatch seg-${st}`, 'aria-hidden': 'true' }), stateLabel(st));
      }));
    const searchBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'dm-report-search' } }, t('dm.search'));
    const resetBtn = h('button', { type: 'button', class: 'btn btn-ghost', dataset: { testid: 'dm-report-reset' } }, t('dm.resetFilters'));
    const exportLink = h('a', { class: 'btn', href: '/api/v1/spool?format=csv', dataset: { testid: 'dm-report-export' } }, t('dm.exportCsv'));
    const form = h('form', { class: 'report-form', novalidate: true, dataset: { testid: 'dm-report-form' } },
      h('div', { class: 'report-filters' }, campaignField.el, numberField.el, fromField.el, toField.el),
      states,
      h('div', { class: 'form-actions' }, searchBtn, resetBtn, exportLink));
    const error = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'dm-report-error' } });

    const tbody = h('tbody');
    const table = h('table', { class: 'table report-table', 'aria-busy': 'false', dataset: { testid: 'dm-report-table' } },
      h('caption', { class: 'visually-hidden' }, t('dm.reportsTitle')),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'num' }, t('dm.colId')),
        h('th', { scope: 'col' }, t('dm.colCreated')),
        h('th', { scope: 'col' }, t('dm.campaign')),
        h('th', { scope: 'col' }, t('dm.number')),
        h('th', { scope: 'col' }, t('dm.text')),
        h('th', { scope: 'col' }, t('dm.colState')),
        h('th', { scope: 'col', class: 'num' }, t('dm.colAttempts')),
        h('th', { scope: 'col', class: 'num' }, t('dm.colSegments')),
        h('th', { scope: 'col' }, t('dm.colError')),
        h('th', { scope: 'col' }, t('dm.colSent')),
        h('th', { scope: 'col' }, t('dm.colDelivered')))),
      tbody);
    const newerBtn = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { testid: 'dm-report-newer' } }, t('dm.newer'));
    const olderBtn = h('button', { type: 'button', class: 'btn btn-small', disabled: true, dataset: { testid: 'dm-report-older' } }, t('dm.older'));
    const pageLabel = h('span', { class: 'muted', dataset: { testid: 'dm-report-page' } });
    const refreshBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'dm-report-refresh' } }, t('common.refresh'));
    const el = h('section', { class: 'panel', 'aria-labelledby': title.id, dataset: { testid: 'dm-reports' } },
      h('div', { class: 'panel-head' }, title, refreshBtn),
      form, error,
      h('div', { class: 'table-wrap' }, table),
      h('div', { class: 'pager' }, newerBtn, pageLabel, olderBtn));

    // Applied filter (what the table shows) and the cursors of the pages seen: [null, id, id, …].
    let applied = null;
    let cursors = [null];
    let nextBefore = null;
    let seq = 0;
    let campaignsKey = null;

    function filterFromForm() {
      const from = startOfDay(fromField.control.value);
      const to = startOfDay(toField.control.value, 1); // "to" includes the whole day
      return {
        campaignId: campaignSelect.value,
        states: STATES.filter((st) => stateBoxes.get(st).checked),
        number: numberField.control.value.trim(),
        from: from ? isoSeconds(from) : '',
        to: to ? isoSeconds(to) : '',
      };
    }

    function query(f, extra = {}) {
      const p = new URLSearchParams();
      if (f.campaignId) p.set('campaignId', f.campaignId);
      if (f.states.length) p.set('state', f.states.join(','));
      if (f.number) p.set('number', f.number);
      if (f.from) p.set('from', f.from);
      if (f.to) p.set('to', f.to);
      for (const [k, v] of Object.entries(extra)) if (v !== null && v !== undefined) p.set(k, String(v));
      return p.toString();
    }

    function updateExport() {
      exportLink.href = `/api/v1/spool?${query(filterFromForm(), { format: 'csv' })}`;
    }

    function validDates() {
      fromField.setError('');
      toField.setError('');
      const from = fromField.control.value;
      const to = toField.control.value;
      if (from && to && from > to) {
        toField.setError(t('dm.toBeforeFrom'));
        return false;
      }
      return true;
    }

    form.addEventListener('input', updateExport);
    form.addEventListener('change', updateExport);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!validDates()) { toField.control.focus(); return; }
      applied = filterFromForm();
      cursors = [null];
      load();
    });
    resetBtn.addEventListener('click', () => {
      campaignSelect.value = '';
      numberField.control.value = '';
      fromField.control.value = '';
      toField.control.value = '';
      for (const box of stateBoxes.values()) box.checked = false;
      validDates();
      updateExport();
      applied = filterFromForm();
      cursors = [null];
      load();
    });
    refreshBtn.addEventListener('click', () => load());
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

    function errorCell(m) {
      const parts = [];
      if (m.errorCode) parts.push(h('span', { class: 'mono' }, m.errorCode));
      if (m.error) parts.push(h('span', null, m.error));
      if (m.blockReason) parts.push(h('span', null, m.blockReason));
      if (m.possibleDuplicate) parts.push(h('span', { class: 'status-badge status-warn', title: t('dm.duplicatesHint') }, t('dm.possibleDuplicate')));
      if (!parts.length) return h('span', { class: 'muted' }, t('common.none'));
      return h('span', { class: 'cell-inline error-cell' }, parts);
    }

    function row(m) {
      return h('tr', { dataset: { testid: `dm-report-row-${m.id}`, id: String(m.id), state: m.state, to: m.to } },
        h('td', { class: 'num' }, String(m.id)),
        h('td', null, timeElement(m.createdAt, { todayStyle: 'timeSeconds' })),
        h('td', null, campaignName(m.campaignId)),
        h('td', { class: 'mono' }, m.to),
        h('td', null, h('span', { class: 'cell-text', title: m.text }, m.text)),
        h('td', null, h('span', { class: `status-badge state-${m.state}` }, stateLabel(m.state))),
        h('td', { class: 'num' }, fmt(m.attempts)),
        h('td', { class: 'num', title: m.encoding || '' }, fmt(m.segments)),
        h('td', null, errorCell(m)),
        h('td', null, timeElement(m.sentAt, { todayStyle: 'timeSeconds' })),
        h('td', null, timeElement(m.deliveredAt, { todayStyle: 'timeSeconds' })));
    }

    async function load(focusAfter = null) {
      if (!applied) applied = filterFromForm();
      const mySeq = ++seq;
      const before = cursors[cursors.length - 1];
      table.setAttribute('aria-busy', 'true');
      error.textContent = '';
      try {
        const r = await monitorApi.report(query(applied, { limit: REPORT_PAGE, before }));
        if (!ctx.isCurrent() || mySeq !== seq) return;
        const list = (r && r.messages) || [];
        nextBefore = r && r.nextBefore !== undefined && r.nextBefore !== null ? r.nextBefore : null;
        clear(tbody);
        if (list.length === 0) {
          tbody.append(h('tr', null, h('td', { colspan: '11', class: 'muted', dataset: { testid: 'dm-report-empty' } },
            cursors.length > 1 ? t('dm.reportNoMore') : t('dm.reportEmpty'))));
        } else {
          const frag = document.createDocumentFragment();
          for (const m of list) frag.appendChild(row(m));
          tbody.appendChild(frag);
        }
        pageLabel.textContent = t('dm.page', { n: cursors.length });
        newerBtn.disabled = cursors.length <= 1;
        olderBtn.disabled = nextBefore === null;
        if (focusAfter && focusAfter.disabled) focusEl(title);
      } catch (err) {
        if (ctx.isCurrent() && mySeq === seq && err.status !== 401) error.textContent = errorText(err);
      } finally {
        if (mySeq === seq) table.setAttribute('aria-busy', 'false');
      }
    }

    function setCampaigns(list) {
      const key = list.map((c) => `${c.id}:${c.name}`).join('|');
      if (key === campaignsKey) return;
      campaignsKey = key;
      const value = campaignSelect.value;
      clear(campaignSelect);
      campaignSelect.append(h('option', { value: '' }, t('dm.allCampaigns')),
        ...list.map((c) => h('option', { value: String(c.id) }, c.name)));
      if (list.some((c) => String(c.id) === value)) campaignSelect.value = value;
      // First data: show the latest messages; later changes: the rows' campaign names may have changed.
      load();
    }

    /** Show the report for a campaign (and states), e.g. from a card or a funnel step. */
    function show({ campaignId = '', states: wanted = [] } = {}) {
      campaignSelect.value = String(campaignId);
      for (const [st, box] of stateBoxes) box.checked = wanted.includes(st);
      numberField.control.value = '';
      fromField.control.value = '';
      toField.control.value = '';
      validDates();
      updateExport();
      applied = filterFromForm();
      cursors = [null];
      el.scrollIntoView({ block: 'start' });
      focusEl(title);
      // Once the rows are in, the panel can scroll to the top (unless the user moved on).
      load().then(() => { if (document.activeElement === title) el.scrollIntoView({ block: 'start' }); });
    }

    updateExport();
    return { el, setCampaigns, show, load };
  }

  // ---- Start --------------------------------------------------------------------------------------

  // Provider names for the dialer rows: loaded once, and again when a dialer names a provider not seen yet.
  let providersLoading = false;
  const providersAsked = new Set();
  async function loadProviders() {
    providersLoading = true;
    try {
      const r = await monitorApi.providers();
      if (!ctx.isCurrent()) return;
      state.providers = new Map(((r && r.providers) || []).map((p) => [p.id, p.name]));
      refreshCards();
    } catch (err) {
      // Provider names are a convenience; the ids still show.
    } finally {
      providersLoading = false;
    }
  }

  function ensureProviderNames(data) {
    if (providersLoading) return; // the next tick checks again
    let unknown = false;
    for (const c of (data && data.campaigns) || []) {
      for (const d of c.dialers) {
        if (!state.providers.has(d.providerId) && !providersAsked.has(d.providerId)) {
          providersAsked.add(d.providerId);
          unknown = true;
        }
      }
    }
    if (unknown) loadProviders();
  }

  ctx.onLeave(() => source.stop());
  source.start(onData, onError);
  loadProviders();
}
