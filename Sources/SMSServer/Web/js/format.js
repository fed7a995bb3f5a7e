// Dates, times, durations and numbers for the web UI, in the signed-in user's
// language and time zone (i18n.js `locale` and `timeZone`, which change when
// the user picks another one). Every view formats through this module, never
// through toLocale*() or hand-made padding, so the whole UI follows the choice.

import { t, locale, timeZone, onPreferencesChange } from './i18n.js';

let cache = new Map();
onPreferencesChange(() => { cache = new Map(); });

function cached(kind, make) {
  let f = cache.get(kind);
  if (!f) {
    f = make();
    cache.set(kind, f);
  }
  return f;
}

function dateTimeFormat(kind, opts) {
  return cached(`dt:${kind}`, () => {
    try { return new Intl.DateTimeFormat(locale, { ...opts, timeZone }); } catch (_) {
      try { return new Intl.DateTimeFormat(locale, opts); } catch (__) { return new Intl.DateTimeFormat(undefined, opts); }
    }
  });
}

const DATE_STYLES = {
  time: { timeStyle: 'short' },
  timeSeconds: { timeStyle: 'medium' },
  date: { dateStyle: 'medium' },
  dateTime: { dateStyle: 'medium', timeStyle: 'short' },
  short: { dateStyle: 'short', timeStyle: 'short' },
  full: { dateStyle: 'full', timeStyle: 'long' },
  hour: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
  hourOnly: { hour: '2-digit', hourCycle: 'h23' },
};

function toDate(value) {
  if (value instanceof Date) return value;
  if (value === null || value === undefined || value === '') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * Formats an instant (Date, ISO string or epoch ms) in the user's locale and zone.
 * `style`: time, timeSeconds, date, dateTime (default), short, full, hour (HH:mm), hourOnly.
 * `zone` overrides the user's zone (e.g. a campaign's own zone).
 */
export function formatDate(value, style = 'dateTime', zone = null) {
  const d = toDate(value);
  if (!d) return value === null || value === undefined ? '' : String(value);
  const opts = DATE_STYLES[style] || DATE_STYLES.dateTime;
  if (zone && zone !== timeZone) {
    try { return new Intl.DateTimeFormat(locale, { ...opts, timeZone: zone }).format(d); } catch (_) { /* fall through */ }
  }
  return dateTimeFormat(style, opts).format(d);
}

/** The calendar day (YYYY-MM-DD) of an instant in the user's zone (or `zone`). */
export function dayKey(value, zone = null) {
  const d = toDate(value);
  if (!d) return '';
  const p = zonedParts(d, zone || timeZone);
  return `${p.year}-${pad2(p.month)}-${pad2(p.day)}`;
}

/** Whether two instants fall on the same calendar day in the user's zone. */
export function sameDay(a, b = new Date()) {
  return dayKey(a) !== '' && dayKey(a) === dayKey(b);
}

/** A number with the user's grouping and decimal separators. */
export function formatNumber(n, opts = {}) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '';
  const key = `n:${JSON.stringify(opts)}`;
  return cached(key, () => {
    try { return new Intl.NumberFormat(locale, opts); } catch (_) { return new Intl.NumberFormat(undefined, opts); }
  }).format(Number(n));
}

/** A ratio (0.5 → "50 %" / "50%") in the user's locale. */
export function formatPercent(ratio, maximumFractionDigits = 1) {
  return formatNumber(ratio, { style: 'percent', maximumFractionDigits });
}

/**
 * A running duration: "0:42", "12:05", "1:02:03", or "2 d 3 h" past a day
 * (digits through Intl so that they follow the locale's numbering system).
 */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const d = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  if (d > 0) return t('format.daysHours', { d: formatNumber(d), h: formatNumber(hours) });
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n) => formatNumber(n, { minimumIntegerDigits: 2, useGrouping: false });
  return hours > 0 ? `${formatNumber(hours)}:${two(m)}:${two(sec)}` : `${formatNumber(m)}:${two(sec)}`;
}

// ---- Wall-clock values in the user's zone (date and datetime-local inputs) ----

function pad2(n) { return String(n).padStart(2, '0'); } // machine format for <input> values, not display

function zonedParts(date, zone) {
  let f;
  try {
    f = cached(`parts:${zone}`, () => new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    }));
  } catch (_) {
    f = new Intl.DateTimeFormat('en-US', { hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }
  const out = {};
  for (const p of f.formatToParts(date)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  if (out.hour === 24) out.hour = 0;
  return out;
}

/** The offset of `zone` from UTC at `date`, in minutes. */
function offsetMinutes(date, zone) {
  const p = zonedParts(date, zone);
  const asUTC = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((asUTC - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

/** The instant at wall-clock y-m-d h:mi in the user's zone (or `zone`). */
export function zonedInstant(y, m, d, hh = 0, mi = 0, zone = null) {
  const z = zone || timeZone;
  const guess = Date.UTC(y, m - 1, d, hh, mi);
  let at = new Date(guess - offsetMinutes(new Date(guess), z) * 60000);
  // A second pass settles instants next to a daylight-saving change.
  at = new Date(guess - offsetMinutes(at, z) * 60000);
  return at;
}

/** A Date as the value of a datetime-local input, in the user's zone. */
export function toInputDateTime(date) {
  const p = zonedParts(date, timeZone);
  return `${p.year}-${pad2(p.month)}-${pad2(p.day)}T${pad2(p.hour)}:${pad2(p.minute)}`;
}

/** The instant a datetime-local input's value names in the user's zone; null when empty or invalid. */
export function fromInputDateTime(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value || '');
  if (!m) return null;
  return zonedInstant(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
}

/** The start of the day `YYYY-MM-DD` + `days` in the user's zone, as an instant; null when invalid. */
export function startOfDay(value, days = 0) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return null;
  const base = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days));
  return zonedInstant(base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), 0, 0);
}

/** ISO-8601 without fractional seconds (what the server parses). */
export function isoSeconds(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A calendar day `YYYY-MM-DD` (no instant, no zone) as the locale writes it; the text itself when not a day. */
export function formatCalendarDay(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || '');
  if (!m) return value || '';
  return formatDate(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12)), 'date', 'UTC');
}
