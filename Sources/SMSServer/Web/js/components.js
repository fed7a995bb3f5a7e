// Reusable pieces used by several views.

import { t } from './i18n.js';
import { h, clear, focusEl, errorText } from './dom.js';
import { formatDate, sameDay } from './format.js';

/** Page heading; focused after navigation so screen readers announce the page. */
export function pageHeader(titleKey, ...extra) {
  return h('div', { class: 'page-header' },
    h('h1', { id: 'page-title', class: 'page-title', tabindex: '-1', dataset: { testid: 'page-title' } }, t(titleKey)),
    ...extra);
}

/**
 * A live status line (role=status) and an error line (role=alert).
 * Both stay in the DOM (empty = invisible) so assistive tech announces changes.
 */
export function messageArea(prefix) {
  const status = h('p', { id: `${prefix}-status`, class: 'notice notice-ok', role: 'status', dataset: { testid: `${prefix}-status` } });
  const error = h('p', { id: `${prefix}-error`, class: 'notice notice-error', role: 'alert', dataset: { testid: `${prefix}-error` } });
  return {
    el: h('div', { class: 'messages' }, status, error),
    ok(text) { error.textContent = ''; status.textContent = text; },
    fail(text) { status.textContent = ''; error.textContent = text; },
    clear() { status.textContent = ''; error.textContent = ''; },
  };
}

/**
 * A box that shows a secret (generated password or API key) once, with a copy
 * button and a dismiss button. The secret is removed from the DOM on dismiss.
 */
export function secretBox() {
  const title = h('h2', { id: 'secret-title', class: 'secret-title', dataset: { testid: 'secret-title' } });
  const notice = h('p', { class: 'secret-notice', dataset: { testid: 'secret-notice' } });
  const value = h('code', { id: 'secret-value', class: 'secret-value', dataset: { testid: 'secret-value' } });
  const copyStatus = h('span', { class: 'secret-copy-status', role: 'status', dataset: { testid: 'secret-copy-status' } });
  const copyBtn = h('button', { type: 'button', class: 'btn btn-small', id: 'secret-copy', dataset: { testid: 'secret-copy' } }, t('common.copy'));
  const dismissBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', id: 'secret-dismiss', dataset: { testid: 'secret-dismiss' } }, t('common.dismiss'));
  const el = h('section', {
    id: 'secret-box', class: 'secret-box', hidden: true,
    'aria-labelledby': 'secret-title', dataset: { testid: 'secret-box' },
  },
  h('div', { class: 'secret-head' }, title, dismissBtn),
  notice,
  h('div', { class: 'secret-row' }, value, copyBtn, copyStatus));

  copyBtn.addEventListener('click', async () => {
    const text = value.textContent;
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (_) {
      ok = false;
    }
    if (!ok) {
      // Fallback: select the text so the user can copy it by hand (or execCommand works).
      const range = document.createRange();
      range.selectNodeContents(value);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    }
    copyStatus.textContent = ok ? t('common.copied') : t('common.copyFailed');
  });

  function hide() {
    el.hidden = true;
    value.textContent = '';
    copyStatus.textContent = '';
  }
  dismissBtn.addEventListener('click', hide);

  return {
    el,
    show(titleText, secret, noticeText = t('secret.notice')) {
      title.textContent = titleText;
      notice.textContent = noticeText;
      value.textContent = secret;
      copyStatus.textContent = '';
      el.hidden = false;
      el.scrollIntoView({ block: 'nearest' });
      focusEl(copyBtn);
    },
    hide,
  };
}

/** A labelled form field with a hint and an error line, wired with aria-describedby. */
export function field({ id, labelKey, control, hintKey = null, optional = false, testid }) {
  const errorId = `${id}-error`;
  const hintId = hintKey ? `${id}-hint` : null;
  control.id = id;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  if (testid) control.dataset.testid = testid;
  const error = h('p', { id: errorId, class: 'field-error', dataset: { testid: `${testid || id}-error` } });
  const wrapper = h('div', { class: 'field' },
    h('label', { for: id }, t(labelKey), optional ? h('span', { class: 'muted' }, ' ', t('common.optional')) : null),
    control,
    hintKey ? h('p', { id: hintId, class: 'field-hint' }, t(hintKey)) : null,
    error);
  return {
    el: wrapper,
    control,
    setError(text) {
      error.textContent = text || '';
      if (text) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}

/** Keep keyboard focus on "the same" control across a re-render, by data-testid. */
export function preserveFocus(container, rerender) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.testid : null;
  rerender();
  if (key) {
    const again = container.querySelector(`[data-testid="${CSS.escape(key)}"]`);
    if (again && !again.disabled) again.focus();
  }
}

export { clear };

/**
 * Fills a table body: one muted row while loading or when there is nothing, else one row per item.
 * `testids` may name the loading and empty rows ({ loading, empty }).
 */
export function fillTableBody(tbody, { loaded, items, columns, emptyText, testids = {}, row }) {
  clear(tbody);
  const note = (text, testid) => h('tr', null,
    h('td', { colspan: String(columns), class: 'muted', dataset: testid ? { testid } : null }, text));
  if (!loaded) tbody.append(note(t('common.loading'), testids.loading));
  else if (items.length === 0) tbody.append(note(emptyText, testids.empty));
  else for (const item of items) tbody.append(row(item));
}

/**
 * The Delete button of a table row and its inline confirmation (Delete / Cancel), with test ids
 * `${prefix}-delete-${id}`, `${prefix}-delete-confirm-${id}` and `${prefix}-delete-cancel-${id}`.
 * `confirming` says which of the two to show; `onAsk` / `onCancel` switch, `onConfirm` deletes.
 */
export function deleteControl({ prefix, id, label, confirmText, name, busy, confirming, onAsk, onCancel, onConfirm }) {
  if (confirming) {
    return h('div', { class: 'confirm-inline', role: 'group', 'aria-label': label },
      h('span', { class: 'confirm-text' }, confirmText),
      h('button', { type: 'button', class: 'btn btn-small btn-danger', disabled: busy, dataset: { testid: `${prefix}-delete-confirm-${id}` }, onclick: onConfirm }, label),
      h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: `${prefix}-delete-cancel-${id}` }, onclick: onCancel }, t('common.cancel')));
  }
  return h('button', {
    type: 'button', class: 'btn btn-small', disabled: busy, 'aria-label': `${label}: ${name}`,
    dataset: { testid: `${prefix}-delete-${id}` }, onclick: onAsk,
  }, label);
}

/** Moves the keyboard focus to the element of `container` with that test id, if it is there. */
export function focusTestid(container, testid) {
  const el = container.querySelector(`[data-testid="${CSS.escape(testid)}"]`);
  if (el) el.focus();
}

/**
 * A compact <time> for an ISO instant: the time alone for today (`todayStyle`: 'time' or 'timeSeconds'), else a
 * short date and time; the full instant in its title. No instant: a muted dash, or nothing with `dash: false`.
 */
export function timeElement(iso, { todayStyle = 'time', testid = null, dash = true } = {}) {
  if (!iso) return dash ? h('span', { class: 'muted' }, t('common.none')) : null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', null, String(iso));
  return h('time', { datetime: iso, title: formatDate(d, 'full'), dataset: testid ? { testid } : undefined },
    formatDate(d, sameDay(d) ? todayStyle : 'short'));
}

/**
 * A view's list loader: marks `table` busy while loading, drops an answer that a newer load superseded or that
 * comes after the user left the view, and shows a failure in `messages` (a 401 is the sign-in page's business).
 * `fetch` returns the answer; `apply` puts it into the view's state and renders.
 */
export function listLoader({ table, ctx, messages, fetch, apply }) {
  let latest = 0;
  return async function load() {
    const seq = ++latest;
    table.setAttribute('aria-busy', 'true');
    try {
      const answer = await fetch();
      if (!ctx.isCurrent() || seq !== latest) return; // a newer load supersedes this one
      apply(answer);
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      if (seq === latest) table.setAttribute('aria-busy', 'false');
    }
  };
}
