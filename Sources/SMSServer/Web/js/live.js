// Live events: one WebSocket per page to /api/v1/live, shared by every view.
//
// - subscribe(topic, handler) → unsubscribe(); topic '*' receives every event.
//   handler(data, event) gets the event's data and the whole { seq, topic, at, data }.
// - onState(handler) → unsubscribe(); handler({ state, resync, resumed }) now and on
//   every change: state is 'connecting' (first connection), 'live', or 'lost'
//   (dropped, reconnecting). On 'live' after a drop, `resumed` is true: the events
//   missed meanwhile have been replayed. `resync` is true when they could not be
//   (too old): a view must reload its data.
// - The connection opens with the first subscription and stays open until
//   disconnect() (sign-out). It reconnects with exponential backoff and jitter,
//   resuming with ?after=<last seq>, so no event is missed across a drop.
// - The server closes with 4001 when the session ended: the page asks /me, whose
//   401 shows the sign-in view (api.js onUnauthorized).

import { request } from './api.js';

const PATH = '/api/v1/live';
const PING_MS = 25000;        // client ping, also checks the session server-side
const SILENCE_MS = 70000;     // no message at all for this long: the connection is dead
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30000;
const SESSION_ENDED = 4001;

const topics = new Map();       // topic -> Set(handler)
const stateHandlers = new Set();
let socket = null;
let lastSeq = null;             // the last event (or hello) seen: where a reconnect resumes
let attempts = 0;
let reconnectTimer = null;
let pingTimer = null;
let silenceTimer = null;
let wanted = false;
let current = { state: 'connecting', resync: false, resumed: false };
let everLive = false;           // a hello was received since the last disconnect()

function setState(state, extra = {}) {
  current = { state, resync: false, resumed: false, ...extra };
  for (const fn of [...stateHandlers]) {
    try { fn(current); } catch (err) { console.error(err); }
  }
}

function url() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${PATH}${lastSeq !== null ? `?after=${encodeURIComponent(lastSeq)}` : ''}`;
}

function clearTimers() {
  if (pingTimer !== null) { clearInterval(pingTimer); pingTimer = null; }
  if (silenceTimer !== null) { clearTimeout(silenceTimer); silenceTimer = null; }
}

function heard() {
  if (silenceTimer !== null) clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => { if (socket) socket.close(); }, SILENCE_MS);
}

function connect() {
  if (!wanted || socket) return;
  let ws;
  try {
    ws = new WebSocket(url());
  } catch (_) {
    scheduleReconnect();
    return;
  }
  socket = ws;
  ws.onopen = () => {
    heard();
    pingTimer = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
    }, PING_MS);
  };
  ws.onmessage = (ev) => {
    heard();
    let msg;
    try { msg = JSON.parse(ev.data); } catch (_) { return; }
    if (msg.type === 'hello' || msg.type === 'resync') {
      const resumed = everLive;
      everLive = true;
      attempts = 0;
      lastSeq = msg.seq;
      setState('live', { resync: msg.type === 'resync', resumed });
    } else if (msg.type === 'event') {
      if (lastSeq !== null && msg.seq <= lastSeq) return; // never twice
      lastSeq = msg.seq;
      dispatch(msg);
    }
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    clearTimers();
    if (!wanted) return;
    setState('lost');
    if (ev.code === SESSION_ENDED || attempts >= 2) {
      // The upgrade cannot say why it failed; /me can. A 401 there shows the sign-in view.
      request('GET', '/me').catch(() => {});
    }
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  if (!wanted || reconnectTimer !== null) return;
  const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** attempts);
  const delay = ceiling / 2 + Math.random() * ceiling / 2;
  attempts += 1;
  reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, delay);
}

function dispatch(event) {
  for (const key of [event.topic, '*']) {
    const handlers = topics.get(key);
    if (!handlers) continue;
    for (const fn of [...handlers]) {
      try { fn(event.data, event); } catch (err) { console.error(err); }
    }
  }
}

function ensureConnected() {
  if (wanted) return;
  wanted = true;
  connect();
}

/** Calls handler(data, event) for every event of `topic` ('*': all); returns the unsubscribe function. */
export function subscribe(topic, handler) {
  if (!topics.has(topic)) topics.set(topic, new Set());
  topics.get(topic).add(handler);
  ensureConnected();
  return () => {
    const handlers = topics.get(topic);
    if (!handlers) return;
    handlers.delete(handler);
    if (handlers.size === 0) topics.delete(topic);
  };
}

/** Calls handler({ state, resync, resumed }) now and on every change; returns the unsubscribe function. */
export function onState(handler) {
  stateHandlers.add(handler);
  try { handler(current); } catch (err) { console.error(err); }
  return () => { stateHandlers.delete(handler); };
}

/** The connection state now: 'connecting', 'live' or 'lost'. */
export function state() {
  return current.state;
}

/** Closes the connection and forgets where it was (sign-out). The next subscribe() opens a new one. */
export function disconnect() {
  wanted = false;
  if (reconnectTimer !== null) { clearTimeout(reconnectTimer); reconnectTimer = null; }
  clearTimers();
  const ws = socket;
  socket = null;
  if (ws) ws.close(1000);
  lastSeq = null;
  attempts = 0;
  everLive = false;
  topics.clear();
  current = { state: 'connecting', resync: false, resumed: false };
}
