// Agent inbox (SPEC A1–A7, C3, C5, C9, C10), live.
//
// Left: the agent's conversations (assigned to them, and offered to them), newest activity
// first, with unread marks, campaign, number and a waiting time that ticks; a second tab lists
// the replies scheduled for later, each cancellable. Right: the open conversation — its
// messages with the delivery state of each outgoing one, the client's earlier conversations,
// the full history on demand, accept / close (wrap-up) — and the composer: emoji picker, the
// campaign's canned responses, a character/segment/encoding counter computed by smstext.js
// (the same rules as the server), send now or later. The header holds the agent's presence
// (available / paused with a reason / offline) and "New message" (start an interaction, A1).
//
// Data: GET /inbox, /conversations/{id}, /agent/status, /agent/campaigns, /scheduled-messages,
// loaded at start and again whenever the page's WebSocket (live.js) (re)connects; between
// those, the live events `conversation.*` and `agent.status` carry the same JSON shapes and are
// merged in (a conversation by id, a message by id). Every client or agent text is set as
// text (dom.js h()), never as HTML.

import { request } from '../api.js';
import * as liveEvents from '../live.js';
import { t } from '../i18n.js';
import { formatDate, formatDuration, isoSeconds, toInputDateTime, fromInputDateTime } from '../format.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, messageArea, preserveFocus, timeElement } from '../components.js';
import { analyze, characterCount, textToSend, UCS2 } from '../smstext.js';
import { attachSupervision } from './agent-supervision.js';

const enc = encodeURIComponent;
const inboxApi = {
  inbox: () => request('GET', '/inbox'),
  conversation: (id) => request('GET', `/conversations/${enc(id)}`),
  history: (id, beforeId) => request('GET', `/conversations/${enc(id)}/history?limit=${HISTORY_PAGE}${beforeId ? `&beforeId=${enc(beforeId)}` : ''}`),
  reply: (id, body) => request('POST', `/conversations/${enc(id)}/messages`, body),
  accept: (id) => request('POST', `/conversations/${enc(id)}/accept`),
  close: (id, wrapUp) => request('POST', `/conversations/${enc(id)}/close`, wrapUp ? { wrapUp } : {}),
  read: (id) => request('POST', `/conversations/${enc(id)}/read`),
  start: (body) => request('POST', '/conversations', body),
  status: () => request('GET', '/agent/status'),
  setStatus: (status, reason) => request('PUT', '/agent/status', reason ? { status, reason } : { status }),
  campaigns: () => request('GET', '/agent/campaigns'),
  scheduled: () => request('GET', '/scheduled-messages'),
  cancel: (id) => request('DELETE', `/scheduled-messages/${enc(id)}`),
};

const HISTORY_PAGE = 200;
/** The server's limit on a reply, in characters (Inbox.maximumTextLength). */
const MAX_TEXT = 1600;
const MAX_WRAP_UP = 500;
const MAX_REASON = 100;
const PRESENCE = ['available', 'paused', 'offline'];

/** A small built-in emoji set for the picker (no external library). */
export const EMOJI = [
  '😀', '😃', '😊', '🙂', '😉', '😍', '😘', '😎', '🤔', '😅', '😂', '😢', '😮', '🙏', '👍', '👎',
  '👌', '👋', '👏', '🙌', '💪', '🎉', '✅', '❌', '⭐', '❤️', '🔥', '☀️', '📞', '📱', '💬', '📅',
  '⏰', '💳', '💰', '📦', '🚚', '🏠', '⚠️', 'ℹ️',
];

// ---- Formatting ------------------------------------------------------------------------------

/** "0:42", "12:05", "1:02:03", "2 d 3 h" (format.js, in the user's locale). */
export function duration(seconds) {
  return formatDuration(seconds);
}

function since(iso, now = Date.now()) {
  return (now - Date.parse(iso)) / 1000;
}

/** A formatter of one style (time, date, dateTime, short) in the user's locale and time zone. */
function fmt(kind) {
  return { format: (d) => formatDate(d, kind) };
}

/** A Date as the value of a datetime-local input (the user's time zone). */
function localInputValue(date) {
  return toInputDateTime(date);
}

function tCount(key, count, params = {}) {
  return t(`${key}.${count === 1 ? 'one' : 'other'}`, { ...params, count });
}

/** The state an outgoing message shows now: a scheduled one whose time has come is queued. */
function shownState(m, now = Date.now()) {
  if (m.state === 'scheduled' && m.scheduledFor && Date.parse(m.scheduledFor) <= now) return 'queued';
  return m.state;
}

function byTime(a, b) {
  return (Date.parse(a.at) - Date.parse(b.at)) || (a.id - b.id);
}

// ---- The live counter of a text box ------------------------------------------------------------

/**
 * The character / segment / encoding line under a text box, computed on what will be sent (the
 * server trims surrounding blanks). data-* carry the raw values for tests and tools.
 */
function smsCounter(prefix) {
  const line = h('span', { class: 'sms-count', dataset: { testid: `${prefix}-count` } });
  const why = h('span', { class: 'sms-count-why', dataset: { testid: `${prefix}-count-why` } });
  const el = h('div', { class: 'sms-counter', id: `${prefix}-count` }, line, why);
  function update(text) {
    const sent = textToSend(text);
    const a = analyze(sent);
    const characters = characterCount(sent);
    line.textContent = t('inbox.counter', {
      characters: tCount('inbox.characters', characters),
      segments: tCount('inbox.segments', a.segments),
      encoding: a.encoding,
      remaining: a.remainingInSegment,
    });
    Object.assign(line.dataset, {
      encoding: a.encoding, segments: String(a.segments), units: String(a.units), remaining: String(a.remainingInSegment),
      characters: String(characters),
    });
    line.classList.toggle('sms-count-ucs2', a.encoding === UCS2);
    why.textContent = a.encoding === UCS2 && a.nonGSMCharacters.length
      ? t('inbox.ucs2Because', { characters: a.nonGSMCharacters.slice(0, 8).join(' ') }) : '';
    return { analysis: a, characters, empty: sent === '', tooLong: characters > MAX_TEXT };
  }
  return { el, update };
}

/** Inserts text at the caret of a text box (replacing the selection) and announces the change. */
function insertAtCaret(textarea, text) {
  const start = textarea.selectionStart ?? textarea.value.length;
  const end = textarea.selectionEnd ?? textarea.value.length;
  textarea.focus();
  textarea.setRangeText(text, start, end, 'end');
  textarea.dispatchEvent(new Event('input', { bubbles: true }));
}

/**
 * A button that opens a small panel above it; closes on Escape, on a click elsewhere, and when
 * something in it is chosen. Returns { el, button, panel, close() }.
 */
function popover({ prefix, labelKey, icon, content, panelClass }) {
  const button = h('button', {
    type: 'button', class: 'btn btn-small composer-tool', 'aria-expanded': 'false', 'aria-controls': `${prefix}-panel`,
    dataset: { testid: `${prefix}-toggle` },
  }, icon ? h('span', { 'aria-hidden': 'true', class: 'composer-tool-icon' }, icon) : null, t(labelKey));
  const panel = h('div', {
    id: `${prefix}-panel`, class: `popover ${panelClass || ''}`, hidden: true, role: 'group', 'aria-label': t(labelKey),
    dataset: { testid: `${prefix}-panel` },
  }, content);
  const el = h('div', { class: 'popover-anchor' }, button, panel);
  function outside(ev) { if (!el.contains(ev.target)) close(); }
  function open() {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('mousedown', outside, true);
    const first = [...panel.querySelectorAll('input, button')].find((x) => !x.hidden && x.getClientRects().length > 0);
    if (first) first.focus();
  }
  function close(returnFocus = false) {
    if (panel.hidden) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('mousedown', outside, true);
    if (returnFocus) button.focus();
  }
  button.addEventListener('click', () => (panel.hidden ? open() : close()));
  panel.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); close(true); } });
  return { el, button, panel, close };
}

/** The emoji picker for a text box. */
function emojiPicker(prefix, textarea) {
  const grid = h('div', { class: 'emoji-grid' });
  const pop = popover({ prefix: `${prefix}-emoji`, labelKey: 'inbox.emoji', icon: '🙂', content: grid, panelClass: 'emoji-panel' });
  EMOJI.forEach((emoji, i) => {
    grid.append(h('button', {
      type: 'button', class: 'emoji-btn', dataset: { testid: `${prefix}-emoji-${i}`, emoji },
      onclick: () => { pop.close(); insertAtCaret(textarea, emoji); },
    }, emoji));
  });
  return pop;
}

// ---- The view -------------------------------------------------------------------------------

export function render(main, ctx) {
  const me = ctx.user.id;
  const state = {
    conversations: new Map(), // id -> conversation (mine: assigned to me, or offered to me)
    loaded: false,
    selectedId: null,
    detail: null,             // { conversation, messages: Map, earlier, canned, history: { loaded, more, busy } }
    detailError: null,
    notice: null,             // { key, params } shown over the open conversation (taken by another agent, …)
    closing: false,           // the wrap-up form is open
    earlierOpen: false,       // the list of the client's earlier conversations is expanded
    busy: new Set(),          // 'send', 'accept', 'close', 'status', 'cancel-<id>'
    drafts: new Map(),        // conversation id -> { text, later, at }
    scheduled: new Map(),     // message id -> message
    confirmCancel: null,      // scheduled message id awaiting confirmation
    status: null,             // { status, reason, since }
    campaigns: [],
    live: 'connecting',
    tab: 'conversations',
  };
  const messages = messageArea('inbox');
  // Announced to assistive technology; what happened is visible in the list and the thread themselves.
  const announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite', dataset: { testid: 'inbox-announce' } });
  const unsubscribe = [];
  const timers = [];
  let loading = null;         // the loadAll() in flight
  let loadAgain = false;
  let eventsWhileLoading = false;
  let detailToken = 0;
  let detailLoading = false;  // a loadDetail() in flight
  let detailDirty = false;    // an event arrived meanwhile: its answer may be older than the event
  let readInFlight = false;

  // ---- Header: live indicator, presence, new message ----------------------------------------
  const liveText = h('span', { dataset: { testid: 'inbox-live-text' } }, t('inbox.connecting'));
  const live = h('p', { class: 'live-indicator', dataset: { testid: 'inbox-live', state: 'connecting' } },
    h('span', { class: 'live-dot', 'aria-hidden': 'true' }), liveText);
  const presence = buildPresence();
  const newButton = h('button', { type: 'button', class: 'btn btn-primary btn-small', dataset: { testid: 'inbox-new' },
    onclick: () => newDialog.open() }, t('inbox.newMessage'));
  const header = pageHeader('inbox.title', h('div', { class: 'inbox-tools' }, live, presence.el, newButton));
  header.classList.add('inbox-header');

  // ---- Left: conversations and scheduled replies ---------------------------------------------
  const listEl = h('ul', { class: 'conv-list', 'aria-busy': 'true', 'aria-labelledby': 'inbox-tab-conversations',
    dataset: { testid: 'inbox-list' } });
  const listEmpty = h('p', { class: 'side-empty', hidden: true, dataset: { testid: 'inbox-empty' } });
  const schedEl = h('ul', { class: 'sched-list', dataset: { testid: 'sched-list' } });
  const schedEmpty = h('p', { class: 'side-empty', hidden: true, dataset: { testid: 'sched-empty' } }, t('inbox.noScheduled'));
  const tabConv = h('button', { type: 'button', role: 'tab', class: 'tab', id: 'inbox-tab-conversations',
    'aria-controls': 'inbox-panel-conversations', dataset: { testid: 'inbox-tab-conversations' } });
  const tabSched = h('button', { type: 'button', role: 'tab', class: 'tab', id: 'inbox-tab-scheduled',
    'aria-controls': 'inbox-panel-scheduled', dataset: { testid: 'inbox-tab-scheduled' } });
  const panelConv = h('div', { id: 'inbox-panel-conversations', role: 'tabpanel', 'aria-labelledby': 'inbox-tab-conversations',
    class: 'side-panel' }, listEmpty, listEl);
  const panelSched = h('div', { id: 'inbox-panel-scheduled', role: 'tabpanel', 'aria-labelledby': 'inbox-tab-scheduled',
    class: 'side-panel' }, schedEmpty, schedEl);
  for (const [tab, key] of [[tabConv, 'conversations'], [tabSched, 'scheduled']]) {
    tab.addEventListener('click', () => selectTab(key));
    tab.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
      ev.preventDefault();
      selectTab(key === 'conversations' ? 'scheduled' : 'conversations', true);
    });
  }
  const side = h('aside', { class: 'inbox-side', 'aria-label': t('inbox.listLabel') },
    h('div', { class: 'tabs side-tabs', role: 'tablist', 'aria-label': t('inbox.listLabel') }, tabConv, tabSched),
    panelConv, panelSched);

  // ---- Right: the open conversation ------------------------------------------------------------
  const threadHead = h('div', { class: 'thread-head', dataset: { testid: 'thread-head' } });
  const threadNotice = h('p', { class: 'notice notice-info thread-notice', role: 'status', dataset: { testid: 'thread-notice' } });
  const historyBar = h('div', { class: 'history-bar' });
  const msgList = h('ol', { class: 'msg-list', 'aria-label': t('inbox.messagesLabel'), dataset: { testid: 'thread-messages' } });
  const threadBody = h('div', { class: 'thread-body', tabindex: '-1', dataset: { testid: 'thread-body' } }, historyBar, msgList);
  const wrapUp = buildWrapUp();
  const composer = buildComposer();
  const threadEmpty = h('div', { class: 'thread-empty', dataset: { testid: 'thread-empty' } });
  const thread = h('section', { class: 'inbox-thread', 'aria-labelledby': 'thread-title', dataset: { testid: 'thread' } },
    threadEmpty, threadHead, threadNotice, threadBody, wrapUp.el, composer.el);

  const newDialog = buildNewDialog();
  const root = h('div', { class: 'inbox-page' },
    header, messages.el, announcer,
    h('div', { class: 'inbox', dataset: { testid: 'inbox' } }, side, thread),
    newDialog.el);
  clear(main).append(root);

  selectTab('conversations');
  renderList();
  renderScheduled();
  renderThread();
  renderPresence();

  // ---- Loading ---------------------------------------------------------------------------------

  /** Everything from the server (start, and every (re)connection); merged runs, at most one at a time. */
  function loadAll() {
    if (loading) { loadAgain = true; return loading; }
    eventsWhileLoading = false;
    loading = (async () => {
      try {
        const [inbox, status, scheduled, campaigns] = await Promise.all([
          inboxApi.inbox(), inboxApi.status(), inboxApi.scheduled(), inboxApi.campaigns()]);
        if (!ctx.isCurrent()) return;
        state.conversations = new Map();
        for (const c of inbox.conversations) state.conversations.set(c.id, c);
        state.loaded = true;
        state.status = status.status;
        state.scheduled = new Map(scheduled.messages.map((m) => [m.id, m]));
        state.campaigns = campaigns.campaigns;
        newDialog.setCampaigns(state.campaigns);
        if (state.selectedId !== null) await loadDetail(state.selectedId, { keepScroll: true });
        renderList();
        renderScheduled();
        renderPresence();
        if (state.selectedId === null) renderThread();
        if (state.live !== 'lost') messages.clear();
      } catch (err) {
        if (ctx.isCurrent()) messages.fail(errorText(err));
      } finally {
        loading = null;
      }
      if (ctx.isCurrent() && (loadAgain || eventsWhileLoading)) {
        loadAgain = false;
        loadAll();
      }
    })();
    return loading;
  }

  async function loadDetail(id, { keepScroll = false } = {}) {
    const token = ++detailToken;
    detailLoading = true;
    detailDirty = false;
    try {
      const d = await inboxApi.conversation(id);
      if (!ctx.isCurrent() || token !== detailToken || state.selectedId !== id) return;
      const previous = state.detail && state.detail.conversation.id === id ? state.detail : null;
      const msgs = new Map(previous && previous.history.loaded ? previous.messages : []);
      for (const m of d.messages) msgs.set(m.id, m);
      state.detail = {
        conversation: d.conversation,
        messages: msgs,
        earlier: d.earlierConversations,
        canned: d.cannedResponses,
        history: previous ? previous.history : { loaded: false, more: false, busy: false },
      };
      state.detailError = null;
      renderThread({ keepScroll });
      markReadIfNeeded();
    } catch (err) {
      if (!ctx.isCurrent() || token !== detailToken) return;
      if (err.status === 404) {
        state.detail = null;
        state.notice = { key: 'inbox.gone' };
        state.selectedId = null;
        state.conversations.delete(id);
        renderList();
      } else {
        state.detailError = errorText(err);
      }
      renderThread();
    } finally {
      if (token === detailToken) {
        detailLoading = false;
        if (detailDirty && ctx.isCurrent() && state.selectedId === id) loadDetail(id, { keepScroll: true });
      }
    }
  }

  // ---- Live events --------------------------------------------------------------------------

  function belongsToMe(c, now = Date.now()) {
    if (c.state === 'assigned') return c.agentId === me;
    if (c.state === 'offered') return c.offers.some((o) => o.userId === me && Date.parse(o.expiresAt) > now);
    return false;
  }

  function mergeConversation(c) {
    if (belongsToMe(c)) state.conversations.set(c.id, c);
    else state.conversations.delete(c.id);
    if (state.detail && state.detail.conversation.id === c.id) {
      state.detail.conversation = c;
      if (belongsToMe(c)) state.notice = null;
      else if (c.state === 'assigned') state.notice = { key: 'inbox.taken' };
      else if (c.state !== 'closed') state.notice = { key: 'inbox.noLongerYours' };
      renderThreadHead();
      renderComposerState();
    }
  }

  function mergeMessage(m) {
    if (state.detail && m.conversationId === state.detail.conversation.id) {
      state.detail.messages.set(m.id, m);
      renderMessages({ follow: true });
    }
    if (m.direction === 'out' && m.agentId === me) {
      if (m.state === 'scheduled') state.scheduled.set(m.id, m);
      else state.scheduled.delete(m.id);
      renderScheduled();
    }
  }

  function onEvent(handler) {
    return (data) => {
      if (!ctx.isCurrent()) return;
      if (loading) eventsWhileLoading = true;
      if (detailLoading) detailDirty = true;
      handler(data);
    };
  }

  unsubscribe.push(liveEvents.subscribe('conversation.offered', onEvent(({ conversation }) => {
    const isNew = !state.conversations.has(conversation.id);
    mergeConversation(conversation);
    renderList();
    if (isNew && belongsToMe(conversation)) announce('inbox.offeredNew', { number: conversation.clientNumber });
  })));
  unsubscribe.push(liveEvents.subscribe('conversation.assigned', onEvent(({ conversation }) => {
    mergeConversation(conversation);
    renderList();
  })));
  unsubscribe.push(liveEvents.subscribe('conversation.message', onEvent(({ conversation, message }) => {
    mergeConversation(conversation);
    mergeMessage(message);
    renderList();
    if (message.direction === 'in' && state.detail && state.detail.conversation.id === conversation.id) markReadIfNeeded();
  })));
  unsubscribe.push(liveEvents.subscribe('conversation.updated', onEvent(({ conversation }) => {
    mergeConversation(conversation);
    renderList();
  })));
  unsubscribe.push(liveEvents.subscribe('conversation.closed', onEvent(({ conversation }) => {
    mergeConversation(conversation);
    renderList();
  })));
  unsubscribe.push(liveEvents.subscribe('agent.status', onEvent(({ status }) => {
    if (status.userId !== me) return;
    state.status = status;
    renderPresence();
  })));
  unsubscribe.push(liveEvents.onState(({ state: s, resync, resumed }) => {
    if (!ctx.isCurrent()) return;
    state.live = s;
    live.dataset.state = s;
    if (s === 'live') {
      liveText.textContent = t('inbox.live');
      // First connection (events between the first load and the hello), or back after a drop.
      loadAll();
      if (resumed || resync) messages.ok(t('inbox.liveAgain'));
    } else if (s === 'lost') {
      liveText.textContent = t('inbox.lost');
      messages.fail(t('inbox.liveLost'));
    } else {
      liveText.textContent = t('inbox.connecting');
    }
  }));

  loadAll();
  // Supervisor chat and notices; while a supervisor monitors this screen, what it shows (SPEC S3).
  ctx.onLeave(attachSupervision(root, ctx, () => ({ conversationId: state.selectedId, draft: composer.textarea.value })));

  // Waiting times and offer countdowns tick; expired offers leave; scheduled replies become queued.
  timers.push(setInterval(tick, 1000));
  function onVisibility() { if (!document.hidden) markReadIfNeeded(); }
  document.addEventListener('visibilitychange', onVisibility);

  ctx.onLeave(() => {
    while (unsubscribe.length) unsubscribe.pop()();
    for (const id of timers) clearInterval(id);
    document.removeEventListener('visibilitychange', onVisibility);
    newDialog.close();
  });

  function tick() {
    if (!ctx.isCurrent()) return;
    const now = Date.now();
    let expired = false;
    for (const [id, c] of state.conversations) {
      if (!belongsToMe(c, now)) { state.conversations.delete(id); expired = true; }
    }
    if (expired) {
      renderList();
      if (state.detail && !belongsToMe(state.detail.conversation, now) && state.detail.conversation.state === 'offered') {
        state.notice = { key: 'inbox.offerExpired' };
        renderThreadHead();
        renderComposerState();
      }
    }
    for (const el of root.querySelectorAll('[data-tick]')) {
      const at = el.dataset.at;
      if (el.dataset.tick === 'wait') el.textContent = t('inbox.waiting', { time: duration(since(at, now)) });
      else if (el.dataset.tick === 'offer') el.textContent = t('inbox.offerLeft', { time: duration(-since(at, now)) });
      else if (el.dataset.tick === 'accept') el.textContent = t('inbox.acceptWithin', { time: duration(-since(at, now)) });
    }
    for (const [id, m] of state.scheduled) {
      if (shownState(m, now) !== 'scheduled') { state.scheduled.delete(id); renderScheduled(); }
    }
    for (const el of msgList.querySelectorAll('[data-scheduled-for]')) {
      if (Date.parse(el.dataset.scheduledFor) <= now) { renderMessages(); break; }
    }
  }

  function announce(key, params) {
    announcer.textContent = t(key, params);
  }

  // ---- Selecting ------------------------------------------------------------------------------

  function selectTab(key, focus = false) {
    state.tab = key;
    for (const [tab, panel, k] of [[tabConv, panelConv, 'conversations'], [tabSched, panelSched, 'scheduled']]) {
      const on = k === key;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
      if (on && focus) tab.focus();
    }
  }

  function saveDraft() {
    if (state.selectedId === null) return;
    const value = composer.textarea.value;
    const later = composer.laterOpen();
    if (value || later) state.drafts.set(state.selectedId, { text: value, later, at: composer.laterInput.value });
    else state.drafts.delete(state.selectedId);
  }

  function select(id) {
    if (state.selectedId === id) return;
    saveDraft();
    state.selectedId = id;
    state.detail = null;
    state.detailError = null;
    state.notice = null;
    state.closing = false;
    const draft = state.drafts.get(id);
    composer.setDraft(draft);
    renderList();
    renderThread();
    loadDetail(id);
  }

  function markReadIfNeeded() {
    const d = state.detail;
    if (!d || document.hidden || readInFlight) return;
    const c = d.conversation;
    if (!(c.unreadCount > 0) || c.state === 'closed') return;
    readInFlight = true;
    inboxApi.read(c.id).then((r) => {
      if (ctx.isCurrent()) { mergeConversation(r.conversation); renderList(); }
    }).catch(() => { /* the mark stays; the next message or visit tries again */ }).finally(() => { readInFlight = false; });
  }

  // ---- Rendering: list ------------------------------------------------------------------------

  function sortedConversations() {
    return [...state.conversations.values()].sort((a, b) =>
      (Date.parse(b.lastActivityAt) - Date.parse(a.lastActivityAt)) || (b.id - a.id));
  }

  function renderList() {
    const items = sortedConversations();
    const unread = items.filter((c) => c.unreadCount > 0).length;
    tabConv.textContent = t('inbox.tabConversations', { count: items.length });
    const title = `${t('nav.inbox')} — ${t('app.name')}`;
    document.title = unread > 0 ? t('inbox.titleUnread', { count: unread, title }) : title;
    listEl.setAttribute('aria-busy', String(!state.loaded));
    listEmpty.hidden = !state.loaded || items.length > 0;
    listEmpty.textContent = state.status && state.status.status === 'available' ? t('inbox.emptyAvailable') : t('inbox.emptyNotAvailable');
    preserveFocus(listEl, () => {
      clear(listEl);
      for (const c of items) listEl.append(listItem(c));
    });
  }

  function listItem(c) {
    const offer = c.state === 'offered' ? c.offers.find((o) => o.userId === me) : null;
    const last = c.lastMessage;
    let preview = '';
    if (last) {
      preview = last.direction === 'in' ? last.text
        : t(last.automatic ? 'inbox.autoPrefix' : 'inbox.youPrefix', { text: last.text });
    }
    const selected = c.id === state.selectedId;
    const unread = c.unreadCount > 0;
    return h('li', { class: 'conv-item' },
      h('button', {
        type: 'button', class: `conv-button${unread ? ' is-unread' : ''}${offer ? ' is-offered' : ''}`,
        'aria-current': selected ? 'true' : null,
        dataset: { testid: `conv-item-${c.id}`, id: String(c.id), state: c.state, unread: String(c.unreadCount), number: c.clientNumber },
        onclick: () => select(c.id),
      },
      h('span', { class: 'conv-line' },
        h('span', { class: 'conv-number', dataset: { testid: `conv-number-${c.id}` } }, c.clientNumber),
        unread ? h('span', { class: 'unread-badge', title: tCount('inbox.unread', c.unreadCount), dataset: { testid: `conv-unread-${c.id}` } },
          h('span', { 'aria-hidden': 'true' }, String(c.unreadCount)),
          h('span', { class: 'visually-hidden' }, tCount('inbox.unread', c.unreadCount))) : null,
        offer
          ? h('span', { class: 'pill pill-offer', title: t('inbox.acceptWithin', { time: duration(-since(offer.expiresAt)) }),
            dataset: { testid: `conv-offer-${c.id}`, tick: 'offer', at: offer.expiresAt } },
          t('inbox.offerLeft', { time: duration(-since(offer.expiresAt)) }))
          : h('span', { class: 'conv-time' }, timeElement(c.lastActivityAt, { dash: false }))),
      h('span', { class: 'conv-line' },
        h('span', { class: 'conv-campaign', dataset: { testid: `conv-campaign-${c.id}` } }, c.campaignName),
        c.waitingSince
          ? h('span', { class: 'pill pill-wait', dataset: { testid: `conv-wait-${c.id}`, tick: 'wait', at: c.waitingSince } },
            t('inbox.waiting', { time: duration(since(c.waitingSince)) }))
          : null),
      h('span', { class: 'conv-preview', dataset: { testid: `conv-preview-${c.id}` } }, preview)));
  }

  function renderScheduled() {
    const items = [...state.scheduled.values()].sort((a, b) =>
      (Date.parse(a.scheduledFor) - Date.parse(b.scheduledFor)) || (a.id - b.id));
    tabSched.textContent = t('inbox.tabScheduled', { count: items.length });
    schedEmpty.hidden = items.length > 0;
    const campaignNames = new Map(state.campaigns.map((c) => [c.id, c.name]));
    preserveFocus(schedEl, () => {
      clear(schedEl);
      for (const m of items) {
        const busy = state.busy.has(`cancel-${m.id}`);
        const confirming = state.confirmCancel === m.id;
        schedEl.append(h('li', { class: 'sched-item', dataset: { testid: `sched-item-${m.id}`, id: String(m.id) } },
          h('div', { class: 'conv-line' },
            h('span', { class: 'conv-number' }, m.clientNumber),
            h('span', { class: 'conv-time' }, timeElement(m.scheduledFor, { testid: `sched-at-${m.id}`, dash: false }))),
          h('div', { class: 'conv-campaign' }, campaignNames.get(m.campaignId) || ''),
          h('p', { class: 'sched-text', dataset: { testid: `sched-text-${m.id}` } }, m.text),
          confirming
            ? h('div', { class: 'confirm-inline' },
              h('span', { class: 'confirm-text' }, t('inbox.cancelConfirmText')),
              h('button', { type: 'button', class: 'btn btn-small btn-danger', disabled: busy,
                dataset: { testid: `sched-cancel-confirm-${m.id}` }, onclick: () => cancelScheduled(m.id) }, t('inbox.cancelMessage')),
              h('button', { type: 'button', class: 'btn btn-small btn-ghost', disabled: busy,
                dataset: { testid: `sched-cancel-keep-${m.id}` },
                onclick: () => { state.confirmCancel = null; renderScheduled(); } }, t('inbox.keepMessage')))
            : h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `sched-cancel-${m.id}` },
              onclick: () => { state.confirmCancel = m.id; renderScheduled(); focusEl(schedEl.querySelector(`[data-testid="sched-cancel-confirm-${m.id}"]`)); } },
            t('common.cancel'))));
      }
    });
  }

  async function cancelScheduled(id) {
    const key = `cancel-${id}`;
    if (state.busy.has(key)) return;
    state.busy.add(key);
    renderScheduled();
    try {
      const r = await inboxApi.cancel(id);
      if (!ctx.isCurrent()) return;
      state.confirmCancel = null;
      state.scheduled.delete(id);
      mergeMessage(r.message);
      announce('inbox.cancelled');
    } catch (err) {
      if (!ctx.isCurrent()) return;
      messages.fail(errorText(err));
      if (err.status === 409 || err.status === 404) state.scheduled.delete(id);
    } finally {
      state.busy.delete(key);
      if (ctx.isCurrent()) { renderScheduled(); renderMessages(); }
    }
  }

  // ---- Rendering: the thread --------------------------------------------------------------------

  function renderThread({ keepScroll = false } = {}) {
    const d = state.detail;
    const open = state.selectedId !== null;
    threadEmpty.hidden = open;
    threadHead.hidden = !open;
    threadBody.hidden = !open;
    if (!open) {
      clear(threadEmpty).append(
        h('p', { class: 'thread-empty-title' }, state.notice ? t(state.notice.key) : t('inbox.selectOne')),
        h('p', { class: 'muted' }, presenceHint()));
      threadNotice.textContent = '';
      wrapUp.el.hidden = true;
      composer.el.hidden = true;
      return;
    }
    renderThreadHead();
    if (!d) {
      clear(msgList).append(h('li', { class: 'msg-loading muted', dataset: { testid: 'thread-loading' } },
        state.detailError || t('common.loading')));
      clear(historyBar);
    } else {
      renderMessages({ keepScroll, toBottom: !keepScroll });
    }
    renderComposerState();
  }

  function presenceHint() {
    const s = state.status && state.status.status;
    if (s === 'available') return t('inbox.hintAvailable');
    if (s === 'paused') return t('inbox.hintPaused');
    return t('inbox.hintOffline');
  }

  function renderThreadHead() {
    preserveFocus(threadHead, drawThreadHead);
  }

  function drawThreadHead() {
    const d = state.detail;
    const c = d ? d.conversation : state.conversations.get(state.selectedId);
    clear(threadHead);
    threadNotice.textContent = state.notice ? t(state.notice.key) : '';
    if (!c) return;
    const offer = c.state === 'offered' ? c.offers.find((o) => o.userId === me && Date.parse(o.expiresAt) > Date.now()) : null;
    const mine = c.state === 'assigned' && c.agentId === me;
    const stateLabel = c.state === 'closed' ? t('inbox.stateClosed') : offer ? t('inbox.stateOffered') : mine ? t('inbox.stateAssigned')
      : t('inbox.stateNotYours');
    const closeBtn = mine && !state.closing ? h('button', {
      type: 'button', class: 'btn btn-small', disabled: state.busy.has('close'), dataset: { testid: 'conv-close' },
      onclick: () => { state.closing = true; renderThreadHead(); renderComposerState(); focusEl(wrapUp.textarea); },
    }, t('inbox.close')) : null;
    const acceptBtn = offer ? h('button', {
      type: 'button', class: 'btn btn-small btn-primary', disabled: state.busy.has('accept'), dataset: { testid: 'conv-accept' },
      onclick: accept,
    }, t('inbox.accept')) : null;
    const again = c.state === 'closed' ? h('button', {
      type: 'button', class: 'btn btn-small', dataset: { testid: 'conv-write-again' },
      onclick: () => newDialog.open({ campaignId: c.campaignId, number: c.clientNumber }),
    }, t('inbox.writeAgain')) : null;
    threadHead.append(
      h('div', { class: 'thread-title-block' },
        h('h2', { id: 'thread-title', class: 'thread-title', dataset: { testid: 'thread-number' } }, c.clientNumber),
        h('p', { class: 'thread-meta' },
          h('span', { dataset: { testid: 'thread-campaign' } }, c.campaignName),
          c.did ? h('span', null, t('inbox.toDid', { did: c.did })) : null,
          h('span', { class: `pill pill-state pill-${c.state}`, dataset: { testid: 'thread-state', state: c.state } }, stateLabel),
          offer ? h('span', { class: 'pill pill-offer', dataset: { testid: 'thread-offer', tick: 'accept', at: offer.expiresAt } },
            t('inbox.acceptWithin', { time: duration(-since(offer.expiresAt)) })) : null,
          c.waitingSince && c.state !== 'closed' ? h('span', { class: 'pill pill-wait', dataset: { testid: 'thread-wait', tick: 'wait', at: c.waitingSince } },
            t('inbox.waiting', { time: duration(since(c.waitingSince)) })) : null),
        earlierBlock(c)),
      h('div', { class: 'thread-actions' }, acceptBtn, closeBtn, again));
    if (c.state === 'closed') {
      threadNotice.textContent = c.wrapUp ? t('inbox.closedWithWrapUp', { wrapUp: c.wrapUp }) : t('inbox.closedNotice');
    }
  }

  function earlierBlock(c) {
    const d = state.detail;
    if (!d) return null;
    const earlier = d.earlier || [];
    if (earlier.length === 0) {
      return h('p', { class: 'thread-earlier-none muted', dataset: { testid: 'thread-earlier-none' } },
        c.previousConversationId ? t('inbox.earlierHidden') : t('inbox.firstConversation'));
    }
    const details = h('details', { class: 'thread-earlier', open: state.earlierOpen, dataset: { testid: 'thread-earlier' } },
      h('summary', { dataset: { testid: 'thread-earlier-toggle' } }, tCount('inbox.earlier', earlier.length)),
      h('ul', { class: 'earlier-list' }, earlier.map((e) => h('li', { dataset: { testid: `earlier-${e.id}` } },
        h('span', { class: 'earlier-when' }, fmt('dateTime').format(new Date(e.openedAt))),
        e.agentName ? h('span', null, e.agentName) : null,
        h('span', { class: 'muted' }, e.state === 'closed' ? (e.wrapUp ? t('inbox.earlierWrapUp', { wrapUp: e.wrapUp }) : t('inbox.stateClosed'))
          : t('inbox.earlierOpen'))))));
    // The head is drawn again on every change of the conversation: keep it as the agent left it.
    details.addEventListener('toggle', () => { state.earlierOpen = details.open; });
    return details;
  }

  function nearBottom() {
    return threadBody.scrollHeight - threadBody.scrollTop - threadBody.clientHeight < 60;
  }

  function renderMessages({ keepScroll = false, toBottom = false, follow = false } = {}) {
    const d = state.detail;
    if (!d) return;
    const wasNearBottom = nearBottom();
    const fromBottom = threadBody.scrollHeight - threadBody.scrollTop;
    const now = Date.now();
    const all = [...d.messages.values()].sort(byTime);
    const current = d.conversation.id;
    const earlierById = new Map((d.earlier || []).map((e) => [e.id, e]));

    clear(historyBar);
    if (!d.history.loaded || d.history.more) {
      historyBar.append(h('button', {
        type: 'button', class: 'btn btn-small btn-ghost', disabled: d.history.busy, dataset: { testid: 'thread-history' },
        onclick: loadHistory,
      }, d.history.busy ? t('common.loading') : d.history.loaded ? t('inbox.olderHistory') : t('inbox.fullHistory')));
    } else {
      historyBar.append(h('p', { class: 'muted history-done', dataset: { testid: 'thread-history-done' } }, t('inbox.historyComplete')));
    }

    preserveFocus(msgList, () => {
      clear(msgList);
      let lastConversation;
      for (const m of all) {
        if (d.history.loaded && m.conversationId !== lastConversation) {
          lastConversation = m.conversationId;
          const e = earlierById.get(m.conversationId);
          const label = m.conversationId === current ? t('inbox.thisConversation')
            : e ? t('inbox.earlierConversationOn', { date: fmt('date').format(new Date(e.openedAt)) })
              : m.conversationId ? t('inbox.earlierConversation') : t('inbox.noConversation');
          msgList.append(h('li', { class: 'msg-divider', role: 'presentation' }, h('span', null, label)));
        }
        msgList.append(bubble(m, now));
      }
      if (all.length === 0) msgList.append(h('li', { class: 'muted msg-loading' }, t('inbox.noMessages')));
    });

    if (toBottom || (follow && wasNearBottom)) threadBody.scrollTop = threadBody.scrollHeight;
    else if (keepScroll && wasNearBottom) threadBody.scrollTop = threadBody.scrollHeight;
    else if (keepScroll) threadBody.scrollTop = threadBody.scrollHeight - fromBottom;
  }

  function bubble(m, now) {
    const out = m.direction === 'out';
    const st = out ? shownState(m, now) : 'received';
    const meta = [timeElement(m.at, { dash: false })];
    if (out && m.automatic) meta.push(h('span', { class: 'msg-auto' }, t('inbox.automatic')));
    if (out) {
      let label = t(`inbox.msgState.${st}`);
      if (st === 'scheduled' && m.scheduledFor) label = t('inbox.scheduledFor', { time: fmt('short').format(new Date(m.scheduledFor)) });
      meta.push(h('span', { class: `msg-state msg-state-${st}`, dataset: { testid: `msg-state-${m.id}`, state: st } }, label));
    }
    const reason = out && m.reason ? h('p', { class: 'msg-reason', dataset: { testid: `msg-reason-${m.id}` } }, m.reason) : null;
    const canCancel = out && m.cancellable && st === 'scheduled' && m.agentId === me;
    const dataset = { testid: `msg-${m.id}`, id: String(m.id), direction: m.direction, state: st };
    if (st === 'scheduled' && m.scheduledFor) dataset.scheduledFor = m.scheduledFor;
    return h('li', { class: `msg ${out ? 'msg-out' : 'msg-in'}`, dataset },
    h('div', { class: 'bubble' },
      h('p', { class: 'msg-text', dataset: { testid: `msg-text-${m.id}` } }, m.text),
      reason,
      h('div', { class: 'msg-meta' }, meta,
        canCancel ? h('button', { type: 'button', class: 'btn-link', disabled: state.busy.has(`cancel-${m.id}`),
          dataset: { testid: `msg-cancel-${m.id}` }, onclick: () => cancelScheduled(m.id) }, t('common.cancel')) : null)));
  }

  async function loadHistory() {
    const d = state.detail;
    if (!d || d.history.busy) return;
    d.history.busy = true;
    renderMessages({ keepScroll: true });
    const id = d.conversation.id;
    try {
      let beforeId = null;
      if (d.history.loaded) beforeId = Math.min(...[...d.messages.keys()]);
      const r = await inboxApi.history(id, beforeId);
      if (!ctx.isCurrent() || state.detail !== d) return;
      for (const m of r.messages) d.messages.set(m.id, m);
      d.history.loaded = true;
      d.history.more = r.messages.length >= HISTORY_PAGE;
    } catch (err) {
      if (ctx.isCurrent()) messages.fail(errorText(err));
    } finally {
      d.history.busy = false;
      if (ctx.isCurrent() && state.detail === d) {
        const top = threadBody.scrollHeight - threadBody.scrollTop;
        renderMessages();
        threadBody.scrollTop = threadBody.scrollHeight - top;
        focusEl(historyBar.querySelector('button') || threadBody);
      }
    }
  }

  // ---- Actions ----------------------------------------------------------------------------------

  async function accept() {
    const d = state.detail;
    if (!d || state.busy.has('accept')) return;
    state.busy.add('accept');
    renderThreadHead();
    try {
      const r = await inboxApi.accept(d.conversation.id);
      if (!ctx.isCurrent()) return;
      mergeConversation(r.conversation);
      renderList();
      composer.focus();
    } catch (err) {
      if (!ctx.isCurrent()) return;
      if (err.code === 'taken' || err.code === 'offer_expired') {
        state.notice = { key: err.code === 'taken' ? 'inbox.taken' : 'inbox.offerExpired' };
        state.conversations.delete(d.conversation.id);
        renderList();
      } else {
        messages.fail(errorText(err));
      }
    } finally {
      state.busy.delete('accept');
      if (ctx.isCurrent()) { renderThreadHead(); renderComposerState(); }
    }
  }

  async function closeConversation() {
    const d = state.detail;
    if (!d || state.busy.has('close')) return;
    const text = wrapUp.textarea.value.trim();
    if (text.length > MAX_WRAP_UP) { wrapUp.setError(t('inbox.wrapUpTooLong', { max: MAX_WRAP_UP })); return; }
    state.busy.add('close');
    wrapUp.setBusy(true);
    try {
      const r = await inboxApi.close(d.conversation.id, text);
      if (!ctx.isCurrent()) return;
      state.closing = false;
      wrapUp.reset();
      state.drafts.delete(d.conversation.id);
      composer.setDraft(null);
      mergeConversation(r.conversation);
      renderList();
      announce('inbox.closedOk', { number: r.conversation.clientNumber });
    } catch (err) {
      if (ctx.isCurrent()) wrapUp.setError(errorText(err));
    } finally {
      state.busy.delete('close');
      wrapUp.setBusy(false);
      if (ctx.isCurrent()) { renderThreadHead(); renderComposerState(); }
    }
  }

  async function send() {
    const d = state.detail;
    if (!d || state.busy.has('send')) return;
    const check = composer.check();
    if (!check.ok) return;
    const body = { text: composer.textarea.value };
    if (check.sendAt) body.sendAt = isoSeconds(check.sendAt);
    state.busy.add('send');
    composer.setBusy(true);
    const id = d.conversation.id;
    try {
      const r = await inboxApi.reply(id, body);
      if (!ctx.isCurrent()) return;
      state.drafts.delete(id);
      if (state.selectedId === id) composer.setDraft(null);
      mergeConversation(r.conversation);
      mergeMessage(r.message);
      renderList();
      if (state.selectedId === id) {
        threadBody.scrollTop = threadBody.scrollHeight;
        if (check.sendAt) announce('inbox.scheduledOk', { time: fmt('dateTime').format(check.sendAt) });
      }
    } catch (err) {
      if (!ctx.isCurrent()) return;
      composer.setError(errorText(err));
      if (err.code === 'taken' || err.code === 'offer_expired' || err.code === 'closed') loadDetail(id, { keepScroll: true });
    } finally {
      state.busy.delete('send');
      composer.setBusy(false);
      if (ctx.isCurrent()) { renderComposerState(); composer.focus(); }
    }
  }

  /** Composer and wrap-up form as the open conversation allows. */
  function renderComposerState() {
    const d = state.detail;
    const c = d ? d.conversation : null;
    const offered = c && c.state === 'offered' && c.offers.some((o) => o.userId === me && Date.parse(o.expiresAt) > Date.now());
    const mine = c && c.state === 'assigned' && c.agentId === me;
    composer.el.hidden = !(mine || offered) || state.closing;
    composer.setCanned(d ? d.canned : []);
    composer.setOfferNote(!!offered);
    wrapUp.el.hidden = !(mine && state.closing);
  }

  // ---- Presence (SPEC A5) -------------------------------------------------------------------------

  function buildPresence() {
    const buttons = new Map();
    const group = h('div', { class: 'presence-group', role: 'group', 'aria-label': t('inbox.presence') });
    for (const s of PRESENCE) {
      const b = h('button', {
        type: 'button', class: 'presence-btn', 'aria-pressed': 'false', dataset: { testid: `presence-${s}`, status: s },
        onclick: () => choose(s),
      }, h('span', { class: `presence-dot presence-dot-${s}`, 'aria-hidden': 'true' }), t(`inbox.presence.${s}`));
      buttons.set(s, b);
      group.append(b);
    }
    const reasons = h('datalist', { id: 'pause-reasons' },
      ['inbox.reasonBreak', 'inbox.reasonLunch', 'inbox.reasonTraining', 'inbox.reasonMeeting', 'inbox.reasonAdmin']
        .map((k) => h('option', { value: t(k) })));
    const reason = h('input', { type: 'text', id: 'presence-reason', list: 'pause-reasons', maxlength: String(MAX_REASON),
      placeholder: t('inbox.pauseReasonPlaceholder'), autocomplete: 'off', dataset: { testid: 'presence-reason' } });
    const confirm = h('button', { type: 'submit', class: 'btn btn-small btn-primary', dataset: { testid: 'presence-pause' } },
      t('inbox.pause'));
    const cancel = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'presence-pause-cancel' },
      onclick: () => { pauseForm.hidden = true; buttons.get('paused').focus(); } }, t('common.cancel'));
    const pauseForm = h('form', { class: 'presence-pause', hidden: true, dataset: { testid: 'presence-pause-form' } },
      h('label', { for: 'presence-reason', class: 'visually-hidden' }, t('inbox.pauseReason')), reason, reasons, confirm, cancel);
    pauseForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      setStatus('paused', reason.value.trim());
    });
    pauseForm.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { pauseForm.hidden = true; buttons.get('paused').focus(); } });
    const text = h('span', { class: 'presence-text', dataset: { testid: 'presence-text' } });
    const el = h('div', { class: 'presence', dataset: { testid: 'presence', status: '' } }, group, text, pauseForm);

    function choose(s) {
      if (s === 'paused') {
        pauseForm.hidden = false;
        reason.value = state.status && state.status.status === 'paused' ? state.status.reason || '' : '';
        reason.focus();
        return;
      }
      pauseForm.hidden = true;
      setStatus(s, null);
    }

    async function setStatus(s, why) {
      if (state.busy.has('status')) return;
      state.busy.add('status');
      update();
      try {
        const r = await inboxApi.setStatus(s, why || null);
        if (!ctx.isCurrent()) return;
        state.status = r.status;
        pauseForm.hidden = true;
        messages.clear();
      } catch (err) {
        if (ctx.isCurrent()) messages.fail(errorText(err));
      } finally {
        state.busy.delete('status');
        if (ctx.isCurrent()) { renderPresence(); renderList(); if (state.selectedId === null) renderThread(); }
      }
    }

    function update() {
      const s = state.status ? state.status.status : null;
      el.dataset.status = s || '';
      for (const [k, b] of buttons) {
        b.setAttribute('aria-pressed', String(k === s));
        b.disabled = state.busy.has('status');
      }
      if (s === 'paused') {
        text.textContent = state.status.reason ? t('inbox.pausedBecause', { reason: state.status.reason }) : t('inbox.pausedNoReason');
        text.hidden = false;
      } else {
        text.textContent = '';
        text.hidden = true;
      }
    }
    return { el, update };
  }

  function renderPresence() {
    presence.update();
  }

  // ---- Wrap-up (close) --------------------------------------------------------------------------------

  function buildWrapUp() {
    const textarea = h('textarea', { id: 'wrapup-text', rows: '2', maxlength: String(MAX_WRAP_UP),
      placeholder: t('inbox.wrapUpPlaceholder'), dataset: { testid: 'wrapup-text' } });
    const error = h('p', { class: 'field-error', role: 'alert', dataset: { testid: 'wrapup-error' } });
    const confirm = h('button', { type: 'submit', class: 'btn btn-primary btn-small', dataset: { testid: 'wrapup-confirm' } },
      t('inbox.closeConfirm'));
    const cancel = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'wrapup-cancel' },
      onclick: () => { state.closing = false; error.textContent = ''; renderThreadHead(); renderComposerState(); composer.focus(); } },
    t('common.cancel'));
    const el = h('form', { class: 'wrapup', hidden: true, dataset: { testid: 'wrapup' } },
      h('label', { for: 'wrapup-text', class: 'wrapup-label' }, t('inbox.wrapUp'), ' ', h('span', { class: 'muted' }, t('common.optional'))),
      textarea, error, h('div', { class: 'form-actions' }, confirm, cancel));
    el.addEventListener('submit', (ev) => { ev.preventDefault(); closeConversation(); });
    return {
      el, textarea,
      setError(text) { error.textContent = text || ''; },
      setBusy(b) { confirm.disabled = b; cancel.disabled = b; },
      reset() { textarea.value = ''; error.textContent = ''; },
    };
  }

  // ---- Composer (SPEC A3, A7) ---------------------------------------------------------------------------

  function buildComposer() {
    const textarea = h('textarea', { id: 'composer-text', rows: '3', placeholder: t('inbox.replyPlaceholder'),
      'aria-label': t('inbox.replyLabel'), 'aria-describedby': 'composer-count composer-error', dataset: { testid: 'composer-text' } });
    const counter = smsCounter('composer');
    const error = h('p', { id: 'composer-error', class: 'field-error', role: 'alert', dataset: { testid: 'composer-error' } });
    const note = h('p', { class: 'composer-note', hidden: true, dataset: { testid: 'composer-offer-note' } }, t('inbox.replyAccepts'));
    const emoji = emojiPicker('composer', textarea);

    const cannedList = h('ul', { class: 'canned-menu-list' });
    const cannedFilter = h('input', { type: 'search', class: 'canned-filter', placeholder: t('inbox.cannedFilter'),
      'aria-label': t('inbox.cannedFilter'), dataset: { testid: 'composer-canned-filter' } });
    const cannedEmpty = h('p', { class: 'muted canned-menu-empty', dataset: { testid: 'composer-canned-empty' } });
    const canned = popover({ prefix: 'composer-canned', labelKey: 'inbox.canned', icon: '💬',
      content: [cannedFilter, cannedEmpty, cannedList], panelClass: 'canned-panel' });
    let cannedItems = [];
    cannedFilter.addEventListener('input', renderCanned);

    const laterToggle = h('button', { type: 'button', class: 'btn btn-small composer-tool', 'aria-expanded': 'false',
      'aria-controls': 'composer-later', dataset: { testid: 'composer-later-toggle' } },
    h('span', { 'aria-hidden': 'true', class: 'composer-tool-icon' }, '⏰'), t('inbox.sendLater'));
    const laterInput = h('input', { type: 'datetime-local', id: 'composer-later-at', dataset: { testid: 'composer-later-at' } });
    const later = h('div', { id: 'composer-later', class: 'composer-later', hidden: true },
      h('label', { for: 'composer-later-at' }, t('inbox.sendAt')), laterInput,
      h('span', { class: 'field-hint' }, t('inbox.sendLaterHint')));
    const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'composer-send' } }, t('inbox.send'));

    const el = h('form', { class: 'composer', dataset: { testid: 'composer' } },
      note,
      textarea,
      later,
      h('div', { class: 'composer-bar' },
        h('div', { class: 'composer-tools' }, emoji.el, canned.el, laterToggle),
        counter.el,
        sendBtn),
      h('p', { class: 'composer-hint muted' }, t('inbox.sendHint')),
      error);

    let busy = false;
    let last = counter.update('');
    function refresh() {
      last = counter.update(textarea.value);
      const laterOn = !later.hidden;
      sendBtn.textContent = laterOn ? t('inbox.schedule') : t('inbox.send');
      sendBtn.disabled = busy || last.empty || last.tooLong;
      if (last.tooLong) error.textContent = t('inbox.tooLong', { max: MAX_TEXT });
      else if (error.dataset.kind === 'length') error.textContent = '';
      error.dataset.kind = last.tooLong ? 'length' : '';
    }
    textarea.addEventListener('input', () => { if (error.dataset.kind !== 'length') error.textContent = ''; refresh(); });
    textarea.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send(); }
    });
    laterToggle.addEventListener('click', () => setLater(later.hidden, laterInput.value));
    el.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });

    function setLater(on, value, focus = true) {
      later.hidden = !on;
      laterToggle.setAttribute('aria-expanded', String(on));
      laterToggle.classList.toggle('is-on', on);
      if (on) {
        const min = new Date(Date.now() + 60000);
        laterInput.min = localInputValue(min);
        if (value) laterInput.value = value;
        else if (!laterInput.value) laterInput.value = localInputValue(new Date(Date.now() + 3600000));
        if (focus) laterInput.focus();
      } else {
        laterInput.value = value || '';
      }
      refresh();
    }

    function renderCanned() {
      const q = cannedFilter.value.trim().toLowerCase();
      const shown = cannedItems.filter((r) => !q || r.title.toLowerCase().includes(q) || r.body.toLowerCase().includes(q));
      cannedFilter.hidden = cannedItems.length <= 5;
      cannedEmpty.textContent = cannedItems.length === 0 ? t('inbox.noCanned') : shown.length === 0 ? t('inbox.noCannedMatch') : '';
      cannedEmpty.hidden = shown.length > 0;
      clear(cannedList);
      for (const r of shown) {
        cannedList.append(h('li', null, h('button', {
          type: 'button', class: 'canned-option', dataset: { testid: `composer-canned-${r.id}` },
          onclick: () => { canned.close(); insertAtCaret(textarea, r.body); },
        }, h('span', { class: 'canned-option-title' }, r.title), h('span', { class: 'canned-option-body' }, r.body))));
      }
    }

    renderCanned();
    return {
      el, textarea, laterInput,
      laterOpen: () => !later.hidden,
      focus() { if (!el.hidden) textarea.focus(); },
      setDraft(draft) {
        emoji.close();
        canned.close();
        textarea.value = draft ? draft.text : '';
        error.textContent = '';
        setLater(!!(draft && draft.later), draft ? draft.at : '', false);
      },
      setCanned(list) {
        const next = list || [];
        if (JSON.stringify(next) === JSON.stringify(cannedItems)) return;
        cannedItems = next;
        renderCanned();
      },
      setOfferNote(on) { note.hidden = !on; },
      setBusy(b) { busy = b; refresh(); },
      setError(text) { error.textContent = text || ''; error.dataset.kind = ''; },
      /** { ok, sendAt } for what is typed; shows the problem when not ok. */
      check() {
        refresh();
        if (last.empty) { error.textContent = t('inbox.textRequired'); textarea.focus(); return { ok: false }; }
        if (last.tooLong) { textarea.focus(); return { ok: false }; }
        if (!later.hidden) {
          const at = laterInput.value ? fromInputDateTime(laterInput.value) : null;
          if (!at || Number.isNaN(at.getTime())) { error.textContent = t('inbox.sendAtRequired'); laterInput.focus(); return { ok: false }; }
          if (at.getTime() <= Date.now()) { error.textContent = t('inbox.sendAtPast'); laterInput.focus(); return { ok: false }; }
          return { ok: true, sendAt: at };
        }
        return { ok: true, sendAt: null };
      },
    };
  }

  // ---- New message: start an SMS interaction (SPEC A1) -------------------------------------------------

  function buildNewDialog() {
    const campaign = h('select', { id: 'new-campaign', required: true, dataset: { testid: 'new-campaign' } });
    const number = h('input', { type: 'text', id: 'new-number', inputmode: 'tel', autocomplete: 'off', spellcheck: 'false',
      placeholder: t('inbox.numberPlaceholder'), dataset: { testid: 'new-number' } });
    const text = h('textarea', { id: 'new-text', rows: '4', dataset: { testid: 'new-text' } });
    const counter = smsCounter('new');
    const emoji = emojiPicker('new', text);
    const laterCheck = h('input', { type: 'checkbox', id: 'new-later', dataset: { testid: 'new-later' } });
    const laterAt = h('input', { type: 'datetime-local', id: 'new-later-at', hidden: true, 'aria-label': t('inbox.sendAt'),
      dataset: { testid: 'new-later-at' } });
    const error = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'new-error' } });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'new-send' } }, t('inbox.send'));
    const cancel = h('button', { type: 'button', class: 'btn', dataset: { testid: 'new-cancel' }, onclick: () => close() }, t('common.cancel'));
    const noCampaigns = h('p', { class: 'notice notice-info', hidden: true, dataset: { testid: 'new-no-campaigns' } }, t('inbox.noCampaigns'));
    const form = h('form', { class: 'new-form' },
      h('div', { class: 'form-grid' },
        h('div', { class: 'field' }, h('label', { for: 'new-campaign' }, t('inbox.campaign')), campaign),
        h('div', { class: 'field' }, h('label', { for: 'new-number' }, t('inbox.number')), number,
          h('p', { class: 'field-hint' }, t('inbox.numberHint'))),
        h('div', { class: 'field field-wide' }, h('label', { for: 'new-text' }, t('inbox.message')), text,
          h('div', { class: 'composer-bar new-bar' }, h('div', { class: 'composer-tools' }, emoji.el), counter.el))),
      h('div', { class: 'new-later' },
        h('label', { class: 'check', for: 'new-later' }, laterCheck, t('inbox.sendLater')), laterAt),
      error,
      h('div', { class: 'form-actions' }, submit, cancel));
    const el = h('dialog', { class: 'dialog new-dialog', 'aria-labelledby': 'new-title', dataset: { testid: 'new-dialog' } },
      h('h2', { id: 'new-title', class: 'dialog-title' }, t('inbox.newTitle')),
      h('p', { class: 'dialog-hint' }, t('inbox.newHint')),
      noCampaigns, form);
    let busy = false;
    let campaigns = [];
    let campaignsLoaded = false;

    function refresh() {
      const r = counter.update(text.value);
      submit.textContent = laterCheck.checked ? t('inbox.schedule') : t('inbox.send');
      submit.disabled = busy || r.tooLong || campaigns.length === 0;
      return r;
    }
    text.addEventListener('input', refresh);
    laterCheck.addEventListener('change', () => {
      laterAt.hidden = !laterCheck.checked;
      if (laterCheck.checked) {
        laterAt.min = localInputValue(new Date(Date.now() + 60000));
        if (!laterAt.value) laterAt.value = localInputValue(new Date(Date.now() + 3600000));
      }
      refresh();
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (busy) return;
      error.textContent = '';
      const r = refresh();
      if (!campaign.value) { error.textContent = t('inbox.campaignRequired'); campaign.focus(); return; }
      if (!number.value.trim()) { error.textContent = t('inbox.numberRequired'); number.focus(); return; }
      if (r.empty) { error.textContent = t('inbox.textRequired'); text.focus(); return; }
      if (r.tooLong) { error.textContent = t('inbox.tooLong', { max: MAX_TEXT }); text.focus(); return; }
      const body = { campaignId: Number(campaign.value), number: number.value.trim(), text: text.value };
      if (laterCheck.checked) {
        const at = laterAt.value ? fromInputDateTime(laterAt.value) : null;
        if (!at || Number.isNaN(at.getTime()) || at.getTime() <= Date.now()) {
          error.textContent = t('inbox.sendAtPast'); laterAt.focus(); return;
        }
        body.sendAt = isoSeconds(at);
      }
      busy = true;
      refresh();
      try {
        const res = await inboxApi.start(body);
        if (!ctx.isCurrent()) return;
        close();
        mergeConversation(res.conversation);
        mergeMessage(res.message);
        renderList();
        select(res.conversation.id);
        announce(body.sendAt ? 'inbox.scheduledOk' : 'inbox.startedOk',
          { number: res.conversation.clientNumber, time: body.sendAt ? fmt('dateTime').format(new Date(body.sendAt)) : '' });
      } catch (err) {
        if (!ctx.isCurrent()) return;
        error.textContent = errorText(err);
        if (err.field === 'number') number.focus();
        else if (err.field === 'text') text.focus();
      } finally {
        busy = false;
        if (ctx.isCurrent()) refresh();
      }
    });
    el.addEventListener('close', () => { emoji.close(); });

    function close() {
      if (el.open) el.close();
    }

    return {
      el,
      setCampaigns(list) {
        campaigns = list.filter((c) => c.enabled);
        campaignsLoaded = true;
        const keep = campaign.value;
        clear(campaign).append(...campaigns.map((c) => h('option', { value: String(c.id) }, c.name)));
        if (keep && campaigns.some((c) => String(c.id) === keep)) campaign.value = keep;
        noCampaigns.hidden = !campaignsLoaded || campaigns.length > 0;
        refresh();
      },
      open(prefill = {}) {
        error.textContent = '';
        if (prefill.campaignId && campaigns.some((c) => c.id === prefill.campaignId)) campaign.value = String(prefill.campaignId);
        number.value = prefill.number || '';
        text.value = '';
        laterCheck.checked = false;
        laterAt.hidden = true;
        laterAt.value = '';
        refresh();
        if (!el.open) el.showModal();
        focusEl(campaigns.length === 0 ? cancel : prefill.number ? text : number);
      },
      close,
    };
  }
}
