// Settings page (admin): message retention — keep everything, or delete or anonymise
// finished messages after a number of days — and what the last daily run did.

import { request } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, timeEl, errorText } from '../dom.js';
import { pageHeader, messageArea, field } from '../components.js';

const MODES = ['keep', 'delete', 'anonymise'];
const MODE_KEYS = { keep: 'settings.modeKeep', delete: 'settings.modeDelete', anonymise: 'settings.modeAnonymise' };

export function render(main, ctx) {
  const messages = messageArea('settings');

  const modeField = field({
    id: 'retention-mode', labelKey: 'settings.mode', testid: 'retention-mode',
    control: h('select', { name: 'mode' }, MODES.map((m) => h('option', { value: m }, t(MODE_KEYS[m])))),
  });
  const daysField = field({
    id: 'retention-days', labelKey: 'settings.days', hintKey: 'settings.daysHint', testid: 'retention-days',
    control: h('input', { type: 'number', name: 'days', min: '1', max: '36500', step: '1', inputmode: 'numeric' }),
  });
  const explanation = h('p', { class: 'muted field-wide', dataset: { testid: 'retention-explanation' } });
  const saveBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'retention-save' } }, t('settings.save'));
  const form = h('form', { id: 'retention-form', class: 'form-grid', novalidate: true, dataset: { testid: 'retention-form' } },
    modeField.el, daysField.el, explanation, h('div', { class: 'form-actions field-wide' }, saveBtn));
  const lastRun = h('div', { dataset: { testid: 'retention-last-run' } }, t('common.loading'));

  function syncMode() {
    const mode = modeField.control.value;
    daysField.control.disabled = mode === 'keep';
    daysField.control.required = mode !== 'keep';
    explanation.textContent = t(`settings.explain.${mode}`);
  }
  modeField.control.addEventListener('change', syncMode);

  function show(setting) {
    modeField.control.value = MODES.includes(setting.mode) ? setting.mode : 'keep';
    daysField.control.value = setting.days ? String(setting.days) : '';
    syncMode();
    clear(lastRun);
    const run = setting.lastRun;
    if (!run) {
      lastRun.append(h('p', { class: 'muted' }, t('settings.lastRunNever')));
      return;
    }
    const item = (key, value) => h('tr', null, h('th', { scope: 'row' }, t(key)), h('td', null, value));
    lastRun.append(h('table', { class: 'table' },
      h('tbody', null,
        item('settings.lastRunAt', timeEl(run.at)),
        item('settings.lastRunMode', t(MODE_KEYS[run.mode] || 'settings.modeKeep')),
        item('settings.lastRunCutoff', timeEl(run.cutoff)),
        item('settings.countSpool', String(run.spool)),
        item('settings.countSpoolEvents', String(run.spoolEvents)),
        item('settings.countConversations', String(run.conversations)),
        item('settings.countMessages', String(run.messages)),
        item('settings.countReports', String(run.deliveryReports)),
        item('settings.countWebhookDeliveries', String(run.webhookDeliveries ?? 0)))));
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    modeField.setError('');
    daysField.setError('');
    messages.clear();
    const mode = modeField.control.value;
    const body = { mode };
    if (mode !== 'keep') {
      const text = daysField.control.value.trim();
      const days = Number(text);
      if (!text || !Number.isInteger(days) || days < 1 || days > 36500) {
        daysField.setError(t('settings.daysInvalid'));
        daysField.control.focus();
        return;
      }
      body.days = days;
    }
    saveBtn.disabled = true;
    saveBtn.textContent = t('settings.saving');
    try {
      const saved = await request('PUT', '/settings/retention', body);
      if (!ctx.isCurrent()) return;
      show(saved);
      messages.ok(t('settings.saved'));
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      const text = errorText(err);
      if (err.field === 'days') daysField.setError(text);
      else if (err.field === 'mode') modeField.setError(text);
      else messages.fail(text);
    } finally {
      saveBtn.disabled = false;
      saveBtn.textContent = t('settings.save');
    }
  });

  clear(main).append(
    pageHeader('settings.title'),
    messages.el,
    h('section', { class: 'panel', 'aria-labelledby': 'retention-title' },
      h('h2', { id: 'retention-title', class: 'panel-title' }, t('settings.retentionTitle')),
      h('p', null, t('settings.retentionIntro')),
      form),
    h('section', { class: 'panel', 'aria-labelledby': 'retention-last-title' },
      h('h2', { id: 'retention-last-title', class: 'panel-title' }, t('settings.lastRun')),
      lastRun),
  );
  syncMode();

  (async () => {
    try {
      const setting = await request('GET', '/settings/retention');
      if (ctx.isCurrent()) show(setting);
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    }
  })();
}
