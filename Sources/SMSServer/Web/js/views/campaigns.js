// Campaigns page (admin; SPEC C1–C9, D8, D10): the list of campaigns and one
// create/edit form with every setting — routing strategy, service level and
// thresholds, schedule and out-of-time reply, DIDs, opt-out keywords, members
// (agents in routing order with penalties), supervisors and canned responses.
//
// Saving sends the settings (POST/PATCH /campaigns), then the members,
// supervisors and canned responses that changed (PUT …/members etc.). When a
// later step fails after a create, the form switches to editing the new
// campaign so nothing typed is lost.

import { request } from '../api.js';
import { t } from '../i18n.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, messageArea, field, preserveFocus, fillTableBody, deleteControl, focusTestid, listLoader } from '../components.js';
import {
  browserTimeZone, validTimeZone, zoneDatalist, scheduleSummary, checkField, scheduleEditor,
} from '../schedule.js';

const enc = encodeURIComponent;
const campaignsApi = {
  list: () => request('GET', '/campaigns'),
  create: (body) => request('POST', '/campaigns', body),
  update: (id, body) => request('PATCH', `/campaigns/${enc(id)}`, body),
  remove: (id) => request('DELETE', `/campaigns/${enc(id)}`),
  setMembers: (id, members) => request('PUT', `/campaigns/${enc(id)}/members`, { members }),
  setSupervisors: (id, supervisorIds) => request('PUT', `/campaigns/${enc(id)}/supervisors`, { supervisorIds }),
  setCanned: (id, cannedResponses) => request('PUT', `/campaigns/${enc(id)}/canned-responses`, { cannedResponses }),
  users: () => request('GET', '/users'),
  providers: () => request('GET', '/providers'),
  dialers: () => request('GET', '/dialers'),
};

export const STRATEGIES = ['ringall', 'leastrecent', 'fewestcalls', 'random', 'rrmemory', 'rrordered', 'linear', 'wrandom', 'balanced'];

// The standard opt-out keywords (SPEC D8), shown when a campaign has none of its own.
const STANDARD_KEYWORDS = {
  optOut: ['STOP', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'BAJA', 'CANCELAR', 'ALTO'],
  optOutAll: ['STOPALL'],
  optIn: ['START', 'ALTA', 'UNSTOP'],
};

// Whole-number settings: API field, form id, label, hint, range, default.
const NUMBERS = [
  { key: 'maxInteractionsPerAgent', id: 'campaign-max-interactions', labelKey: 'campaigns.maxInteractions', hintKey: 'campaigns.maxInteractionsHint', min: 1, max: 100, value: 3 },
  { key: 'offerTimeoutSeconds', id: 'campaign-offer-timeout', labelKey: 'campaigns.offerTimeout', hintKey: 'campaigns.offerTimeoutHint', min: 5, max: 86400, value: 60 },
  { key: 'thresholds.serviceLevelSeconds', id: 'campaign-threshold-service-level', labelKey: 'campaigns.thresholdServiceLevel', hintKey: 'campaigns.thresholdServiceLevelHint', min: 1, max: 86400, value: 60 },
  { key: 'thresholds.abandonSeconds', id: 'campaign-threshold-abandon', labelKey: 'campaigns.thresholdAbandon', hintKey: 'campaigns.thresholdAbandonHint', min: 1, max: 86400, value: 600 },
  { key: 'thresholds.chatTimeSeconds', id: 'campaign-threshold-chat-time', labelKey: 'campaigns.thresholdChatTime', hintKey: 'campaigns.thresholdChatTimeHint', min: 1, max: 604800, value: 1800 },
  { key: 'thresholds.acdWaitSeconds', id: 'campaign-threshold-acd-wait', labelKey: 'campaigns.thresholdAcdWait', hintKey: 'campaigns.thresholdAcdWaitHint', min: 1, max: 86400, value: 300 },
  { key: 'thresholds.acdQueueLength', id: 'campaign-threshold-acd-queue', labelKey: 'campaigns.thresholdAcdQueue', hintKey: 'campaigns.thresholdAcdQueueHint', min: 1, max: 100000, value: 10 },
];

/** "STOP, BAJA" ⇄ ['STOP', 'BAJA']. */
function splitList(text) {
  return String(text || '').split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
}

function sameList(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function userLabel(u) {
  return u.displayName && u.displayName !== u.username ? `${u.displayName} (${u.username})` : u.username;
}

export function render(main, ctx) {
  const state = {
    campaigns: [],
    users: [],
    providers: [],
    dialers: [],
    loaded: false,
    busy: new Set(),
    confirmDelete: null,
  };
  const messages = messageArea('campaigns');

  // ---- List ---------------------------------------------------------------------------
  const tbody = h('tbody');
  const table = h('table', { class: 'table campaigns-table', 'aria-busy': 'true', dataset: { testid: 'campaigns-table' } },
    h('caption', { class: 'visually-hidden' }, t('campaigns.listTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('campaigns.colName')),
      h('th', { scope: 'col' }, t('campaigns.colStatus')),
      h('th', { scope: 'col' }, t('campaigns.colStrategy')),
      h('th', { scope: 'col' }, t('campaigns.colDids')),
      h('th', { scope: 'col' }, t('campaigns.colMembers')),
      h('th', { scope: 'col' }, t('campaigns.colSchedule')),
      h('th', { scope: 'col' }, t('campaigns.colDialers')),
      h('th', { scope: 'col' }, t('common.actions')))),
    tbody);
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'campaigns-refresh' }, onclick: () => load() }, t('common.refresh'));

  const form = buildForm();

  clear(main).append(
    pageHeader('campaigns.title'),
    messages.el,
    h('section', { class: 'panel', 'aria-labelledby': 'campaigns-list-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'campaigns-list-title', class: 'panel-title' }, t('campaigns.listTitle')),
        refreshBtn),
      h('p', { class: 'panel-hint' }, t('campaigns.listHint')),
      h('div', { class: 'table-wrap' }, table)),
    form.el,
    zoneDatalist('tz-list'),
  );

  function renderTable() {
    preserveFocus(main, () => fillTableBody(tbody, {
      loaded: state.loaded, items: state.campaigns, columns: 8, emptyText: t('campaigns.empty'),
      testids: { empty: 'campaigns-empty' }, row,
    }));
  }

  function row(c) {
    const busy = state.busy.has(c.id);
    const editingThis = form.editingId() === c.id;
    const confirming = state.confirmDelete === c.id;
    const remover = deleteControl({
      prefix: 'campaign', id: c.id, name: c.name, label: t('campaigns.delete'),
      confirmText: t('campaigns.confirmDelete', { name: c.name }), busy, confirming,
      onAsk: () => { state.confirmDelete = c.id; renderTable(); focusTestid(main, `campaign-delete-cancel-${c.id}`); },
      onCancel: () => { state.confirmDelete = null; renderTable(); focusTestid(main, `campaign-delete-${c.id}`); },
      onConfirm: () => remove(c),
    });
    const actions = confirming ? remover : h('div', { class: 'cell-actions' },
      h('button', {
        type: 'button', class: 'btn btn-small', disabled: busy || editingThis, 'aria-label': `${t('campaigns.edit')}: ${c.name}`,
        dataset: { testid: `campaign-edit-${c.id}` }, onclick: () => { form.edit(c); form.focusFirst(); },
      }, t('campaigns.edit')),
      remover);
    const serving = state.dialers.filter((d) => (d.campaignIds || []).includes(c.id)).map((d) => d.name);
    const members = c.members || [];
    return h('tr', {
      class: editingThis ? 'row-selected' : null,
      dataset: { testid: `campaign-row-${c.id}`, id: String(c.id), name: c.name, enabled: String(!!c.enabled) },
    },
    h('td', null,
      h('span', { class: 'cell-name', dataset: { testid: `campaign-name-${c.id}` } }, c.name),
      c.transactional ? h('span', { class: 'muted' }, ' ', t('campaigns.transactionalShort')) : null),
    h('td', null, h('span', {
      class: c.enabled ? 'status-badge status-on' : 'status-badge status-off', dataset: { testid: `campaign-status-${c.id}` },
    }, c.enabled ? t('campaigns.enabledBadge') : t('campaigns.disabledBadge'))),
    h('td', { class: 'td-wrap', dataset: { testid: `campaign-strategy-${c.id}` } }, t(`campaigns.strategy.${c.strategy}`)),
    h('td', { class: 'td-wrap mono', dataset: { testid: `campaign-dids-${c.id}` } },
      (c.dids || []).length ? c.dids.join(', ') : h('span', { class: 'muted' }, t('common.none'))),
    h('td', { class: 'td-wrap', dataset: { testid: `campaign-members-${c.id}` } },
      members.length ? members.map((m) => m.username).join(', ') : h('span', { class: 'muted' }, t('campaigns.noMembersShort'))),
    h('td', { class: 'td-wrap', dataset: { testid: `campaign-schedule-${c.id}` } },
      c.schedule ? scheduleSummary(c.schedule) : `${t('dialers.alwaysOpen')} (${c.timeZone})`),
    h('td', { class: 'td-wrap', dataset: { testid: `campaign-dialers-${c.id}` } },
      serving.length ? serving.join(', ') : h('span', { class: 'muted' }, t('dialers.noDialer'))),
    h('td', { class: 'td-wrap' }, actions));
  }

  async function remove(c) {
    state.busy.add(c.id);
    renderTable();
    messages.clear();
    try {
      await campaignsApi.remove(c.id);
      if (!ctx.isCurrent()) return;
      state.campaigns = state.campaigns.filter((x) => x.id !== c.id);
      if (form.editingId() === c.id) form.reset();
      messages.ok(t('campaigns.deleted', { name: c.name }));
      load();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.confirmDelete = null;
      state.busy.delete(c.id);
      if (ctx.isCurrent()) {
        renderTable();
        if (state.campaigns.some((x) => x.id === c.id)) focusTestid(main, `campaign-delete-${c.id}`);
        else focusEl(document.getElementById('campaigns-list-title'));
      }
    }
  }

  // ---- Create / edit form ---------------------------------------------------------------

  function buildForm() {
    const title = h('h2', { id: 'campaign-form-title', class: 'panel-title', dataset: { testid: 'campaign-form-title' } }, t('campaigns.createTitle'));

    // General
    const nameField = field({
      id: 'campaign-name', labelKey: 'campaigns.name', testid: 'campaign-name',
      control: h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '100' }),
    });
    const zoneField = field({
      id: 'campaign-timezone', labelKey: 'campaigns.timeZone', hintKey: 'campaigns.timeZoneHint', testid: 'campaign-timezone',
      control: h('input', { type: 'text', name: 'timeZone', autocomplete: 'off', spellcheck: 'false', list: 'tz-list', value: browserTimeZone() }),
    });
    const strategySelect = h('select', { name: 'strategy' },
      STRATEGIES.map((s) => h('option', { value: s }, t(`campaigns.strategy.${s}`))));
    const strategyHint = h('p', { class: 'field-hint', id: 'campaign-strategy-about', dataset: { testid: 'campaign-strategy-about' } });
    const strategyField = field({ id: 'campaign-strategy', labelKey: 'campaigns.strategy', control: strategySelect, testid: 'campaign-strategy' });
    strategyField.el.insertBefore(strategyHint, strategyField.el.lastChild);
    strategySelect.setAttribute('aria-describedby', `campaign-strategy-about ${strategySelect.getAttribute('aria-describedby')}`);
    const providerSelect = h('select', { name: 'providerId' });
    const providerField = field({
      id: 'campaign-provider', labelKey: 'campaigns.provider', hintKey: 'campaigns.providerHint', control: providerSelect, testid: 'campaign-provider',
    });
    const enabledField = checkField({ id: 'campaign-enabled', labelKey: 'campaigns.enabled', hintKey: 'campaigns.enabledHint', testid: 'campaign-enabled', checked: true });
    const transactional = checkField({
      id: 'campaign-transactional', labelKey: 'campaigns.transactional', hintKey: 'campaigns.transactionalHint', testid: 'campaign-transactional',
    });

    // Service level and thresholds
    const serviceLevelField = field({
      id: 'campaign-service-level', labelKey: 'campaigns.serviceLevel', hintKey: 'campaigns.serviceLevelHint', testid: 'campaign-service-level',
      control: h('input', { type: 'number', name: 'serviceLevelPercent', min: '0', max: '100', step: 'any', inputmode: 'decimal', value: '80' }),
    });
    const numberFields = new Map(NUMBERS.map((n) => [n.key, field({
      id: n.id, labelKey: n.labelKey, hintKey: n.hintKey, testid: n.id,
      control: h('input', { type: 'number', min: String(n.min), max: String(n.max), step: '1', inputmode: 'numeric', value: String(n.value) }),
    })]));
    const numberEl = (key) => numberFields.get(key).el;

    // Schedule and out-of-time reply
    const schedule = scheduleEditor({ prefix: 'campaign', zone: () => zoneField.control.value.trim(), hintKey: 'campaigns.scheduleHint' });
    const outOfTimeField = field({
      id: 'campaign-out-of-time', labelKey: 'campaigns.outOfTime', hintKey: 'campaigns.outOfTimeHint', optional: true, testid: 'campaign-out-of-time',
      control: h('textarea', { name: 'outOfTimeMessage', rows: '2', maxlength: '1600' }),
    });
    outOfTimeField.el.classList.add('field-wide');

    // DIDs
    const didsField = field({
      id: 'campaign-dids', labelKey: 'campaigns.dids', hintKey: 'campaigns.didsHint', optional: true, testid: 'campaign-dids',
      control: h('textarea', { name: 'dids', rows: '2', spellcheck: 'false', class: 'input-mono' }),
    });
    didsField.el.classList.add('field-wide');

    // Opt-out keywords
    const optOutField = field({
      id: 'campaign-optout', labelKey: 'campaigns.optOut', hintKey: 'campaigns.optOutHint', testid: 'campaign-optout',
      control: h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' }),
    });
    const optOutAllField = field({
      id: 'campaign-optout-all', labelKey: 'campaigns.optOutAll', hintKey: 'campaigns.optOutAllHint', testid: 'campaign-optout-all',
      control: h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' }),
    });
    const optInField = field({
      id: 'campaign-optin', labelKey: 'campaigns.optIn', hintKey: 'campaigns.optInHint', testid: 'campaign-optin',
      control: h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' }),
    });
    const standardBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: 'campaign-keywords-standard' } }, t('campaigns.keywordsStandard'));
    standardBtn.addEventListener('click', () => fillKeywords(STANDARD_KEYWORDS.optOut, STANDARD_KEYWORDS.optOutAll, STANDARD_KEYWORDS.optIn));

    // Members
    const members = membersEditor();
    // Supervisors
    const supervisorBoxes = h('div', { class: 'check-list', dataset: { testid: 'campaign-supervisors' } });
    const supervisorsError = h('p', { id: 'campaign-supervisors-error', class: 'field-error', dataset: { testid: 'campaign-supervisors-error' } });
    // Canned responses
    const canned = cannedEditor();

    const formError = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'campaign-form-error' } });
    const formStatus = h('p', { class: 'notice notice-ok', role: 'status', dataset: { testid: 'campaign-form-status' } });
    const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'campaign-submit' } }, t('campaigns.create'));
    const cancelBtn = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, dataset: { testid: 'campaign-cancel' } }, t('common.cancel'));

    const section = (legendKey, hintKey, ...children) => h('fieldset', { class: 'form-section' },
      h('legend', null, t(legendKey)),
      hintKey ? h('p', { class: 'field-hint' }, t(hintKey)) : null,
      ...children);

    const formEl = h('form', { class: 'campaign-form', novalidate: true, dataset: { testid: 'campaign-form', mode: 'create' } },
      h('div', { class: 'form-grid' }, nameField.el, zoneField.el, strategyField.el, providerField.el),
      h('div', { class: 'form-grid check-grid' }, enabledField.el, transactional.el),
      section('campaigns.sectionService', 'campaigns.sectionServiceHint',
        h('div', { class: 'form-grid' }, serviceLevelField.el, numberEl('thresholds.serviceLevelSeconds'),
          numberEl('thresholds.abandonSeconds'), numberEl('thresholds.chatTimeSeconds'), numberEl('thresholds.acdWaitSeconds'),
          numberEl('thresholds.acdQueueLength'))),
      section('campaigns.sectionAgents', null,
        h('div', { class: 'form-grid' }, numberEl('maxInteractionsPerAgent'), numberEl('offerTimeoutSeconds')),
        members.el),
      schedule.el,
      h('div', { class: 'form-grid' }, outOfTimeField.el),
      section('campaigns.sectionNumbers', null, h('div', { class: 'form-grid' }, didsField.el)),
      section('campaigns.sectionKeywords', 'campaigns.sectionKeywordsHint',
        h('div', { class: 'form-grid' }, optOutField.el, optOutAllField.el, optInField.el),
        h('div', { class: 'form-actions' }, standardBtn)),
      section('campaigns.sectionSupervisors', 'campaigns.sectionSupervisorsHint', supervisorBoxes, supervisorsError),
      canned.el,
      formError,
      h('div', { class: 'form-actions' }, submitBtn, cancelBtn));
    const panel = h('section', { class: 'panel', 'aria-labelledby': title.id, dataset: { testid: 'campaign-form-panel' } },
      title, formStatus, formEl);

    let editing = null;
    const fields = {
      name: nameField, timeZone: zoneField, strategy: strategyField, providerId: providerField,
      serviceLevelPercent: serviceLevelField, outOfTimeMessage: outOfTimeField, dids: didsField,
      optOutKeywords: optOutField, optOutAllKeywords: optOutAllField, optInKeywords: optInField,
    };
    for (const [key, f] of numberFields) fields[key] = f;

    function syncStrategyHint() {
      strategyHint.textContent = t(`campaigns.strategyAbout.${strategySelect.value}`);
    }
    strategySelect.addEventListener('change', syncStrategyHint);

    function fillKeywords(optOut, optOutAll, optIn) {
      optOutField.control.value = optOut.join(', ');
      optOutAllField.control.value = optOutAll.join(', ');
      optInField.control.value = optIn.join(', ');
    }

    function fillProviders() {
      const pv = providerSelect.value || (editing && editing.providerId ? String(editing.providerId) : '');
      clear(providerSelect);
      providerSelect.append(h('option', { value: '' }, t('campaigns.providerDefault')),
        ...state.providers.map((p) => h('option', { value: String(p.id) }, `${p.name} (${p.type})`)));
      providerSelect.value = pv;
    }

    function fillSupervisors(selected = null) {
      const checked = selected || new Set([...supervisorBoxes.querySelectorAll('input:checked')].map((x) => Number(x.value)));
      clear(supervisorBoxes);
      const supervisors = state.users.filter((u) => u.role === 'supervisor');
      if (supervisors.length === 0) {
        supervisorBoxes.append(h('p', { class: 'muted', dataset: { testid: 'campaign-no-supervisors' } }, t('campaigns.noSupervisors')));
        return;
      }
      for (const u of supervisors) {
        const id = `campaign-supervisor-${u.id}`;
        supervisorBoxes.append(h('label', { class: 'check chip', for: id },
          h('input', { type: 'checkbox', id, value: String(u.id), checked: checked.has(u.id), dataset: { testid: id } }),
          h('span', null, userLabel(u), u.disabled ? ` ${t('campaigns.userDisabled')}` : '')));
      }
    }

    function selectedSupervisors() {
      return [...supervisorBoxes.querySelectorAll('input:checked')].map((x) => Number(x.value));
    }

    function clearErrors() {
      for (const f of Object.values(fields)) f.setError('');
      schedule.clearErrors();
      members.setError('');
      canned.setError('');
      supervisorsError.textContent = '';
      formError.textContent = '';
    }

    function setMode(c) {
      editing = c;
      formEl.dataset.mode = c ? 'edit' : 'create';
      title.textContent = c ? t('campaigns.editTitle', { name: c.name }) : t('campaigns.createTitle');
      submitBtn.textContent = c ? t('campaigns.save') : t('campaigns.create');
      cancelBtn.hidden = !c;
    }

    function reset() {
      resetFields();
      renderTable();
    }

    function resetFields() {
      setMode(null);
      clearErrors();
      nameField.control.value = '';
      zoneField.control.value = browserTimeZone();
      strategySelect.value = 'ringall';
      providerSelect.value = '';
      enabledField.control.checked = true;
      transactional.control.checked = false;
      serviceLevelField.control.value = '80';
      for (const n of NUMBERS) numberFields.get(n.key).control.value = String(n.value);
      schedule.reset();
      outOfTimeField.control.value = '';
      didsField.control.value = '';
      fillKeywords(STANDARD_KEYWORDS.optOut, STANDARD_KEYWORDS.optOutAll, STANDARD_KEYWORDS.optIn);
      members.load([]);
      canned.load([]);
      fillSupervisors(new Set());
      fillProviders();
      syncStrategyHint();
    }

    function numberValue(key, c) {
      if (key.startsWith('thresholds.')) return c.thresholds[key.slice('thresholds.'.length)];
      return c[key];
    }

    function edit(c) {
      setMode(c);
      clearErrors();
      formStatus.textContent = '';
      nameField.control.value = c.name;
      zoneField.control.value = c.timeZone;
      strategySelect.value = c.strategy;
      providerSelect.value = c.providerId ? String(c.providerId) : '';
      enabledField.control.checked = !!c.enabled;
      transactional.control.checked = !!c.transactional;
      serviceLevelField.control.value = String(c.serviceLevelPercent);
      for (const n of NUMBERS) numberFields.get(n.key).control.value = String(numberValue(n.key, c));
      schedule.load(c.schedule);
      outOfTimeField.control.value = c.outOfTimeMessage || '';
      didsField.control.value = (c.dids || []).join('\n');
      fillKeywords(c.optOutKeywords || [], c.optOutAllKeywords || [], c.optInKeywords || []);
      members.load(c.members || []);
      canned.load(c.cannedResponses || []);
      fillSupervisors(new Set((c.supervisors || []).map((s) => s.userId)));
      fillProviders();
      syncStrategyHint();
      renderTable();
      panel.scrollIntoView({ block: 'start' });
    }

    cancelBtn.addEventListener('click', () => {
      const id = editing && editing.id;
      reset();
      messages.clear();
      if (id !== null) focusTestid(main, `campaign-edit-${id}`);
    });

    /** The settings to send, or null when a field is wrong (marked and focused). */
    function collect() {
      const fail = (f, text) => { f.setError(text); focusEl(f.control); return null; };
      const name = nameField.control.value.trim();
      if (!name) return fail(nameField, t('campaigns.nameRequired'));
      const timeZone = zoneField.control.value.trim();
      if (!validTimeZone(timeZone)) return fail(zoneField, t('dialers.timeZoneInvalid', { zone: timeZone }));
      const slText = serviceLevelField.control.value.trim();
      const serviceLevel = Number(slText);
      if (slText === '' || serviceLevelField.control.validity.badInput || !Number.isFinite(serviceLevel) || serviceLevel < 0 || serviceLevel > 100) {
        return fail(serviceLevelField, t('campaigns.serviceLevelInvalid'));
      }
      const body = {
        name,
        timeZone,
        strategy: strategySelect.value,
        providerId: providerSelect.value ? Number(providerSelect.value) : null,
        enabled: enabledField.control.checked,
        transactional: transactional.control.checked,
        serviceLevelPercent: serviceLevel,
        thresholds: {},
        outOfTimeMessage: outOfTimeField.control.value.trim() || null,
        dids: splitList(didsField.control.value),
        optOutKeywords: splitList(optOutField.control.value),
        optOutAllKeywords: splitList(optOutAllField.control.value),
        optInKeywords: splitList(optInField.control.value),
      };
      for (const n of NUMBERS) {
        const f = numberFields.get(n.key);
        const text = f.control.value.trim();
        const v = Number(text);
        if (text === '' || f.control.validity.badInput || !Number.isInteger(v) || v < n.min || v > n.max) {
          return fail(f, t('campaigns.rangeInvalid', { min: n.min, max: n.max }));
        }
        if (n.key.startsWith('thresholds.')) body.thresholds[n.key.slice('thresholds.'.length)] = v;
        else body[n.key] = v;
      }
      const r = schedule.collect();
      if (!r.ok) { schedule.focusProblem(); return null; }
      body.schedule = r.schedule;
      return body;
    }

    /** Shows a server error next to its field. */
    function showError(err) {
      let text = errorText(err);
      const f = err.field || '';
      if (err.code === 'conflict' && (!f || f === 'name')) text = t('campaigns.nameTaken');
      if (f === 'schedule') {
        schedule.setError(text);
      } else if (f.startsWith('members')) {
        members.setError(text);
      } else if (f.startsWith('supervisorIds')) {
        supervisorsError.textContent = text;
      } else if (f.startsWith('cannedResponses')) {
        canned.setError(text);
      } else if (fields[f]) {
        fields[f].setError(text);
        fields[f].control.focus();
      } else if (err.code === 'conflict' && !f) {
        nameField.setError(text);
        nameField.control.focus();
      } else {
        formError.textContent = text;
      }
    }

    formEl.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors();
      messages.clear();
      formStatus.textContent = '';
      const body = collect();
      if (!body) return;
      const memberList = members.value();
      const supervisorIds = selectedSupervisors();
      const cannedList = canned.value();
      const cannedProblem = canned.validate();
      if (cannedProblem) { canned.setError(cannedProblem); return; }

      const wasEditing = editing;
      submitBtn.disabled = true;
      submitBtn.textContent = wasEditing ? t('campaigns.saving') : t('campaigns.creating');
      let saved = null;
      try {
        let r = wasEditing ? await campaignsApi.update(wasEditing.id, body) : await campaignsApi.create(body);
        saved = r.campaign;
        const before = wasEditing || { members: [], supervisors: [], cannedResponses: [] };
        const memberKey = (list) => JSON.stringify(list.map((m) => [m.userId, m.penalty]));
        if (memberKey(memberList) !== memberKey(before.members || [])) {
          r = await campaignsApi.setMembers(saved.id, memberList.map((m) => ({ userId: m.userId, penalty: m.penalty })));
          saved = r.campaign;
        }
        if (!sameList(supervisorIds.slice().sort(), (before.supervisors || []).map((s) => s.userId).sort())) {
          r = await campaignsApi.setSupervisors(saved.id, supervisorIds);
          saved = r.campaign;
        }
        const cannedKey = (list) => JSON.stringify(list.map((x) => [x.id || 0, x.title.trim(), x.body.trim()]));
        if (cannedKey(cannedList) !== cannedKey(before.cannedResponses || [])) {
          r = await campaignsApi.setCanned(saved.id, cannedList.map((x) => (x.id ? { id: x.id, title: x.title, body: x.body } : { title: x.title, body: x.body })));
          saved = r.campaign;
        }
        if (!ctx.isCurrent()) return;
        upsert(saved);
        reset();
        formStatus.textContent = t(wasEditing ? 'campaigns.saved' : 'campaigns.created', { name: saved.name });
        load();
        if (wasEditing) focusTestid(main, `campaign-edit-${saved.id}`);
      } catch (err) {
        if (!ctx.isCurrent() || err.status === 401) return;
        if (saved && !wasEditing) {
          // The campaign exists now: keep the form on it, with what was typed, so the rest can be saved again.
          upsert(saved);
          setMode(saved);
          renderTable();
          load();
        }
        showError(err);
      } finally {
        submitBtn.disabled = false;
        submitBtn.textContent = editing ? t('campaigns.save') : t('campaigns.create');
      }
    });

    function upsert(c) {
      const i = state.campaigns.findIndex((x) => x.id === c.id);
      if (i >= 0) state.campaigns[i] = c; else state.campaigns.push(c);
    }

    resetFields();
    return {
      el: panel,
      reset,
      edit,
      fillOptions() { fillProviders(); fillSupervisors(); members.fillAgents(); },
      editingId: () => (editing ? editing.id : null),
      focusFirst: () => focusEl(nameField.control),
    };
  }

  // ---- Members: agents in routing order, each with a penalty -----------------------------

  function membersEditor() {
    let list = []; // { userId, username, displayName, disabled, penalty }
    const agentSelect = h('select', { id: 'campaign-member-select', 'aria-label': t('campaigns.memberChoose'), dataset: { testid: 'campaign-member-select' } });
    const penaltyInput = h('input', {
      type: 'number', id: 'campaign-member-penalty-new', min: '0', max: '1000', step: '1', value: '0', inputmode: 'numeric',
      class: 'input-narrow', dataset: { testid: 'campaign-member-penalty-new' },
    });
    const addBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: 'campaign-member-add' } }, t('campaigns.memberAdd'));
    const tbodyEl = h('tbody');
    const error = h('p', { id: 'campaign-members-error', class: 'field-error', role: 'alert', dataset: { testid: 'campaign-members-error' } });
    const el = h('div', { class: 'members-editor', dataset: { testid: 'campaign-members' } },
      h('h3', { class: 'subsection-title', id: 'campaign-members-title' }, t('campaigns.members')),
      h('p', { class: 'field-hint' }, t('campaigns.membersHint')),
      h('div', { class: 'inline-form member-add' },
        h('div', { class: 'field' }, h('label', { for: agentSelect.id }, t('campaigns.memberAgent')), agentSelect),
        h('div', { class: 'field' }, h('label', { for: penaltyInput.id }, t('campaigns.penalty')), penaltyInput),
        h('div', { class: 'field field-action' }, addBtn)),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact members-table', 'aria-labelledby': 'campaign-members-title' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', class: 'num' }, t('campaigns.memberOrder')),
          h('th', { scope: 'col' }, t('campaigns.memberAgent')),
          h('th', { scope: 'col' }, t('campaigns.penalty')),
          h('th', { scope: 'col' }, t('common.actions')))),
        tbodyEl)),
      error);

    function agents() {
      return state.users.filter((u) => u.role === 'agent');
    }

    function fillAgents() {
      const current = agentSelect.value;
      const taken = new Set(list.map((m) => m.userId));
      const free = agents().filter((u) => !taken.has(u.id));
      clear(agentSelect);
      agentSelect.append(h('option', { value: '' }, free.length ? t('campaigns.memberChoose') : t('campaigns.noMoreAgents')),
        ...free.map((u) => h('option', { value: String(u.id) }, userLabel(u) + (u.disabled ? ` ${t('campaigns.userDisabled')}` : ''))));
      agentSelect.value = free.some((u) => String(u.id) === current) ? current : '';
      addBtn.disabled = free.length === 0;
    }

    function move(i, delta, focusKey) {
      const j = i + delta;
      if (j < 0 || j >= list.length) return;
      [list[i], list[j]] = [list[j], list[i]];
      renderRows();
      const again = el.querySelector(`[data-testid="${CSS.escape(focusKey)}"]`);
      if (again && !again.disabled) again.focus();
      else { const other = el.querySelector(`[data-testid="campaign-member-remove-${list[j].userId}"]`); if (other) other.focus(); }
    }

    function renderRows() {
      clear(tbodyEl);
      if (list.length === 0) {
        tbodyEl.append(h('tr', null, h('td', { colspan: '4', class: 'muted', dataset: { testid: 'campaign-members-empty' } }, t('campaigns.noMembers'))));
      }
      list.forEach((m, i) => {
        const penalty = h('input', {
          type: 'number', min: '0', max: '1000', step: '1', value: String(m.penalty), inputmode: 'numeric', class: 'input-narrow',
          'aria-label': t('campaigns.penaltyOf', { name: m.username }), dataset: { testid: `campaign-member-penalty-${m.userId}` },
        });
        penalty.addEventListener('input', () => {
          const v = Number(penalty.value);
          m.penalty = Number.isInteger(v) ? v : m.penalty;
        });
        tbodyEl.append(h('tr', { dataset: { testid: `campaign-member-row-${m.userId}`, username: m.username } },
          h('td', { class: 'num' }, String(i + 1)),
          h('td', null, userLabel(m), m.disabled ? h('span', { class: 'muted' }, ` ${t('campaigns.userDisabled')}`) : null),
          h('td', null, penalty),
          h('td', null, h('div', { class: 'cell-actions' },
            h('button', {
              type: 'button', class: 'btn btn-small', disabled: i === 0, 'aria-label': t('campaigns.moveUp', { name: m.username }),
              dataset: { testid: `campaign-member-up-${m.userId}` }, onclick: () => move(i, -1, `campaign-member-up-${m.userId}`),
            }, '↑'),
            h('button', {
              type: 'button', class: 'btn btn-small', disabled: i === list.length - 1, 'aria-label': t('campaigns.moveDown', { name: m.username }),
              dataset: { testid: `campaign-member-down-${m.userId}` }, onclick: () => move(i, 1, `campaign-member-down-${m.userId}`),
            }, '↓'),
            h('button', {
              type: 'button', class: 'btn btn-small', 'aria-label': t('campaigns.memberRemoveOf', { name: m.username }),
              dataset: { testid: `campaign-member-remove-${m.userId}` },
              onclick: () => { list.splice(i, 1); renderRows(); fillAgents(); focusEl(agentSelect); },
            }, t('campaigns.memberRemove'))))));
      });
    }

    addBtn.addEventListener('click', () => {
      error.textContent = '';
      const id = Number(agentSelect.value);
      const user = agents().find((u) => u.id === id);
      if (!user) { error.textContent = t('campaigns.memberChooseFirst'); focusEl(agentSelect); return; }
      const p = Number(penaltyInput.value || '0');
      if (!Number.isInteger(p) || p < 0 || p > 1000) { error.textContent = t('campaigns.penaltyInvalid'); focusEl(penaltyInput); return; }
      list.push({ userId: user.id, username: user.username, displayName: user.displayName, disabled: !!user.disabled, penalty: p });
      penaltyInput.value = '0';
      renderRows();
      fillAgents();
      focusEl(agentSelect);
    });

    return {
      el,
      fillAgents,
      load(members) {
        list = members.map((m) => ({ ...m }));
        error.textContent = '';
        renderRows();
        fillAgents();
      },
      value: () => list.map((m) => ({ ...m })),
      setError(text) { error.textContent = text || ''; },
    };
  }

  // ---- Canned responses: title + text, in order -------------------------------------------

  function cannedEditor() {
    let list = []; // { id?, title, body }
    const listEl = h('ol', { class: 'canned-list', dataset: { testid: 'campaign-canned-list' } });
    const addBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: 'campaign-canned-add' } }, t('campaigns.cannedAdd'));
    const error = h('p', { class: 'field-error', role: 'alert', dataset: { testid: 'campaign-canned-error' } });
    const el = h('fieldset', { class: 'form-section', dataset: { testid: 'campaign-canned' } },
      h('legend', null, t('campaigns.canned')),
      h('p', { class: 'field-hint' }, t('campaigns.cannedHint')),
      listEl,
      h('div', { class: 'form-actions' }, addBtn),
      error);

    function move(i, delta, focusKey) {
      const j = i + delta;
      if (j < 0 || j >= list.length) return;
      [list[i], list[j]] = [list[j], list[i]];
      renderItems();
      const again = el.querySelector(`[data-testid="${CSS.escape(focusKey.replace(/\d+$/, String(j)))}"]`);
      if (again && !again.disabled) again.focus();
    }

    function renderItems() {
      clear(listEl);
      if (list.length === 0) {
        listEl.append(h('li', { class: 'muted canned-empty', dataset: { testid: 'campaign-canned-empty' } }, t('campaigns.noCanned')));
      }
      list.forEach((item, i) => {
        const titleInput = h('input', {
          type: 'text', id: `campaign-canned-title-${i}`, maxlength: '100', value: item.title, autocomplete: 'off',
          dataset: { testid: `campaign-canned-title-${i}` },
        });
        const bodyInput = h('textarea', { id: `campaign-canned-body-${i}`, rows: '2', maxlength: '1600', dataset: { testid: `campaign-canned-body-${i}` } });
        bodyInput.value = item.body;
        titleInput.addEventListener('input', () => { item.title = titleInput.value; });
        bodyInput.addEventListener('input', () => { item.body = bodyInput.value; });
        listEl.append(h('li', { class: 'canned-item', dataset: { testid: `campaign-canned-item-${i}` } },
          h('div', { class: 'canned-fields' },
            h('div', { class: 'field' }, h('label', { for: titleInput.id }, t('campaigns.cannedTitle')), titleInput),
            h('div', { class: 'field field-grow' }, h('label', { for: bodyInput.id }, t('campaigns.cannedBody')), bodyInput)),
          h('div', { class: 'cell-actions' },
            h('button', {
              type: 'button', class: 'btn btn-small', disabled: i === 0, 'aria-label': t('campaigns.moveUp', { name: item.title || String(i + 1) }),
              dataset: { testid: `campaign-canned-up-${i}` }, onclick: () => move(i, -1, `campaign-canned-up-${i}`),
            }, '↑'),
            h('button', {
              type: 'button', class: 'btn btn-small', disabled: i === list.length - 1, 'aria-label': t('campaigns.moveDown', { name: item.title || String(i + 1) }),
              dataset: { testid: `campaign-canned-down-${i}` }, onclick: () => move(i, 1, `campaign-canned-down-${i}`),
            }, '↓'),
            h('button', {
              type: 'button', class: 'btn btn-small', 'aria-label': t('campaigns.cannedRemoveOf', { name: item.title || String(i + 1) }),
              dataset: { testid: `campaign-canned-remove-${i}` },
              onclick: () => { list.splice(i, 1); renderItems(); focusEl(addBtn); },
            }, t('campaigns.cannedRemove')))));
      });
    }

    addBtn.addEventListener('click', () => {
      error.textContent = '';
      list.push({ title: '', body: '' });
      renderItems();
      focusEl(el.querySelector(`[data-testid="campaign-canned-title-${list.length - 1}"]`));
    });

    return {
      el,
      load(items) {
        list = items.map((x) => ({ id: x.id, title: x.title, body: x.body }));
        error.textContent = '';
        renderItems();
      },
      value: () => list.map((x) => ({ ...x })),
      /** A problem to show before sending, or null. */
      validate() {
        const i = list.findIndex((x) => !x.title.trim() || !x.body.trim());
        if (i < 0) return null;
        focusEl(el.querySelector(`[data-testid="campaign-canned-${list[i].title.trim() ? 'body' : 'title'}-${i}"]`));
        return t('campaigns.cannedIncomplete', { n: i + 1 });
      },
      setError(text) { error.textContent = text || ''; },
    };
  }

  // ---- Loading -------------------------------------------------------------------------------

  const load = listLoader({
    table,
    ctx,
    messages,
    fetch: () => Promise.all([campaignsApi.list(), campaignsApi.users(), campaignsApi.providers(), campaignsApi.dialers()]),
    apply: ([c, u, p, d]) => {
      state.campaigns = (c && c.campaigns) || [];
      state.users = (u && u.users) || [];
      state.providers = (p && p.providers) || [];
      state.dialers = (d && d.dialers) || [];
      state.loaded = true;
      if (state.confirmDelete !== null && !state.campaigns.some((x) => x.id === state.confirmDelete)) state.confirmDelete = null;
      form.fillOptions();
      renderTable();
    },
  });

  renderTable();
  load();
}
