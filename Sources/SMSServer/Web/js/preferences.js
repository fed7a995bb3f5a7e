// The signed-in user's language and time zone: a small dialog opened from the
// top bar. Saving stores them for the user (PUT /api/v1/me/preferences) and
// applies them at once; the caller re-renders the shell.

import { api } from './api.js';
import { t, LANGUAGES, lang, timeZone, browserLanguage, browserTimeZone, setPreferences } from './i18n.js';
import { h, errorText } from './dom.js';
import { formatDate } from './format.js';

/** The browser's zones, plus `extra` ones (the user's saved zone may be listed by the browser under another name). */
function timeZones(extra) {
  let zones = [];
  try { zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []; } catch (_) { zones = []; }
  const all = new Set(['UTC', ...zones]);
  for (const z of extra) if (z) all.add(z);
  return ['UTC', ...[...all].filter((z) => z !== 'UTC').sort()];
}

function languageName(code) {
  return (LANGUAGES.find((l) => l.code === code) || { name: code }).name;
}

/** Applies the preferences stored on `user` (null: the browser's). */
export function applyUserPreferences(user) {
  return setPreferences({ locale: user && user.locale, timeZone: user && user.timeZone });
}

/** Short text for the top-bar button: "ES · Montevideo". */
export function preferencesLabel() {
  const city = (timeZone.split('/').pop() || timeZone).replace(/_/g, ' ');
  return `${lang.toUpperCase()} · ${city}`;
}

/**
 * Opens the dialog for `user`. `onSaved(updatedUser)` runs after the server
 * stored the choice and it was applied.
 */
export function openPreferences(user, onSaved) {
  const langSelect = h('select', { id: 'prefs-language', dataset: { testid: 'prefs-language' } },
    h('option', { value: '' }, t('prefs.browserDefault', { value: languageName(browserLanguage()) })),
    LANGUAGES.map((l) => h('option', { value: l.code, lang: l.code }, l.name)));
  langSelect.value = user.locale || '';

  const zoneSelect = h('select', { id: 'prefs-timezone', dataset: { testid: 'prefs-timezone' } },
    h('option', { value: '' }, t('prefs.browserDefault', { value: browserTimeZone() })),
    timeZones([user.timeZone, browserTimeZone()]).map((z) => h('option', { value: z }, z)));
  zoneSelect.value = user.timeZone || '';

  const preview = h('p', { class: 'dialog-hint', dataset: { testid: 'prefs-now' } });
  const showPreview = () => {
    const zone = zoneSelect.value || browserTimeZone();
    preview.textContent = t('prefs.now', { time: formatDate(new Date(), 'full', zone) });
  };
  zoneSelect.addEventListener('change', showPreview);
  showPreview();

  const error = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'prefs-error' } });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'prefs-save' } }, t('common.save'));
  const cancel = h('button', { type: 'button', class: 'btn', dataset: { testid: 'prefs-cancel' } }, t('common.cancel'));

  const form = h('form', { method: 'dialog', class: 'form-grid prefs-form' },
    h('div', { class: 'field' }, h('label', { for: 'prefs-language' }, t('prefs.language')), langSelect),
    h('div', { class: 'field' }, h('label', { for: 'prefs-timezone' }, t('prefs.timeZone')), zoneSelect),
    h('p', { class: 'dialog-hint' }, t('prefs.hint')),
    preview, error,
    h('div', { class: 'form-actions' }, save, cancel));

  const dialog = h('dialog', { class: 'dialog prefs-dialog', 'aria-labelledby': 'prefs-title', dataset: { testid: 'prefs-dialog' } },
    h('h2', { id: 'prefs-title', class: 'dialog-title' }, t('prefs.title')), form);

  const close = () => { if (dialog.open) dialog.close(); dialog.remove(); };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); close(); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    save.disabled = true;
    try {
      const r = await api.setPreferences({ locale: langSelect.value || null, timeZone: zoneSelect.value || null });
      close();
      applyUserPreferences(r.user);
      onSaved(r.user);
    } catch (err) {
      error.textContent = t('prefs.saveFailed', { error: errorText(err) });
      save.disabled = false;
    }
  });

  document.body.append(dialog);
  dialog.showModal();
  langSelect.focus();
}
