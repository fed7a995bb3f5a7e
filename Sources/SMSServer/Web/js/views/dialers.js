// Dialers page (admin; SPEC D1, D2, D11): list of dialers, create/edit form
// (provider, fallback provider, campaigns served, dial string, interval, DNCR
// check, weekly schedule, enabled), delete with a confirm step. Campaigns are
// made on the Campaigns page.
//
// Schedules: none means always open. The API keeps a stored schedule when the
// field is omitted or null, so switching an existing dialer back to "always"
// sends the explicit always-open week (every day 00:00–24:00, UTC); such a week
// is shown as "always" again.

import { request } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, messageArea, field, preserveFocus, fillTableBody, deleteControl, focusTestid, listLoader } from '../components.js';
import { ALWAYS_OPEN, isAlwaysOpen, scheduleSummary, checkField, scheduleEditor, zoneDatalist } from '../schedule.js';

const enc = encodeURIComponent;
const dialersApi = {
  list: () => request('GET', '/dialers'),
  create: (body) => request('POST', '/dialers', body),
  update: (id, body) => request('PATCH', `/dialers/${enc(id)}`, body),
  remove: (id) => request('DELETE', `/dialers/${enc(id)}`),
  providers: () => request('GET', '/providers'),
  campaigns: () => request('GET', '/campaigns'),
};

export function render(main, ctx) {
  const state = {
    dialers: [],
    providers: [],
    campaigns: [],
    loaded: false,
    busy: new Set(),
    confirmDelete: null,
  };
  const messages = messageArea('dialers');

  // ---- Dialers list -------------------------------------------------------------
  const tbody = h('tbody');
  const table = h('table', { class: 'table dialers-table', 'aria-busy': 'true', dataset: { testid: 'dialers-table' } },
    h('caption', { class: 'visually-hidden' }, t('dialers.listTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('dialers.colName')),
      h('th', { scope: 'col' }, t('dialers.colProvider')),
      h('th', { scope: 'col' }, t('dialers.colCampaigns')),
      h('th', { scope: 'col' }, t('dialers.colSchedule')),
      h('th', { scope: 'col' }, t('dialers.colDialString')),
      h('th', { scope: 'col', class: 'num' }, t('dialers.colInterval')),
      h('th', { scope: 'col' }, t('dialers.colDncr')),
      h('th', { scope: 'col' }, t('dialers.colStatus')),
      h('th', { scope: 'col' }, t('common.actions')))),
    tbody);
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'dialers-refresh' }, onclick: () => load() }, t('common.refresh'));

  const form = buildForm();

  clear(main).append(
    pageHeader('dialers.title'),
    messages.el,
    h('section', { class: 'panel', 'aria-labelledby': 'dialers-list-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'dialers-list-title', class: 'panel-title' }, t('dialers.listTitle')),
        refreshBtn),
      h('p', { class: 'panel-hint' }, t('dialers.listHint')),
      h('div', { class: 'table-wrap' }, table)),
    form.el,
    zoneDatalist('tz-list'),
  );

  function providerName(id) {
    const p = state.providers.find((x) => x.id === id);
    return p ? p.name : `#${id}`;
  }

  function campaignName(id) {
    const c = state.campaigns.find((x) => x.id === id);
    return c ? c.name : `#${id}`;
  }

  function renderTable() {
    preserveFocus(main, () => fillTableBody(tbody, {
      loaded: state.loaded, items: state.dialers, columns: 9, emptyText: t('dialers.empty'),
      testids: { empty: 'dialers-empty' }, row,
    }));
  }

  function row(d) {
    const busy = state.busy.has(d.id);
    const editingThis = form.editingId() === d.id;
    const confirming = state.confirmDelete === d.id;
    const remover = deleteControl({
      prefix: 'dialer', id: d.id, name: d.name, label: t('dialers.delete'),
      confirmText: t('dialers.confirmDelete', { name: d.name }), busy, confirming,
      onAsk: () => { state.confirmDelete = d.id; renderTable(); focusTestid(main, `dialer-delete-cancel-${d.id}`); },
      onCancel: () => { state.confirmDelete = null; renderTable(); focusTestid(main, `dialer-delete-${d.id}`); },
      onConfirm: () => remove(d),
    });
    const actions = confirming ? remover : h('div', { class: 'cell-actions' },
      h('button', {
        type: 'button', class: 'btn btn-small', disabled: busy || editingThis, 'aria-label': `${t('dialers.edit')}: ${d.name}`,
        dataset: { testid: `dialer-edit-${d.id}` }, onclick: () => { form.edit(d); form.focusFirst(); },
      }, t('dialers.edit')),
      remover);
    const campaigns = d.campaignIds || [];
    return h('tr', {
      class: editingThis ? 'row-selected' : null,
      dataset: { testid: `dialer-row-${d.id}`, id: String(d.id), name: d.name, enabled: String(!!d.enabled) },
    },
    h('td', null, h('span', { class: 'cell-name', dataset: { testid: `dialer-name-${d.id}` } }, d.name)),
    h('td', { class: 'td-wrap' },
      h('span', null, providerName(d.providerId)),
      d.fallbackProviderId ? h('span', { class: 'muted' }, ' ', t('dialers.fallbackShort', { name: providerName(d.fallbackProviderId) })) : null,
      d.failoverActive ? h('span', null, ' ', h('span', { class: 'status-badge status-warn' }, t('dm.onFallback'))) : null),
    h('td', { class: 'td-wrap', dataset: { testid: `dialer-campaigns-${d.id}` } },
      campaigns.length ? campaigns.map(campaignName).join(', ') : h('span', { class: 'muted' }, t('common.none'))),
    h('td', { class: 'td-wrap', dataset: { testid: `dialer-schedule-${d.id}` } }, scheduleSummary(d.schedule)),
    h('td', null, d.dialString ? h('span', { class: 'mono' }, d.dialString) : h('span', { class: 'muted' }, t('common.none'))),
    h('td', { class: 'num' }, t('dialers.ms', { n: d.intervalMs })),
    h('td', null, d.dncrCheck ? t('dialers.yes') : t('dialers.no')),
    h('td', null, h('span', {
      class: d.enabled ? 'status-badge status-on' : 'status-badge status-off', dataset: { testid: `dialer-status-${d.id}` },
    }, d.enabled ? t('dm.dialerOn') : t('dm.dialerOff'))),
    h('td', { class: 'td-wrap' }, actions));
  }

  async function remove(d) {
    state.busy.add(d.id);
    renderTable();
    messages.clear();
    try {
      await dialersApi.remove(d.id);
      if (!ctx.isCurrent()) return;
      state.dialers = state.dialers.filter((x) => x.id !== d.id);
      if (form.editingId() === d.id) form.reset();
      messages.ok(t('dialers.deleted', { name: d.name }));
      load();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.confirmDelete = null;
      state.busy.delete(d.id);
      if (ctx.isCurrent()) {
        renderTable();
        if (state.dialers.some((x) => x.id === d.id)) focusTestid(main, `dialer-delete-${d.id}`);
        else focusEl(document.getElementById('dialers-list-title'));
      }
    }
  }

  // ---- Create / edit form ---------------------------------------------------------

  function buildForm() {
    const title = h('h2', { id: 'dialer-form-title', class: 'panel-title', dataset: { testid: 'dialer-form-title' } }, t('dialers.createTitle'));
    const nameField = field({
      id: 'dialer-name', labelKey: 'dialers.name', testid: 'dialer-name',
      control: h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '100' }),
    });
    const providerSelect = h('select', { name: 'providerId' });
    const providerField = field({ id: 'dialer-provider', labelKey: 'dialers.provider', control: providerSelect, testid: 'dialer-provider' });
    const fallbackSelect = h('select', { name: 'fallbackProviderId' });
    const fallbackField = field({
      id: 'dialer-fallback', labelKey: 'dialers.fallback', hintKey: 'dialers.fallbackHint', control: fallbackSelect, testid: 'dialer-fallback',
    });
    const dialStringField = field({
      id: 'dialer-dialstring', labelKey: 'dialers.dialString', hintKey: 'dialers.dialStringHint', optional: true, testid: 'dialer-dialstring',
      control: h('input', { type: 'text', name: 'dialString', autocomplete: 'off', spellcheck: 'false', class: 'input-mono', maxlength: '100' }),
    });
    const intervalField = field({
      id: 'dialer-interval', labelKey: 'dialers.interval', hintKey: 'dialers.intervalHint', testid: 'dialer-interval',
      control: h('input', { type: 'number', name: 'intervalMs', min: '0', max: '3600000', step: '1', inputmode: 'numeric', value: '0' }),
    });
    const dncrField = checkField({ id: 'dialer-dncr', labelKey: 'dialers.dncrCheck', hintKey: 'dialers.dncrCheckHint', testid: 'dialer-dncr', checked: true });
    const enabledField = checkField({ id: 'dialer-enabled', labelKey: 'dialers.enabled', hintKey: 'dialers.enabledHint', testid: 'dialer-enabled' });

    // Campaigns served: one checkbox each.
    const campaignBoxes = h('div', { class: 'check-list', dataset: { testid: 'dialer-campaigns' } });
    const campaignsError = h('p', { id: 'dialer-campaigns-error', class: 'field-error', dataset: { testid: 'dialer-campaigns-error' } });
    const campaignsSet = h('fieldset', { class: 'form-section', 'aria-describedby': 'dialer-campaigns-error' },
      h('legend', null, t('dialers.campaigns')),
      h('p', { class: 'field-hint' }, t('dialers.campaignsHint')),
      campaignBoxes, campaignsError);

    // Schedule: always, or weekly hours in a time zone.
    const schedule = scheduleEditor({ prefix: 'dialer' });

    const formError = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'dialer-form-error' } });
    const formStatus = h('p', { class: 'notice notice-ok', role: 'status', dataset: { testid: 'dialer-form-status' } });
    const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'dialer-submit' } }, t('dialers.create'));
    const cancelBtn = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, dataset: { testid: 'dialer-cancel' } }, t('common.cancel'));
    const formEl = h('form', { class: 'dialer-form', novalidate: true, dataset: { testid: 'dialer-form', mode: 'create' } },
      h('div', { class: 'form-grid' }, nameField.el, providerField.el, fallbackField.el, dialStringField.el, intervalField.el),
      h('div', { class: 'form-grid check-grid' }, dncrField.el, enabledField.el),
      campaignsSet,
      schedule.el,
      formError,
      h('div', { class: 'form-actions' }, submitBtn, cancelBtn));
    const section = h('section', { class: 'panel', 'aria-labelledby': title.id, dataset: { testid: 'dialer-form-panel' } },
      title, formStatus, formEl);

    let editing = null;
    const fields = { name: nameField, providerId: providerField, fallbackProviderId: fallbackField, dialString: dialStringField, intervalMs: intervalField };

    function fillSelects() {
      const pv = providerSelect.value || (editing ? String(editing.providerId) : '');
      const fv = fallbackSelect.value || (editing && editing.fallbackProviderId ? String(editing.fallbackProviderId) : '');
      clear(providerSelect);
      providerSelect.append(h('option', { value: '' }, state.providers.length ? t('dialers.chooseProvider') : t('dialers.noProviders')),
        ...state.providers.map((p) => h('option', { value: String(p.id) }, `${p.name} (${p.type})`)));
      providerSelect.value = pv;
      if (!providerSelect.value && !editing && state.providers.length === 1) providerSelect.value = String(state.providers[0].id);
      clear(fallbackSelect);
      fallbackSelect.append(h('option', { value: '' }, t('dialers.noFallback')),
        ...state.providers.map((p) => h('option', { value: String(p.id) }, `${p.name} (${p.type})`)));
      fallbackSelect.value = fv;
    }

    function fillCampaigns() {
      const checked = new Set([...campaignBoxes.querySelectorAll('input:checked')].map((x) => Number(x.value)));
      clear(campaignBoxes);
      if (state.campaigns.length === 0) {
        campaignBoxes.append(h('p', { class: 'muted', dataset: { testid: 'dialer-no-campaigns' } }, t('dialers.noCampaigns')));
        return;
      }
      for (const c of state.campaigns) {
        const id = `dialer-campaign-${c.id}`;
        campaignBoxes.append(h('label', { class: 'check chip', for: id },
          h('input', { type: 'checkbox', id, value: String(c.id), checked: checked.has(c.id), dataset: { testid: id } }),
          h('span', null, c.name)));
      }
    }

    function clearErrors() {
      for (const f of Object.values(fields)) f.setError('');
      campaignsError.textContent = '';
      schedule.clearErrors();
      formError.textContent = '';
    }

    function setMode(d) {
      editing = d;
      formEl.dataset.mode = d ? 'edit' : 'create';
      title.textContent = d ? t('dialers.editTitle', { name: d.name }) : t('dialers.createTitle');
      submitBtn.textContent = d ? t('dialers.save') : t('dialers.create');
      cancelBtn.hidden = !d;
    }

    function reset() {
      setMode(null);
      clearErrors();
      nameField.control.value = '';
      providerSelect.value = '';
      fallbackSelect.value = '';
      dialStringField.control.value = '';
      intervalField.control.value = '0';
      dncrField.control.checked = true;
      enabledField.control.checked = false;
      schedule.reset();
      for (const box of campaignBoxes.querySelectorAll('input')) box.checked = false;
      fillSelects();
      renderTable();
    }

    function edit(d) {
      setMode(d);
      clearErrors();
      formStatus.textContent = '';
      nameField.control.value = d.name;
      providerSelect.value = String(d.providerId);
      fallbackSelect.value = d.fallbackProviderId ? String(d.fallbackProviderId) : '';
      dialStringField.control.value = d.dialString || '';
      intervalField.control.value = String(d.intervalMs || 0);
      dncrField.control.checked = !!d.dncrCheck;
      enabledField.control.checked = !!d.enabled;
      const ids = new Set(d.campaignIds || []);
      for (const box of campaignBoxes.querySelectorAll('input')) box.checked = ids.has(Number(box.value));
      schedule.load(d.schedule);
      renderTable();
      section.scrollIntoView({ block: 'start' });
    }

    cancelBtn.addEventListener('click', () => {
      const id = editing && editing.id;
      reset();
      messages.clear();
      if (id !== null) focusTestid(main, `dialer-edit-${id}`);
    });

    /** The schedule to send, or undefined (omit), or null when the editor has errors (marked). */
    function collectSchedule() {
      const r = schedule.collect();
      if (!r.ok) return null;
      // Omitted keeps what is stored: an existing schedule needs the explicit always-open week.
      if (r.schedule === null) return editing && !isAlwaysOpen(editing.schedule) ? ALWAYS_OPEN : undefined;
      return r.schedule;
    }

    formEl.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors();
      messages.clear();
      formStatus.textContent = '';
      const name = nameField.control.value.trim();
      if (!name) { nameField.setError(t('dialers.nameRequired')); nameField.control.focus(); return; }
      if (!providerSelect.value) { providerField.setError(t('dialers.providerRequired')); providerSelect.focus(); return; }
      if (fallbackSelect.value && fallbackSelect.value === providerSelect.value) {
        fallbackField.setError(t('dialers.fallbackSame'));
        fallbackSelect.focus();
        return;
      }
      const intervalText = intervalField.control.value.trim();
      const interval = intervalText === '' ? 0 : Number(intervalText);
      if (intervalField.control.validity.badInput || !Number.isInteger(interval) || interval < 0 || interval > 3600000) {
        intervalField.setError(t('dialers.intervalInvalid'));
        intervalField.control.focus();
        return;
      }
      const sched = collectSchedule();
      if (sched === null) {
        schedule.focusProblem();
        return;
      }
      const body = {
        name,
        providerId: Number(providerSelect.value),
        fallbackProviderId: fallbackSelect.value ? Number(fallbackSelect.value) : 0, // 0 clears
        dialString: dialStringField.control.value.trim(), // empty clears
        intervalMs: interval,
        dncrCheck: dncrField.control.checked,
        campaignIds: [...campaignBoxes.querySelectorAll('input:checked')].map((x) => Number(x.value)),
      };
      // Start/Finish on the monitor may have changed `enabled` since the form was filled: send it only when changed here.
      if (!editing || enabledField.control.checked !== !!editing.enabled) body.enabled = enabledField.control.checked;
      if (!editing && !body.fallbackProviderId) delete body.fallbackProviderId;
      if (!editing && !body.dialString) delete body.dialString;
      if (sched !== undefined) body.schedule = sched;
      const wasEditing = editing;
      submitBtn.disabled = true;
      submitBtn.textContent = wasEditing ? t('dialers.saving') : t('dialers.creating');
      try {
        const r = wasEditing ? await dialersApi.update(wasEditing.id, body) : await dialersApi.create(body);
        if (!ctx.isCurrent()) return;
        const d = r.dialer;
        const i = state.dialers.findIndex((x) => x.id === d.id);
        if (i >= 0) state.dialers[i] = d; else state.dialers.push(d);
        reset();
        formStatus.textContent = t(wasEditing ? 'dialers.saved' : 'dialers.created', { name: d.name });
        load();
        if (wasEditing) focusTestid(main, `dialer-edit-${d.id}`);
      } catch (err) {
        if (!ctx.isCurrent() || err.status === 401) return;
        let text = errorText(err);
        if (err.code === 'conflict' && (!err.field || err.field === 'name')) text = t('dialers.nameTaken');
        if (err.field === 'campaignIds') {
          campaignsError.textContent = text;
        } else if (err.field === 'schedule' || err.field === 'timeZone') {
          schedule.setError(text);
        } else if (err.field && fields[err.field]) {
          fields[err.field].setError(text);
          fields[err.field].control.focus();
        } else {
          formError.textContent = text;
        }
      } finally {
        submitBtn.disabled = false;
        submitBtn.textContent = editing ? t('dialers.save') : t('dialers.create');
      }
    });

    return {
      el: section,
      reset,
      edit,
      fillSelects,
      fillCampaigns,
      editingId: () => (editing ? editing.id : null),
      focusFirst: () => focusEl(nameField.control),
    };
  }

  // ---- Loading -------------------------------------------------------------------------------

  const load = listLoader({
    table,
    ctx,
    messages,
    fetch: () => Promise.all([dialersApi.list(), dialersApi.providers(), dialersApi.campaigns()]),
    apply: ([d, p, c]) => {
      state.dialers = (d && d.dialers) || [];
      state.providers = (p && p.providers) || [];
      state.campaigns = (c && c.campaigns) || [];
      state.loaded = true;
      if (state.confirmDelete !== null && !state.dialers.some((x) => x.id === state.confirmDelete)) state.confirmDelete = null;
      form.fillSelects();
      form.fillCampaigns();
      renderTable();
    },
  });

  renderTable();
  load();
}
