// The agent's side of supervision (SPEC S3), attached to the agent's inbox page.
//
// - Supervisor chat: the messages supervisors write to this agent (GET /agent/chat, then the live
//   `agent.chat` events) in a panel docked at the bottom left; a new message opens it at once, and
//   the agent answers the supervisor who wrote last (POST /agent/chat).
// - What a supervisor did (`agent.supervision`): "paused you: <reason>" and "took over one of your
//   conversations", shown as a notice. The pause itself reaches the inbox's presence control through
//   `agent.status`, and a conversation taken over leaves the list through `conversation.assigned`.
// - Monitor screen (`agent.monitoring`, GET /agent/screen on each connection): while supervisors watch
//   this screen, a notice says who, and what the screen shows — the open conversation and the draft,
//   read through `screen()` — is posted to POST /agent/screen when it changes (checked every 250 ms,
//   one request at a time); the server relays it to the watchers only.
// - A disconnect needs nothing here: the server closes the page's socket (code 4001) and live.js
//   sends the page to the sign-in view.
//
// attachSupervision(container, ctx, screen) adds the dock to `container` and returns the cleanup
// function; `screen()` answers { conversationId, draft } (what the agent's inbox shows now).

import { request } from '../api.js';
import * as liveEvents from '../live.js';
import { t } from '../i18n.js';
import { formatDate } from '../format.js';
import { h, clear, errorText, focusEl } from '../dom.js';

const chatApi = {
  list: () => request('GET', '/agent/chat'),
  send: (text, toUserId) => request('POST', '/agent/chat', toUserId ? { text, toUserId } : { text }),
};
const screenApi = {
  watchers: () => request('GET', '/agent/screen'),
  post: (conversationId, draft) => request('POST', '/agent/screen', { conversationId, draft }),
};
const NOTICE_MS = 30000;
const SCREEN_MS = 250;

function clock(iso) {
  return formatDate(iso, 'time');
}

export function attachSupervision(container, ctx, screen = null) {
  const me = ctx.user.id;
  const state = { messages: new Map(), open: false, unread: 0, busy: false, error: null, notice: null, watchedBy: [] };
  const unsubscribe = [];
  let noticeTimer = null;
  let screenTimer = null;
  let screenSent = null;    // the last screen the watchers got, as JSON
  let screenPosting = false;

  const dock = h('div', { class: 'sup-dock', dataset: { testid: 'sup-dock' } });
  container.append(dock);

  function lastWriter() {
    const incoming = [...state.messages.values()].filter((m) => m.toUserId === me).sort((a, b) => a.id - b.id);
    return incoming.length ? incoming[incoming.length - 1] : null;
  }

  function render() {
    const draft = dock.querySelector('#sup-text');
    const keep = draft ? { value: draft.value, focused: document.activeElement === draft } : null;
    clear(dock);
    if (state.watchedBy.length) {
      dock.append(h('p', { class: 'notice notice-info sup-notice sup-monitored', role: 'status', dataset: { testid: 'sup-monitored' } },
        t('sup.monitoredBy', { names: state.watchedBy.join(', ') })));
    }
    if (state.notice) {
      dock.append(h('p', { class: 'notice notice-info sup-notice', role: 'status', dataset: { testid: 'sup-notice' } }, state.notice));
    }
    if (state.messages.size === 0) return;
    if (state.open) {
      const writer = lastWriter();
      const list = h('ol', { class: 'mon-chat', 'aria-label': t('sup.chatTitle'), dataset: { testid: 'sup-messages' } },
        [...state.messages.values()].sort((a, b) => a.id - b.id).map((m) => h('li', {
          class: `mon-chat-msg${m.fromUserId === me ? ' is-mine' : ''}`, dataset: { testid: `sup-msg-${m.id}` } },
        h('span', { class: 'mon-chat-who' }, m.fromName, ' · ', clock(m.at)), h('p', { class: 'msg-text' }, m.text))));
      const text = h('textarea', { id: 'sup-text', rows: '2', maxlength: '1000', dataset: { testid: 'sup-text' } });
      if (keep) text.value = keep.value;
      const form = h('form', { class: 'mon-composer', onsubmit: send },
        h('label', { for: 'sup-text' }, t('sup.replyLabel', { name: writer ? writer.fromName : '' })), text,
        state.error ? h('p', { class: 'field-error', role: 'alert' }, state.error) : null,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary btn-small', disabled: state.busy, dataset: { testid: 'sup-send' } }, t('sup.send'))));
      dock.append(h('section', { class: 'sup-panel', 'aria-labelledby': 'sup-title', dataset: { testid: 'sup-panel' } },
        h('div', { class: 'panel-head' }, h('h2', { id: 'sup-title', class: 'panel-title' }, t('sup.chatTitle')),
          h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'sup-hide' },
            onclick: () => { state.open = false; render(); } }, t('sup.close'))),
        list, form));
      requestAnimationFrame(() => { list.scrollTop = list.scrollHeight; });
      if (keep && keep.focused) focusEl(text);
    } else {
      dock.append(h('button', { type: 'button', class: `btn btn-small sup-toggle${state.unread ? ' has-unread' : ''}`,
        dataset: { testid: 'sup-toggle' }, onclick: () => { state.open = true; state.unread = 0; render(); } },
      state.unread ? t('sup.openUnread', { count: state.unread }) : t('sup.open')));
    }
  }

  async function send(ev) {
    ev.preventDefault();
    const box = dock.querySelector('#sup-text');
    const text = box ? box.value.trim() : '';
    if (!text) { focusEl(box); return; }
    const writer = lastWriter();
    state.busy = true;
    render();
    try {
      const r = await chatApi.send(text, writer ? writer.fromUserId : null);
      state.messages.set(r.message.id, r.message);
      state.error = null;
      const again = dock.querySelector('#sup-text');
      if (again) again.value = '';
    } catch (err) {
      state.error = errorText(err);
    }
    state.busy = false;
    render();
    focusEl(dock.querySelector('#sup-text'));
  }

  async function load() {
    try {
      const r = await chatApi.list();
      if (!ctx.isCurrent()) return;
      for (const m of r.messages) state.messages.set(m.id, m);
      render();
    } catch (_) {
      // The inbox page reports connection problems; the chat tries again on the next (re)connection.
    }
  }

  function showNotice(text) {
    state.notice = text;
    if (noticeTimer !== null) clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { noticeTimer = null; state.notice = null; render(); }, NOTICE_MS);
    render();
  }

  unsubscribe.push(liveEvents.subscribe('agent.chat', ({ message }) => {
    if (!ctx.isCurrent() || (message.toUserId !== me && message.fromUserId !== me)) return;
    const isNew = !state.messages.has(message.id);
    state.messages.set(message.id, message);
    if (isNew && message.toUserId === me) {
      // A supervisor wrote: show it at once.
      state.open = true;
      state.unread = 0;
    }
    render();
  }));
  unsubscribe.push(liveEvents.subscribe('agent.supervision', (data) => {
    if (!ctx.isCurrent()) return;
    if (data.action === 'pause') showNotice(t('sup.pausedBy', { name: data.by, reason: data.reason || '' }));
    else if (data.action === 'takeover') showNotice(t('sup.takenBy', { name: data.by }));
  }));

  // ---- Monitor screen -------------------------------------------------------------------------------

  function setWatchers(names) {
    state.watchedBy = names || [];
    if (state.watchedBy.length && screen && screenTimer === null) {
      screenSent = null; // a new watcher gets the screen at once
      screenTimer = setInterval(reportScreen, SCREEN_MS);
      reportScreen();
    } else if (!state.watchedBy.length && screenTimer !== null) {
      clearInterval(screenTimer);
      screenTimer = null;
    }
    render();
  }

  async function reportScreen() {
    if (screenPosting || !ctx.isCurrent()) return;
    const now = screen();
    const key = JSON.stringify(now);
    if (key === screenSent) return;
    screenPosting = true;
    try {
      await screenApi.post(now.conversationId, now.draft);
      screenSent = key;
    } catch (err) {
      // screen_monitoring_off: an admin no longer allows it; stop reporting. A network failure is tried again on the
      // next check; any other refusal (e.g. a conversation gone) waits for the next change.
      if (err.code === 'screen_monitoring_off') setWatchers([]);
      else if (err.status !== 0) screenSent = key;
    }
    screenPosting = false;
  }

  async function loadWatchers() {
    try {
      const r = await screenApi.watchers();
      if (ctx.isCurrent()) setWatchers(r.watchedBy);
    } catch (_) {
      // As for the chat: tried again on the next (re)connection.
    }
  }

  unsubscribe.push(liveEvents.subscribe('agent.monitoring', (data) => {
    if (!ctx.isCurrent()) return;
    if (data.active) screenSent = null;
    setWatchers(data.watchedBy);
  }));
  unsubscribe.push(liveEvents.onState(({ state: s }) => { if (s === 'live' && ctx.isCurrent()) { load(); loadWatchers(); } }));
  load();
  loadWatchers();

  return () => {
    while (unsubscribe.length) unsubscribe.pop()();
    if (noticeTimer !== null) clearTimeout(noticeTimer);
    if (screenTimer !== null) clearInterval(screenTimer);
    dock.remove();
  };
}
