// Small DOM helpers: element creation without innerHTML, date formatting,
// and turning API errors into user-facing text.

import { t } from './i18n.js';
import { formatDate } from './format.js';

/**
 * h('button', { type: 'button', class: 'btn', dataset: { testid: 'x' }, onclick: fn }, 'Text')
 * Strings/numbers become text nodes; null/false children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'value') el.value = value;
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A <time> element showing an ISO-8601 UTC string in the user's language and time zone. */
export function timeEl(iso, emptyKey = 'common.none') {
  if (!iso) return h('span', { class: 'muted' }, t(emptyKey));
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', null, String(iso));
  return h('time', { datetime: iso, title: formatDate(d, 'full') }, formatDate(d, 'dateTime'));
}

/** User-facing text for an ApiError (or any error). */
export function errorText(err) {
  if (!err) return t('error.generic');
  switch (err.code) {
    case 'network': return t('error.network');
    case 'forbidden': return t('error.forbidden');
    case 'csrf': return t('error.csrf');
    case 'not_found': return t('error.notFound');
    default: break;
  }
  if (err.status === 403) return t('error.forbidden');
  if (err.status === 404) return t('error.notFound');
  // Validation and conflict messages from the server are specific; show them.
  if (err.message && err.status >= 400 && err.status < 500) return err.message;
  return t('error.generic');
}

/** Move focus to an element, making it focusable if needed. */
export function focusEl(el) {
  if (!el) return;
  if (!el.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) {
    el.setAttribute('tabindex', '-1');
  }
  el.focus({ preventScroll: false });
}
