// Campaign monitor and threshold view (SPEC S1–S3, S6), for admins and supervisors, live.
//
// Top: the campaign's live values against its thresholds (service level, abandon rate, average and
// longest chat time, queue length, longest wait), coloured when crossed, and two charts of the day
// (service level and queue length per hour) drawn here as SVG. Below: the agents — status (offline /
// available / busy / paused with the reason), time in that status (ticking), channels with open
// conversations, active conversations, completed today — each with an actions menu (info, spy,
// monitor screen, pause, chat, disconnect); the campaign queue with each client's wait (ticking); and the
// conversations this supervisor took over. A side panel shows the action: spying is read-only and
// silent (a plain read: nothing is marked read, nothing the agent or client sees changes), with
// "take over"; a conversation taken over can be answered and closed from the same panel. Monitor
// screen (where an admin allowed it for the agent) shows the agent's inbox as they see it: the
// conversation they have open (read like spying: silent) and their draft, live from `agent.screen`
// events; closing the panel stops watching.
//
// Data: GET /monitor/campaigns/{id} (agents, queue, today, live) again whenever an `agent.status`
// or `conversation.*` event of this campaign arrives (an agent's status is patched in at once),
// after a reconnect, and every 30 s; GET /monitor/campaigns/{id}/metrics for the cards' day and
// the charts. A supervisor sees only the campaigns an admin assigned to them.

import { request } from '../api.js';
import * as liveEvents from '../live.js';
import { t } from '../i18n.js';
import { formatDate, formatDuration, formatNumber, formatPercent, formatCalendarDay } from '../format.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, messageArea, preserveFocus } from '../components.js';

const enc = encodeURIComponent;
const monitorApi = {
  campaigns: () => request('GET', '/monitor/campaigns'),
  snapshot: (id) => request('GET', `/monitor/campaigns/${enc(id)}`),
  metrics: (id, day) => request('GET', `/monitor/campaigns/${enc(id)}/metrics?every=3600${day ? `&day=${enc(day)}` : ''}`),
  info: (id) => request('GET', `/monitor/agents/${enc(id)}`),
  pause: (id, reason) => request('POST', `/monitor/agents/${enc(id)}/pause`, { reason }),
  disconnect: (id) => request('POST', `/monitor/agents/${enc(id)}/disconnect`),
  chat: (id) => request('GET', `/monitor/agents/${enc(id)}/chat`),
  sendChat: (id, text) => request('POST', `/monitor/agents/${enc(id)}/chat`, { text }),
  spy: (id) => request('GET', `/monitor/conversations/${enc(id)}`),
  watchScreen: (id, watch) => request('POST', `/monitor/agents/${enc(id)}/screen`, { watch }),
  takeOver: (id) => request('POST', `/monitor/conversations/${enc(id)}/takeover`),
  mine: () => request('GET', '/inbox'),
  reply: (id, text) => request('POST', `/conversations/${enc(id)}/messages`, { text }),
  close: (id, wrapUp) => request('POST', `/conversations/${enc(id)}/close`, wrapUp ? { wrapUp } : {}),
};

const CAMPAIGN_KEY = 'smsdesk.monitor.campaign';
const REFRESH_MS = 30000;
const METRICS_MS = 60000;
const PAUSE_REASONS = ['mon.reasonCoaching', 'mon.reasonBreak', 'mon.reasonMeeting'];
const ACTIONS = ['info', 'spy', 'screen', 'pause', 'chat', 'disconnect'];
const SVG = 'http://www.w3.org/2000/svg';

// ---- Formatting ------------------------------------------------------------------------------

/** "0:42", "12:05", "1:02:03", "2 d 3 h". */
function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return t('mon.none');
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 86400) return t('mon.days', { days: formatNumber(Math.floor(s / 86400)), hours: formatNumber(Math.floor((s % 86400) / 3600)) });
  return formatDuration(s);
}

function percent(fraction) {
  if (fraction === null || fraction === undefined) return t('mon.none');
  return formatPercent(fraction);
}

/** HH:mm of an instant in the user's time zone, or in `timeZone` (a campaign's) when given. */
function clock(iso, timeZone = null) {
  return formatDate(iso, 'hour', timeZone);
}

/** The hour of an instant in the campaign's time zone (the charts' slices). */
function hourLabel(iso, timeZone) {
  return formatDate(iso, 'hourOnly', timeZone);
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/**
 * A bar chart of one value per slice, drawn as SVG: bars for the value (none where it is null),
 * optionally a second series as a line with dots, and a dashed threshold line.
 */
function barChart({ slices, value, line = null, max, threshold = null, format, timeZone, label, testid }) {
  const W = 560; const H = 170; const left = 40; const right = 8; const top = 10; const bottom = 22;
  const plotW = W - left - right; const plotH = H - top - bottom;
  const n = Math.max(1, slices.length);
  const step = plotW / n;
  const y = (v) => top + plotH - (Math.max(0, Math.min(max, v)) / max) * plotH;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'mon-chart', role: 'img', 'aria-label': label, 'data-testid': testid });
  root.append(svg('title', {}, label));
  for (const fraction of [0, 0.5, 1]) {
    const gy = y(max * fraction);
    root.append(svg('line', { x1: left, x2: W - right, y1: gy, y2: gy, class: 'mon-gridline' }));
    root.append(svg('text', { x: left - 4, y: gy + 4, class: 'mon-axis', 'text-anchor': 'end' }, format(max * fraction)));
  }
  slices.forEach((slice, i) => {
    const v = value(slice);
    const x = left + i * step;
    if (v !== null && v !== undefined) {
      const top0 = y(v);
      const bar = svg('rect', { x: x + step * 0.15, y: top0, width: Math.max(1, step * 0.7), height: Math.max(0, top + plotH - top0),
        class: threshold !== null && threshold.crossed(v) ? 'mon-bar mon-bar-crossed' : 'mon-bar', 'data-slice': i, 'data-value': v });
      bar.append(svg('title', {}, `${hourLabel(slice.start, timeZone)}:00 ${format(v)}`));
      root.append(bar);
    }
    if (i % 3 === 0) {
      root.append(svg('text', { x: x + step / 2, y: H - 6, class: 'mon-axis', 'text-anchor': 'middle' }, hourLabel(slice.start, timeZone)));
    }
  });
  if (line) {
    const points = [];
    slices.forEach((slice, i) => {
      const v = line.value(slice);
      if (v === null || v === undefined) return;
      points.push([left + i * step + step / 2, y(v), v]);
    });
    if (points.length > 1) {
      root.append(svg('polyline', { points: points.map(([px, py]) => `${px},${py}`).join(' '), class: 'mon-line' }));
    }
    for (const [px, py, v] of points) root.append(svg('circle', { cx: px, cy: py, r: 2.5, class: 'mon-dot', 'data-value': v }));
  }
  if (threshold !== null && threshold.value <= max) {
    const ty = y(threshold.value);
    root.append(svg('line', { x1: left, x2: W - right, y1: ty, y2: ty, class: 'mon-threshold', 'data-testid': `${testid}-threshold` }));
  }
  return root;
}

// ---- The view -------------------------------------------------------------------------------

export function render(main, ctx) {
  const me = ctx.user.id;
  const state = {
    campaigns: null,
    campaignId: null,
    snap: null,
    fetchedAt: 0,       // Date.now() when snap arrived
    skew: 0,            // server clock - browser clock, ms
    metrics: null,
    day: '',            // '' = today
    mine: [],
    menuOpen: null,     // agent id whose actions menu is open
    panel: null,        // { kind, agentId?, conversationId?, data, busy, error, confirm }
    live: 'connecting',
  };
  const messages = messageArea('mon');
  const unsubscribe = [];
  const timers = [];
  let refreshTimer = null;
  let metricsTimer = null;
  let loading = null;
  let loadAgain = false;
  let metricsLoading = false;

  // ---- Header -------------------------------------------------------------------------------
  const liveText = h('span', null, t('mon.connecting'));
  const liveEl = h('p', { class: 'live-indicator', dataset: { testid: 'mon-live', state: 'connecting' } },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }), liveText);
  const campaignSelect = h('select', { id: 'mon-campaign', class: 'select-small', dataset: { testid: 'mon-campaign' },
    onchange: () => selectCampaign(Number(campaignSelect.value)) });
  const header = pageHeader('mon.title', h('div', { class: 'mon-tools' },
    h('label', { for: 'mon-campaign', class: 'mon-tool-label' }, t('mon.campaign')), campaignSelect, liveEl));

  // ---- Threshold view -------------------------------------------------------------------------
  const kpis = h('div', { class: 'mon-kpis', dataset: { testid: 'mon-kpis' } });
  const dayInput = h('input', { type: 'date', id: 'mon-day', dataset: { testid: 'mon-day' },
    onchange: () => { state.day = dayInput.value; state.metrics = null; renderCharts(); loadMetrics(); } });
  const todayButton = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'mon-today' },
    onclick: () => { dayInput.value = ''; state.day = ''; loadMetrics(); } }, t('mon.today'));
  const dayTotals = h('p', { class: 'mon-day-totals', dataset: { testid: 'mon-day-totals' } });
  const charts = h('div', { class: 'mon-charts', dataset: { testid: 'mon-charts' } });
  const thresholdPanel = h('section', { class: 'panel mon-threshold-panel', 'aria-labelledby': 'mon-threshold-title' },
    h('div', { class: 'panel-head' },
      h('h2', { id: 'mon-threshold-title', class: 'panel-title' }, t('mon.thresholdTitle')),
      h('div', { class: 'mon-day' }, h('label', { for: 'mon-day' }, t('mon.day')), dayInput, todayButton)),
    kpis, dayTotals, charts);

  // ---- Agents, queue, mine ------------------------------------------------------------------------
  const agentsBody = h('tbody', { dataset: { testid: 'mon-agents-body' } });
  const agentsTable = h('table', { class: 'table mon-agents', 'aria-busy': 'true', dataset: { testid: 'mon-agents' } },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('mon.colAgent')),
      h('th', { scope: 'col' }, t('mon.colStatus')),
      h('th', { scope: 'col' }, t('mon.colInStatus')),
      h('th', { scope: 'col' }, t('mon.colChannels')),
      h('th', { scope: 'col' }, t('mon.colActive')),
      h('th', { scope: 'col', class: 'num' }, t('mon.colCompleted')),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('mon.colActions'))))),
    agentsBody);
  const queueBody = h('tbody', { dataset: { testid: 'mon-queue-body' } });
  const queueCount = h('span', { class: 'pill', dataset: { testid: 'mon-queue-count' } }, '0');
  const queueTable = h('table', { class: 'table mon-queue', dataset: { testid: 'mon-queue' } },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('mon.colClient')),
      h('th', { scope: 'col' }, t('mon.colState')),
      h('th', { scope: 'col' }, t('mon.colWaiting')),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('mon.colActions'))))),
    queueBody);
  const mineList = h('ul', { class: 'mon-mine', dataset: { testid: 'mon-mine' } });
  const mineSection = h('section', { class: 'panel', 'aria-labelledby': 'mon-mine-title', hidden: true },
    h('h2', { id: 'mon-mine-title', class: 'panel-title' }, t('mon.mineTitle')), mineList);
  const left = h('div', { class: 'mon-left' },
    h('section', { class: 'panel', 'aria-labelledby': 'mon-agents-title' },
      h('h2', { id: 'mon-agents-title', class: 'panel-title' }, t('mon.agentsTitle')),
      h('div', { class: 'table-wrap mon-agents-wrap' }, agentsTable)),
    h('section', { class: 'panel', 'aria-labelledby': 'mon-queue-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'mon-queue-title', class: 'panel-title' }, t('mon.queueTitle')), queueCount),
      h('div', { class: 'table-wrap' }, queueTable)),
    mineSection);
  const side = h('aside', { class: 'panel mon-side', hidden: true, 'aria-labelledby': 'mon-side-title', dataset: { testid: 'mon-side' } });
  const empty = h('p', { class: 'empty-state', hidden: true, dataset: { testid: 'mon-empty' } });
  const grid = h('div', { class: 'mon-grid' }, left, side);
  const body = h('div', { class: 'mon-body' }, thresholdPanel, grid);
  const root = h('div', { class: 'mon-page', dataset: { testid: 'mon-page' } }, header, messages.el, empty, body);
  clear(main).append(root);

  // ---- Loading --------------------------------------------------------------------------------

  async function start() {
    try {
      const r = await monitorApi.campaigns();
      if (!ctx.isCurrent()) return;
      state.campaigns = r.campaigns;
      clear(campaignSelect);
      for (const c of r.campaigns) campaignSelect.append(h('option', { value: String(c.id) }, c.name));
      if (r.campaigns.length === 0) {
        body.hidden = true;
        empty.hidden = false;
        empty.textContent = ctx.user.role === 'supervisor' ? t('mon.noCampaignsSupervisor') : t('mon.noCampaigns');
        campaignSelect.disabled = true;
        return;
      }
      let wanted = Number(sessionStorage.getItem(CAMPAIGN_KEY));
      if (!r.campaigns.some((c) => c.id === wanted)) wanted = r.campaigns[0].id;
      selectCampaign(wanted);
    } catch (err) {
      if (ctx.isCurrent()) messages.fail(errorText(err));
    }
  }

  function selectCampaign(id) {
    state.campaignId = id;
    campaignSelect.value = String(id);
    try { sessionStorage.setItem(CAMPAIGN_KEY, String(id)); } catch (_) { /* private mode */ }
    state.snap = null;
    state.metrics = null;
    state.menuOpen = null;
    if (state.panel && state.panel.kind !== 'spy') closePanel();
    renderAll();
    load();
    loadMetrics();
  }

  /** The snapshot and the conversations taken over; merged runs, at most one at a time. */
  function load() {
    if (state.campaignId === null) return null;
    if (loading) { loadAgain = true; return loading; }
    const campaignId = state.campaignId;
    loading = (async () => {
      try {
        const asked = Date.now();
        const [snap, mine] = await Promise.all([monitorApi.snapshot(campaignId), monitorApi.mine()]);
        if (!ctx.isCurrent() || campaignId !== state.campaignId) return;
        const now = Date.now();
        state.snap = snap;
        state.fetchedAt = now;
        state.skew = Date.parse(snap.now) - (asked + now) / 2;
        state.mine = mine.conversations.filter((c) => c.state === 'assigned' && c.agentId === me);
        renderAll();
        if (state.live !== 'lost') messages.clear();
      } catch (err) {
        if (ctx.isCurrent()) messages.fail(errorText(err));
      } finally {
        loading = null;
      }
      if (ctx.isCurrent() && loadAgain) { loadAgain = false; load(); }
    })();
    return loading;
  }

  async function loadMetrics() {
    if (state.campaignId === null || metricsLoading) return;
    metricsLoading = true;
    const campaignId = state.campaignId;
    const day = state.day;
    try {
      const m = await monitorApi.metrics(campaignId, day);
      if (!ctx.isCurrent() || campaignId !== state.campaignId || day !== state.day) return;
      state.metrics = m;
      renderCharts();
      renderKpis();
    } catch (err) {
      if (ctx.isCurrent()) messages.fail(errorText(err));
    } finally {
      metricsLoading = false;
    }
  }

  function scheduleLoad(delay = 150) {
    if (refreshTimer !== null) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; if (ctx.isCurrent()) load(); }, delay);
  }

  function scheduleMetrics(delay = 3000) {
    if (metricsTimer !== null) return;
    metricsTimer = setTimeout(() => { metricsTimer = null; if (ctx.isCurrent()) loadMetrics(); }, delay);
  }

  /** Browser time, corrected to the server's clock. */
  function serverNow() { return Date.now() + state.skew; }

  function since(iso) { return iso ? (serverNow() - Date.parse(iso)) / 1000 : null; }

  // ---- Rendering --------------------------------------------------------------------------------

  function renderAll() {
    renderKpis();
    renderAgents();
    renderQueue();
    renderMine();
    renderSide();
  }

  function campaign() { return (state.snap && state.snap.campaign) || (state.campaigns || []).find((c) => c.id === state.campaignId) || null; }

  /** The live values and their thresholds; `tick` values move with the clock between loads. */
  function kpiValues() {
    const c = campaign();
    const snap = state.snap;
    if (!c || !snap) return null;
    const th = c.thresholds;
    const today = (state.metrics && !state.day ? state.metrics.totals.queue : snap.today.queue);
    const elapsed = (Date.now() - state.fetchedAt) / 1000;
    const waits = snap.queue.map((q) => since(q.queuedAt)).filter((v) => v !== null);
    const longestWait = waits.length ? Math.max(...waits) : null;
    const openChat = snap.live.longestOpenChat === null ? null : snap.live.longestOpenChat + elapsed;
    const longestChat = [today.longestChatTime, openChat].filter((v) => v !== null && v !== undefined);
    return [
      { key: 'service-level', label: t('mon.kpiServiceLevel'), value: percent(today.serviceLevel),
        limit: t('mon.limitTarget', { value: formatPercent(c.serviceLevelPercent / 100) }),
        crossed: today.serviceLevel !== null && today.serviceLevel * 100 < c.serviceLevelPercent,
        hint: t('mon.kpiServiceLevelHint', { seconds: th.serviceLevelSeconds, answered: today.answered }) },
      { key: 'abandon-rate', label: t('mon.kpiAbandonRate'), value: percent(today.abandonRate),
        limit: t('mon.limitAbandon', { value: duration(th.abandonSeconds) }), crossed: false,
        hint: t('mon.kpiAbandonHint', { abandoned: today.abandoned, offered: today.offered }) },
      { key: 'average-chat', label: t('mon.kpiAverageChat'), value: duration(today.averageChatTime),
        limit: t('mon.limitMax', { value: duration(th.chatTimeSeconds) }),
        crossed: today.averageChatTime !== null && today.averageChatTime > th.chatTimeSeconds,
        hint: t('mon.kpiClosedHint', { closed: today.closed }) },
      { key: 'longest-chat', label: t('mon.kpiLongestChat'), value: duration(longestChat.length ? Math.max(...longestChat) : null),
        limit: t('mon.limitMax', { value: duration(th.chatTimeSeconds) }),
        crossed: longestChat.length > 0 && Math.max(...longestChat) > th.chatTimeSeconds,
        hint: t('mon.kpiOpenHint', { open: snap.live.openConversations }) },
      { key: 'queue-length', label: t('mon.kpiQueue'), value: String(snap.queue.length),
        limit: t('mon.limitMax', { value: th.acdQueueLength }), crossed: snap.queue.length > th.acdQueueLength,
        hint: t('mon.kpiAwaitingHint', { count: snap.live.awaitingReply }) },
      { key: 'longest-wait', label: t('mon.kpiLongestWait'), value: duration(longestWait),
        limit: t('mon.limitMax', { value: duration(th.acdWaitSeconds) }), crossed: longestWait !== null && longestWait > th.acdWaitSeconds,
        hint: t('mon.kpiWaitHint', { value: duration(today.averageWait) }) },
    ];
  }

  function renderKpis() {
    const values = kpiValues();
    clear(kpis);
    kpis.setAttribute('aria-busy', values ? 'false' : 'true');
    if (!values) return;
    for (const k of values) {
      kpis.append(h('div', { class: `mon-kpi${k.crossed ? ' is-crossed' : ''}`, dataset: { testid: `kpi-${k.key}`, crossed: String(k.crossed) } },
        h('p', { class: 'mon-kpi-label' }, k.label),
        h('p', { class: 'mon-kpi-value', dataset: { testid: `kpi-${k.key}-value` } }, k.value),
        h('p', { class: 'mon-kpi-limit' }, k.crossed ? h('strong', null, t('mon.crossed'), ' · ') : null, k.limit),
        h('p', { class: 'mon-kpi-hint' }, k.hint)));
    }
  }

  /** Only the ticking numbers of the cards, so that a reader's place is kept. */
  function tickKpis() {
    const values = kpiValues();
    if (!values) return;
    for (const k of values) {
      const card = kpis.querySelector(`[data-testid="kpi-${k.key}"]`);
      if (!card) { renderKpis(); return; }
      const value = card.querySelector('.mon-kpi-value');
      if (value.textContent !== k.value) value.textContent = k.value;
      if (card.dataset.crossed !== String(k.crossed)) { renderKpis(); return; }
    }
  }

  function renderCharts() {
    clear(charts);
    const m = state.metrics;
    const c = campaign();
    dayInput.value = state.day;
    if (!m || !c) {
      dayTotals.textContent = t('common.loading');
      return;
    }
    const q = m.totals.queue;
    dayTotals.textContent = t('mon.dayTotals', {
      day: formatCalendarDay(m.day), offered: q.offered, answered: q.answered, abandoned: q.abandoned, sl: percent(q.serviceLevel),
      handle: duration(q.averageHandleTime), wait: duration(q.averageWait),
    });
    const zone = c.timeZone;
    const target = c.serviceLevelPercent / 100;
    const sl = barChart({
      slices: m.series, value: (s) => s.queue.serviceLevel, max: 1, format: (v) => formatPercent(v, 0), timeZone: zone,
      threshold: { value: target, crossed: (v) => v < target },
      label: t('mon.chartServiceLevelLabel', { day: formatCalendarDay(m.day), target: formatNumber(c.serviceLevelPercent) }), testid: 'chart-service-level',
    });
    const peak = Math.max(c.thresholds.acdQueueLength, 1, ...m.series.map((s) => s.queueLength.peak));
    const ql = barChart({
      slices: m.series, value: (s) => s.queueLength.average, line: { value: (s) => (s.queueLength.average === null ? null : s.queueLength.peak) },
      max: peak, format: (v) => formatNumber(v, { maximumFractionDigits: 1 }), timeZone: zone,
      threshold: { value: c.thresholds.acdQueueLength, crossed: (v) => v > c.thresholds.acdQueueLength },
      label: t('mon.chartQueueLabel', { day: formatCalendarDay(m.day), limit: c.thresholds.acdQueueLength }), testid: 'chart-queue',
    });
    charts.append(
      h('figure', { class: 'mon-figure' }, h('figcaption', null, t('mon.chartServiceLevel'),
        h('span', { class: 'mon-legend' }, h('span', { class: 'mon-key mon-key-threshold' }), t('mon.legendTarget', { value: formatPercent(c.serviceLevelPercent / 100) }))), sl),
      h('figure', { class: 'mon-figure' }, h('figcaption', null, t('mon.chartQueue'),
        h('span', { class: 'mon-legend' }, h('span', { class: 'mon-key mon-key-bar' }), t('mon.legendAverage'),
          h('span', { class: 'mon-key mon-key-line' }), t('mon.legendPeak'),
          h('span', { class: 'mon-key mon-key-threshold' }), t('mon.legendLimit', { value: c.thresholds.acdQueueLength }))), ql));
  }

  function statusLabel(a) {
    return t(`mon.status.${a.status}`);
  }

  function renderAgents() {
    preserveFocus(agentsBody, () => {
      clear(agentsBody);
      const snap = state.snap;
      agentsTable.setAttribute('aria-busy', snap ? 'false' : 'true');
      if (!snap) {
        agentsBody.append(h('tr', null, h('td', { colspan: '7', class: 'muted' }, t('common.loading'))));
        return;
      }
      if (snap.agents.length === 0) {
        agentsBody.append(h('tr', null, h('td', { colspan: '7', class: 'muted', dataset: { testid: 'mon-agents-empty' } }, t('mon.noAgents'))));
        return;
      }
      for (const a of snap.agents) agentsBody.append(agentRow(a));
    });
  }

  function agentRow(a) {
    const name = a.displayName || a.username;
    const menuOpen = state.menuOpen === a.userId;
    const button = h('button', { type: 'button', class: 'btn btn-small', 'aria-haspopup': 'menu', 'aria-expanded': String(menuOpen),
      'aria-label': t('mon.actionsFor', { name }), dataset: { testid: `agent-actions-${a.userId}` },
      onclick: () => { state.menuOpen = menuOpen ? null : a.userId; renderAgents(); if (!menuOpen) focusMenu(a.userId); } },
    t('mon.actions'), ' ▾');
    const menu = menuOpen ? agentMenu(a, name) : null;
    return h('tr', { dataset: { testid: `agent-row-${a.userId}`, status: a.status }, class: a.status === 'offline' ? 'row-disabled' : null },
      h('th', { scope: 'row', class: 'cell-name' }, name, a.displayName !== a.username ? h('span', { class: 'muted mon-username' }, ` ${a.username}`) : null),
      h('td', null,
        h('span', { class: `mon-status mon-status-${a.status}`, dataset: { testid: `agent-status-${a.userId}` } }, statusLabel(a)),
        a.reason ? h('span', { class: 'mon-reason', dataset: { testid: `agent-reason-${a.userId}` } }, ` ${a.reason}`) : null),
      h('td', { class: 'num mon-since', dataset: { testid: `agent-since-${a.userId}`, since: a.since || '' } }, a.since ? duration(since(a.since)) : t('mon.none')),
      h('td', { class: 'td-wrap' }, channelsCell(a)),
      h('td', { class: 'td-wrap' }, activeCell(a)),
      h('td', { class: 'num', dataset: { testid: `agent-completed-${a.userId}` } }, String(a.completedToday)),
      h('td', { class: 'mon-actions-cell' }, h('div', { class: 'mon-menu-wrap' }, button, menu)));
  }

  function channelsCell(a) {
    if (a.channels.length === 0 && a.otherOpen === 0) return h('span', { class: 'muted' }, t('mon.none'));
    return h('span', { class: 'mon-channels', dataset: { testid: `agent-channels-${a.userId}` } },
      a.channels.map((c) => h('span', { class: 'pill' }, `${c.campaignName} ${c.open}`)),
      a.otherOpen > 0 ? h('span', { class: 'pill' }, t('mon.otherCampaigns', { count: a.otherOpen })) : null);
  }

  function activeCell(a) {
    const parts = [h('span', { class: 'mon-active-count', dataset: { testid: `agent-active-${a.userId}` } },
      t('mon.activeCount', { open: a.open, offers: a.offers }))];
    if (a.conversations.length) {
      parts.push(h('span', { class: 'mon-spy-links' }, a.conversations.map((c) => h('button', {
        type: 'button', class: 'btn btn-small btn-ghost mon-spy-link', 'aria-label': t('mon.spyOn', { number: c.clientNumber }),
        dataset: { testid: `spy-${c.id}` }, onclick: () => openSpy(c.id),
      }, c.clientNumber))));
    }
    return parts;
  }

  function agentMenu(a, name) {
    const items = ACTIONS.map((action) => {
      const disabled = action === 'spy' && a.conversations.length === 0;
      return h('li', { role: 'none' }, h('button', {
        type: 'button', role: 'menuitem', class: `mon-menu-item${action === 'disconnect' ? ' is-danger' : ''}`, disabled,
        dataset: { testid: `agent-action-${action}-${a.userId}` },
        onclick: () => { state.menuOpen = null; renderAgents(); openAction(action, a); },
      }, t(`mon.action.${action}`)));
    });
    const menu = h('ul', { class: 'mon-menu', role: 'menu', 'aria-label': t('mon.actionsFor', { name }), dataset: { testid: `agent-menu-${a.userId}` } }, items);
    menu.addEventListener('keydown', (ev) => {
      const buttons = [...menu.querySelectorAll('button:not([disabled])')];
      const i = buttons.indexOf(document.activeElement);
      if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
        ev.preventDefault();
        const next = buttons[(i + (ev.key === 'ArrowDown' ? 1 : buttons.length - 1)) % buttons.length];
        if (next) next.focus();
      } else if (ev.key === 'Escape') {
        ev.preventDefault();
        state.menuOpen = null;
        renderAgents();
        focusEl(agentsBody.querySelector(`[data-testid="agent-actions-${a.userId}"]`));
      }
    });
    return menu;
  }

  function focusMenu(agentId) {
    const first = agentsBody.querySelector(`[data-testid="agent-menu-${agentId}"] button:not([disabled])`);
    if (first) first.focus();
  }

  function renderQueue() {
    clear(queueBody);
    const snap = state.snap;
    queueCount.textContent = snap ? String(snap.queue.length) : '0';
    if (!snap) {
      queueBody.append(h('tr', null, h('td', { colspan: '4', class: 'muted' }, t('common.loading'))));
      return;
    }
    if (snap.queue.length === 0) {
      queueBody.append(h('tr', null, h('td', { colspan: '4', class: 'muted', dataset: { testid: 'mon-queue-empty' } }, t('mon.queueEmpty'))));
      return;
    }
    const names = new Map(snap.agents.map((a) => [a.userId, a.displayName || a.username]));
    const acd = snap.campaign.thresholds.acdWaitSeconds;
    for (const q of snap.queue) {
      const wait = since(q.queuedAt);
      queueBody.append(h('tr', { dataset: { testid: `queue-row-${q.conversationId}` } },
        h('th', { scope: 'row', class: 'mono' }, q.clientNumber),
        h('td', null, h('span', { class: `pill pill-${q.state}` }, t(`mon.qstate.${q.state}`)),
          q.offeredTo.length ? h('span', { class: 'muted' }, ' ', t('mon.offeredTo', { names: q.offeredTo.map((id) => names.get(id) || `#${id}`).join(', ') })) : null),
        h('td', { class: `num mon-wait${wait !== null && wait > acd ? ' is-crossed' : ''}`, dataset: { testid: `queue-wait-${q.conversationId}`, since: q.queuedAt || '', limit: String(acd) } },
          duration(wait)),
        h('td', { class: 'cell-actions' },
          h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `queue-spy-${q.conversationId}` },
            'aria-label': t('mon.spyOn', { number: q.clientNumber }), onclick: () => openSpy(q.conversationId) }, t('mon.action.spy')),
          h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `queue-take-${q.conversationId}` },
            'aria-label': t('mon.takeOverNumber', { number: q.clientNumber }), onclick: () => takeOver(q.conversationId) }, t('mon.takeOver')))));
    }
  }

  function renderMine() {
    clear(mineList);
    mineSection.hidden = state.mine.length === 0;
    for (const c of state.mine) {
      mineList.append(h('li', null, h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: `mine-${c.id}` },
        onclick: () => openSpy(c.id) }, `${c.clientNumber} · ${c.campaignName}`),
      c.waitingSince ? h('span', { class: 'pill pill-wait', dataset: { since: c.waitingSince } }, duration(since(c.waitingSince))) : null));
    }
  }

  /** Ticking: time in status, queue waits, the cards. */
  function tick() {
    if (!ctx.isCurrent() || !state.snap) return;
    for (const el of root.querySelectorAll('[data-since]')) {
      if (!el.dataset.since) continue;
      const seconds = since(el.dataset.since);
      const text = duration(seconds);
      if (el.textContent !== text) el.textContent = text;
      if (el.dataset.limit) el.classList.toggle('is-crossed', seconds > Number(el.dataset.limit));
    }
    tickKpis();
  }

  // ---- The side panel: spy / take over, info, pause, chat, disconnect -------------------------------

  function openAction(action, a) {
    if (action === 'spy') { if (a.conversations.length) openSpy(a.conversations[0].id); return; }
    leaveScreen();
    state.panel = { kind: action, agentId: a.userId, agentName: a.displayName || a.username, data: null, busy: false, error: null };
    if (action === 'screen') { watchScreen(state.panel); return; }
    renderSide(true);
    if (action === 'info') loadPanel(() => monitorApi.info(a.userId));
    if (action === 'chat') loadPanel(() => monitorApi.chat(a.userId));
  }

  function openSpy(conversationId) {
    leaveScreen();
    state.panel = { kind: 'spy', conversationId, data: null, busy: false, error: null };
    renderSide(true);
    loadPanel(() => monitorApi.spy(conversationId));
  }

  async function loadPanel(fetcher) {
    const panel = state.panel;
    try {
      const data = await fetcher();
      if (!ctx.isCurrent() || state.panel !== panel) return;
      panel.data = data;
      if (panel.kind === 'spy' || panel.kind === 'screen') panel.messages = new Map(data.messages.map((m) => [m.id, m]));
      panel.error = null;
    } catch (err) {
      if (!ctx.isCurrent() || state.panel !== panel) return;
      panel.error = errorText(err);
    }
    renderSide();
  }

  function closePanel() {
    leaveScreen();
    state.panel = null;
    renderSide();
  }

  function renderSide(focus = false) {
    const p = state.panel;
    // What is being typed survives a re-render of the same panel (e.g. a message arriving meanwhile).
    const key = p ? `${p.kind}-${p.agentId || p.conversationId}` : '';
    const drafts = new Map();
    let focusedId = null;
    if (side.dataset.key === key) {
      for (const el of side.querySelectorAll('textarea[id], input[type="text"][id]')) drafts.set(el.id, el.value);
      if (side.contains(document.activeElement) && document.activeElement.id) focusedId = document.activeElement.id;
    }
    side.hidden = !p;
    grid.classList.toggle('has-side', !!p);
    clear(side);
    side.dataset.key = key;
    if (!p) return;
    side.dataset.kind = p.kind;
    const closeButton = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'panel-close' },
      'aria-label': t('mon.closePanel'), onclick: closePanel }, '✕');
    let title;
    let content;
    if (p.kind === 'spy') [title, content] = spyPanel(p);
    else if (p.kind === 'info') [title, content] = infoPanel(p);
    else if (p.kind === 'chat') [title, content] = chatPanel(p);
    else if (p.kind === 'pause') [title, content] = pausePanel(p);
    else if (p.kind === 'screen') [title, content] = screenPanel(p);
    else [title, content] = disconnectPanel(p);
    side.append(h('div', { class: 'panel-head' }, h('h2', { id: 'mon-side-title', class: 'panel-title', tabindex: '-1' }, title), closeButton));
    if (p.error) side.append(h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'panel-error' } }, p.error));
    side.append(h('div', { class: 'mon-side-body' }, content));
    for (const [id, value] of drafts) {
      const el = side.querySelector(`#${id}`);
      if (el && !el.value) el.value = value;
    }
    if (focus) focusEl(side.querySelector('#mon-side-title'));
    else if (focusedId) focusEl(side.querySelector(`#${focusedId}`));
  }

  // ---- Monitor screen --------------------------------------------------------------------------------

  /** Starts watching the agent's screen; until their page reports it, it shows nothing open. */
  async function watchScreen(p) {
    Object.assign(p, { watching: false, busy: true, conversationId: null, draft: '', seen: false });
    renderSide(true);
    try {
      await monitorApi.watchScreen(p.agentId, true);
      if (state.panel !== p) { monitorApi.watchScreen(p.agentId, false).catch(() => {}); return; }
      p.watching = true;
      p.error = null;
    } catch (err) {
      if (state.panel !== p) return;
      p.error = errorText(err);
    }
    p.busy = false;
    renderSide();
  }

  /** Stops watching when the screen panel gives way to another (or the page is left). */
  function leaveScreen() {
    const p = state.panel;
    if (!p || p.kind !== 'screen' || !p.watching) return;
    p.watching = false;
    monitorApi.watchScreen(p.agentId, false).catch(() => {});
  }

  function onScreen(data) {
    const p = state.panel;
    if (!ctx.isCurrent() || !p || p.kind !== 'screen' || !p.watching || data.agentId !== p.agentId) return;
    p.draft = data.draft;
    p.seen = true;
    if (data.conversationId !== p.conversationId) {
      p.conversationId = data.conversationId;
      p.data = null;
      p.messages = null;
      if (p.conversationId !== null) {
        const id = p.conversationId;
        // The same silent read as spying (nothing is marked read); a later switch wins.
        monitorApi.spy(id).then((detail) => {
          if (!ctx.isCurrent() || state.panel !== p || p.conversationId !== id) return;
          p.data = detail;
          p.messages = new Map(detail.messages.map((m) => [m.id, m]));
          renderSide();
        }, (err) => { if (state.panel === p && p.conversationId === id) { p.error = errorText(err); renderSide(); } });
      }
    }
    renderSide();
  }

  function screenPanel(p) {
    const title = t('mon.screenTitle', { name: p.agentName });
    const parts = [];
    if (p.busy) parts.push(h('p', { class: 'muted' }, t('common.loading')));
    if (p.watching) {
      parts.push(h('p', { class: 'notice notice-info', dataset: { testid: 'screen-banner' } }, t('mon.screenBanner', { name: p.agentName })));
      let open;
      if (!p.seen) open = h('p', { class: 'muted', dataset: { testid: 'screen-waiting' } }, t('mon.screenWaiting'));
      else if (p.conversationId === null) open = h('p', { class: 'muted', dataset: { testid: 'screen-none' } }, t('mon.screenNothingOpen'));
      else if (!p.data) open = h('p', { class: 'muted' }, t('common.loading'));
      else {
        const c = p.data.conversation;
        open = [
          h('p', { class: 'thread-meta', dataset: { testid: 'screen-conversation', conversationId: String(c.id) } },
            h('span', { class: 'mono' }, c.clientNumber), h('span', null, c.campaignName),
            h('span', { class: `pill pill-${c.state}` }, t(`mon.qstate.${c.state}`))),
          h('div', { class: 'mon-thread' }, h('ol', { class: 'msg-list mon-msgs', 'aria-label': t('mon.messages'),
            dataset: { testid: 'screen-messages' } }, [...p.messages.values()].sort((x, y) => x.id - y.id).map((m) => h('li', {
            class: `msg msg-${m.direction === 'in' ? 'in' : 'out'}` }, h('div', { class: 'bubble' },
            h('p', { class: 'msg-text' }, m.text), h('p', { class: 'msg-meta' }, clock(m.at))))))),
        ];
      }
      parts.push(h('h3', { class: 'mon-screen-label' }, t('mon.screenOpen')), open,
        h('h3', { class: 'mon-screen-label' }, t('mon.screenDraft')),
        p.draft
          ? h('p', { class: 'mon-screen-draft msg-text', dataset: { testid: 'screen-draft' } }, p.draft)
          : h('p', { class: 'muted', dataset: { testid: 'screen-draft-empty' } }, t('mon.screenNoDraft')),
        h('div', { class: 'form-actions mon-panel-actions' }, h('button', { type: 'button', class: 'btn btn-small',
          dataset: { testid: 'screen-stop' }, onclick: closePanel }, t('mon.screenStop'))));
      requestAnimationFrame(() => { const box = side.querySelector('.mon-thread'); if (box) box.scrollTop = box.scrollHeight; });
    }
    return [title, parts];
  }

  function isMine(conversation) {
    return conversation && conversation.state === 'assigned' && conversation.agentId === me;
  }

  function spyPanel(p) {
    if (!p.data) return [t('mon.spyTitle'), h('p', { class: 'muted' }, p.error ? '' : t('common.loading'))];
    const c = p.data.conversation;
    const mine = isMine(c);
    const list = h('ol', { class: 'msg-list mon-msgs', 'aria-label': t('mon.messages'), dataset: { testid: 'spy-messages' } },
      [...p.messages.values()].sort((x, y) => x.id - y.id).map((m) => h('li', {
        class: `msg msg-${m.direction === 'in' ? 'in' : 'out'}`, dataset: { testid: `spy-msg-${m.id}`, state: m.state } },
      h('div', { class: 'bubble' },
        h('p', { class: 'msg-text' }, m.text),
        h('p', { class: 'msg-meta' }, clock(m.at), m.direction === 'out'
          ? [' · ', h('span', { class: `msg-state msg-state-${m.state}` }, t(`mon.msgState.${m.state}`) || m.state)] : null,
        m.automatic ? [' · ', h('span', { class: 'msg-auto' }, t('mon.automatic'))] : null)))));
    const who = c.agentName ? t('mon.spyAgent', { name: c.agentName }) : t(`mon.qstate.${c.state}`);
    const banner = mine
      ? h('p', { class: 'notice notice-ok', dataset: { testid: 'spy-mine' } }, t('mon.mineBanner'))
      : h('p', { class: 'notice notice-info', dataset: { testid: 'spy-banner' } }, t('mon.spyBanner'));
    const actions = [];
    if (!mine && c.state !== 'closed') {
      actions.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', disabled: p.busy, dataset: { testid: 'spy-takeover' },
        onclick: () => takeOver(c.id) }, t('mon.takeOver')));
    }
    const parts = [
      h('p', { class: 'thread-meta', dataset: { testid: 'spy-meta' } }, h('span', null, c.campaignName), h('span', null, who),
        h('span', { class: `pill pill-${c.state}`, dataset: { testid: 'spy-state' } }, t(`mon.qstate.${c.state}`))),
      banner, actions.length ? h('div', { class: 'form-actions mon-panel-actions' }, actions) : null,
      h('div', { class: 'mon-thread' }, list),
    ];
    if (mine) parts.push(mineComposer(p, c));
    requestAnimationFrame(() => { const box = side.querySelector('.mon-thread'); if (box) box.scrollTop = box.scrollHeight; });
    return [h('span', { class: 'mono', dataset: { testid: 'spy-title' } }, c.clientNumber), parts];
  }

  function mineComposer(p, c) {
    const text = h('textarea', { id: 'mine-text', rows: '3', maxlength: '1600', dataset: { testid: 'mine-text' } });
    const wrap = h('input', { type: 'text', id: 'mine-wrap', maxlength: '500', placeholder: t('mon.wrapUpPlaceholder'), dataset: { testid: 'mine-wrap' } });
    const send = async (ev) => {
      ev.preventDefault();
      const box = side.querySelector('#mine-text') || text;
      if (!box.value.trim()) { focusEl(box); return; }
      p.busy = true;
      try {
        const r = await monitorApi.reply(c.id, box.value);
        p.messages.set(r.message.id, r.message);
        p.error = null;
        const current = side.querySelector('#mine-text');
        if (current) current.value = '';
      } catch (err) { p.error = errorText(err); }
      p.busy = false;
      renderSide();
    };
    const closeIt = async () => {
      p.busy = true;
      try {
        const r = await monitorApi.close(c.id, (side.querySelector('#mine-wrap') || wrap).value.trim());
        p.data.conversation = r.conversation;
        p.error = null;
        messages.ok(t('mon.closedOk', { number: c.clientNumber }));
        load();
      } catch (err) { p.error = errorText(err); }
      p.busy = false;
      renderSide();
    };
    return h('form', { class: 'mon-composer', onsubmit: send },
      h('label', { for: 'mine-text' }, t('mon.replyLabel')), text,
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'btn btn-primary btn-small', disabled: p.busy, dataset: { testid: 'mine-send' } }, t('mon.send')),
        wrap,
        h('button', { type: 'button', class: 'btn btn-small', disabled: p.busy, dataset: { testid: 'mine-close' }, onclick: closeIt }, t('mon.closeConversation'))));
  }

  function infoPanel(p) {
    const title = t('mon.infoTitle', { name: p.agentName });
    if (!p.data) return [title, h('p', { class: 'muted' }, p.error ? '' : t('common.loading'))];
    const d = p.data;
    const a = d.agent;
    const today = d.today;
    const row = (label, value, testid) => [h('dt', null, label), h('dd', { dataset: testid ? { testid } : null }, value)];
    return [title, [
      h('dl', { class: 'result-list', dataset: { testid: 'info-list' } },
        row(t('mon.infoUsername'), a.username),
        row(t('mon.infoStatus'), [statusLabel(a), a.reason ? ` (${a.reason})` : ''], 'info-status'),
        row(t('mon.infoSince'), a.since ? duration(since(a.since)) : t('mon.none')),
        row(t('mon.infoSessions'), String(d.sessions), 'info-sessions'),
        row(t('mon.infoOpen'), t('mon.activeCount', { open: a.open, offers: a.offers })),
        row(t('mon.infoCompleted'), String(a.completedToday), 'info-completed'),
        row(t('mon.infoHandled'), String(today.handled)),
        row(t('mon.infoHandle'), duration(today.averageHandleTime)),
        row(t('mon.infoFirstResponse'), duration(today.averageFirstResponseTime)),
        row(t('mon.infoAnswered'), t('mon.infoAnsweredValue', { answered: today.answered, sl: percent(today.serviceLevel) }))),
      h('h3', { class: 'raw-title' }, t('mon.infoCampaigns')),
      h('table', { class: 'table table-compact', dataset: { testid: 'info-campaigns' } },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('mon.colCampaign')), h('th', { scope: 'col', class: 'num' }, t('mon.colPenalty')),
          h('th', { scope: 'col', class: 'num' }, t('mon.colOpen')), h('th', { scope: 'col', class: 'num' }, t('mon.colCompleted')))),
        h('tbody', null, d.campaigns.map((c) => h('tr', null, h('td', null, c.name), h('td', { class: 'num' }, String(c.penalty)),
          h('td', { class: 'num' }, String(c.open)), h('td', { class: 'num' }, String(c.completedToday)))))),
    ]];
  }

  function chatPanel(p) {
    const title = t('mon.chatTitle', { name: p.agentName });
    const list = h('ol', { class: 'mon-chat', 'aria-label': t('mon.messages'), dataset: { testid: 'chat-messages' } },
      (p.data ? p.data.messages : []).map((m) => h('li', { class: `mon-chat-msg${m.fromUserId === me ? ' is-mine' : ''}`, dataset: { testid: `chat-msg-${m.id}` } },
        h('span', { class: 'mon-chat-who' }, m.fromName, ' · ', clock(m.at)), h('p', { class: 'msg-text' }, m.text))));
    const text = h('textarea', { id: 'chat-text', rows: '3', maxlength: '1000', dataset: { testid: 'chat-text' } });
    const form = h('form', { class: 'mon-composer', onsubmit: async (ev) => {
      ev.preventDefault();
      const box = side.querySelector('#chat-text') || text;
      if (!box.value.trim()) { focusEl(box); return; }
      p.busy = true;
      try {
        const r = await monitorApi.sendChat(p.agentId, box.value);
        upsertChat(p, r.message);
        p.error = null;
        const current = side.querySelector('#chat-text');
        if (current) current.value = '';
      } catch (err) { p.error = errorText(err); }
      p.busy = false;
      renderSide();
      focusEl(side.querySelector('#chat-text'));
    } },
    h('label', { for: 'chat-text' }, t('mon.chatLabel', { name: p.agentName })), text,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary btn-small', disabled: p.busy, dataset: { testid: 'chat-send' } }, t('mon.send'))));
    const empty = p.data && p.data.messages.length === 0 ? h('p', { class: 'muted', dataset: { testid: 'chat-empty' } }, t('mon.chatEmpty')) : null;
    requestAnimationFrame(() => { if (list.isConnected) list.scrollTop = list.scrollHeight; });
    return [title, [empty, list, form]];
  }

  function upsertChat(p, message) {
    if (!p.data) p.data = { messages: [] };
    if (!p.data.messages.some((m) => m.id === message.id)) p.data.messages.push(message);
  }

  function pausePanel(p) {
    const input = h('input', { type: 'text', id: 'pause-reason', maxlength: '100', list: 'pause-reasons', dataset: { testid: 'pause-reason' } });
    const options = h('datalist', { id: 'pause-reasons' }, PAUSE_REASONS.map((key) => h('option', { value: t(key) })));
    const form = h('form', { class: 'mon-composer', onsubmit: async (ev) => {
      ev.preventDefault();
      const reason = (side.querySelector('#pause-reason') || input).value.trim();
      if (!reason) { p.error = t('mon.reasonRequired'); renderSide(); focusEl(side.querySelector('#pause-reason')); return; }
      p.busy = true;
      renderSide();
      try {
        await monitorApi.pause(p.agentId, reason);
        messages.ok(t('mon.pausedOk', { name: p.agentName }));
        closePanel();
        load();
        return;
      } catch (err) { p.error = errorText(err); }
      p.busy = false;
      renderSide();
    } },
    h('label', { for: 'pause-reason' }, t('mon.pauseReason')), input, options,
    h('p', { class: 'field-hint' }, t('mon.pauseHint')),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary btn-small', disabled: p.busy, dataset: { testid: 'pause-submit' } }, t('mon.action.pause'))));
    requestAnimationFrame(() => { const el = side.querySelector('#pause-reason'); if (el && !p.error) el.focus(); });
    return [t('mon.pauseTitle', { name: p.agentName }), form];
  }

  function disconnectPanel(p) {
    return [t('mon.disconnectTitle', { name: p.agentName }), [
      h('p', { class: 'confirm-text mon-confirm' }, t('mon.disconnectConfirm', { name: p.agentName })),
      h('div', { class: 'form-actions' },
        h('button', { type: 'button', class: 'btn btn-danger btn-small', disabled: p.busy, dataset: { testid: 'disconnect-confirm' }, onclick: async () => {
          p.busy = true;
          renderSide();
          try {
            const r = await monitorApi.disconnect(p.agentId);
            messages.ok(t('mon.disconnectedOk', { name: p.agentName, count: r.endedSessions }));
            closePanel();
            load();
            return;
          } catch (err) { p.error = errorText(err); }
          p.busy = false;
          renderSide();
        } }, t('mon.action.disconnect')),
        h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'disconnect-cancel' }, onclick: closePanel }, t('common.cancel'))),
    ]];
  }

  async function takeOver(conversationId) {
    if (!state.panel || state.panel.conversationId !== conversationId) openSpy(conversationId);
    const p = state.panel;
    p.busy = true;
    renderSide();
    try {
      const r = await monitorApi.takeOver(conversationId);
      if (p.data) p.data.conversation = r.conversation;
      else await loadPanel(() => monitorApi.spy(conversationId));
      p.error = null;
      messages.ok(t('mon.takenOk', { number: r.conversation.clientNumber }));
      load();
    } catch (err) {
      p.error = errorText(err);
    }
    p.busy = false;
    if (state.panel === p) renderSide();
  }

  // ---- Live events --------------------------------------------------------------------------------

  function inCampaign(conversation) {
    return conversation && conversation.campaignId === state.campaignId;
  }

  function onConversation(topic) {
    return (data) => {
      if (!ctx.isCurrent()) return;
      const c = data.conversation;
      const p = state.panel;
      if (p && (p.kind === 'spy' || p.kind === 'screen') && p.data && c.id === p.conversationId) {
        p.data.conversation = c;
        if (topic === 'conversation.message' && data.message) p.messages.set(data.message.id, data.message);
        renderSide();
      }
      if (inCampaign(c) || c.agentId === me || state.mine.some((m) => m.id === c.id)) {
        scheduleLoad();
        scheduleMetrics();
      }
    };
  }

  for (const topic of ['conversation.offered', 'conversation.assigned', 'conversation.message', 'conversation.updated', 'conversation.closed']) {
    unsubscribe.push(liveEvents.subscribe(topic, onConversation(topic)));
  }
  unsubscribe.push(liveEvents.subscribe('agent.status', ({ status }) => {
    if (!ctx.isCurrent() || !state.snap) return;
    const agent = state.snap.agents.find((a) => a.userId === status.userId);
    if (!agent) return;
    // Shown at once; the next load recomputes busy and signed-in.
    agent.status = status.status === 'available' && agent.status === 'busy' ? 'busy'
      : (status.status === 'available' && !agent.signedIn ? 'offline' : status.status);
    agent.reason = status.status === 'paused' ? status.reason : null;
    agent.since = status.since;
    renderAgents();
    scheduleLoad();
  }));
  unsubscribe.push(liveEvents.subscribe('agent.screen', onScreen));
  unsubscribe.push(liveEvents.subscribe('agent.chat', ({ message }) => {
    if (!ctx.isCurrent()) return;
    const p = state.panel;
    const agentId = message.fromUserId === me ? message.toUserId : message.fromUserId;
    if (p && p.kind === 'chat' && p.agentId === agentId) {
      upsertChat(p, message);
      renderSide();
      const box = side.querySelector('#chat-text');
      if (box) box.focus();
    } else if (message.toUserId === me) {
      messages.ok(t('mon.chatFrom', { name: message.fromName, text: message.text }));
    }
  }));
  unsubscribe.push(liveEvents.onState(({ state: s }) => {
    if (!ctx.isCurrent()) return;
    state.live = s;
    liveEl.dataset.state = s;
    if (s === 'live') {
      liveText.textContent = t('mon.live');
      load();
      loadMetrics();
    } else if (s === 'lost') {
      liveText.textContent = t('mon.lost');
      messages.fail(t('mon.liveLost'));
    } else {
      liveText.textContent = t('mon.connecting');
    }
  }));

  function onDocumentClick(ev) {
    if (state.menuOpen === null) return;
    if (ev.target.closest && ev.target.closest('.mon-menu-wrap')) return;
    state.menuOpen = null;
    renderAgents();
  }
  document.addEventListener('click', onDocumentClick);

  timers.push(setInterval(tick, 1000));
  timers.push(setInterval(() => { if (ctx.isCurrent()) load(); }, REFRESH_MS));
  timers.push(setInterval(() => { if (ctx.isCurrent() && !state.day) loadMetrics(); }, METRICS_MS));

  ctx.onLeave(() => {
    leaveScreen();
    while (unsubscribe.length) unsubscribe.pop()();
    for (const id of timers) clearInterval(id);
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    if (metricsTimer !== null) clearTimeout(metricsTimer);
    document.removeEventListener('click', onDocumentClick);
  });

  renderAll();
  renderCharts();
  start();
}
