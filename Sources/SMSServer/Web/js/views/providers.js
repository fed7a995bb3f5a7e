// Providers page (SPEC P1–P6): list with default marker and webhook URL,
// create/edit form whose fields follow the chosen type, make default, test
// (raw answer shown), delete with a confirm step. Admins change things;
// supervisors see the same list read-only.
//
// Secrets are write-only: the secret inputs are always empty when editing; an
// empty secret keeps the stored one. Labels and help of type fields, and the
// type notes, come from GET /provider-types in English; the page shows them in
// the user's language through the providerFields.* / providerTypes.* keys
// (typeText), and the server's English when a key is missing.

import { request } from '../api.js';
import { t, lang, TABLES } from '../i18n.js';
import { h, clear, errorText, focusEl } from '../dom.js';
import { pageHeader, messageArea, field, preserveFocus, fillTableBody, deleteControl, focusTestid, listLoader } from '../components.js';

const enc = encodeURIComponent;
const providersApi = {
  types: () => request('GET', '/provider-types'),
  list: () => request('GET', '/providers'),
  get: (id) => request('GET', `/providers/${enc(id)}`),
  create: (body) => request('POST', '/providers', body),
  update: (id, body) => request('PATCH', `/providers/${enc(id)}`, body),
  remove: (id) => request('DELETE', `/providers/${enc(id)}`),
  makeDefault: (id) => request('POST', `/providers/${enc(id)}/default`),
  test: (id, destination, text) => request('POST', `/providers/${enc(id)}/test`, { destination, text }),
};

/** Plain-text connection fields; the ones a type does not use are cleared on save. */
const TEXT_FIELDS = ['url', 'username', 'sender', 'ports', 'numberPattern'];
const ENCODINGS = ['auto', 'GSM-7', 'UCS-2'];
/** Settings holding multi-line text (templates, header lists, bodies) get a textarea. */
const MULTILINE_SETTING = /(^|_)(template|headers|body)(_|$)/;
/** Fields that read better monospaced (templates, patterns, ids). */
const MONO_FIELDS = new Set(['url', 'numberPattern', 'ports']);

/** A webhook URL as the provider must be given it: absolute. */
function absoluteUrl(url) {
  if (!url) return '';
  return url.startsWith('/') ? location.origin + url : url;
}

/** Copy text to the clipboard; falls back to selecting `sourceEl` and execCommand. */
async function copyText(text, sourceEl) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (_) {
    // fall back below
  }
  try {
    const range = document.createRange();
    range.selectNodeContents(sourceEl);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    return document.execCommand('copy');
  } catch (_) {
    return false;
  }
}

/**
 * Server text of a provider type (field label or help, note) in the user's
 * language: the translation under `key` when the language's table has it,
 * else the server's English. Null when the server gives no text.
 */
function typeText(key, english) {
  if (!english) return null;
  const table = TABLES[lang];
  return table && Object.prototype.hasOwnProperty.call(table, key) ? t(key) : english;
}

function fieldId(key) {
  return `prov-${key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function fieldTestid(key) {
  return key.startsWith('settings.') ? `provider-setting-${key.slice('settings.'.length)}` : `provider-field-${key}`;
}

/**
 * A form field labelled with a provider type's own label and help (typeText),
 * laid out like components.field(): label, control, hint, error line.
 */
function apiField({ key, label, help = null, required = false, control, wide = false }) {
  const id = fieldId(key);
  const testid = fieldTestid(key);
  const errorId = `${id}-error`;
  const hintId = help ? `${id}-hint` : null;
  control.id = id;
  control.dataset.testid = testid;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  if (required) control.setAttribute('aria-required', 'true');
  const error = h('p', { id: errorId, class: 'field-error', dataset: { testid: `${testid}-error` } });
  return {
    el: h('div', { class: wide ? 'field field-wide' : 'field', dataset: { field: key } },
      h('label', { for: id }, label, required ? h('span', { class: 'req-marker' }, ' ', t('providers.required')) : null),
      control,
      help ? h('p', { id: hintId, class: 'field-hint' }, help) : null,
      error),
    control,
    setError(text) {
      error.textContent = text || '';
      if (text) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}

export function render(main, ctx) {
  const canEdit = !!ctx.user && ctx.user.role === 'admin';
  const state = {
    providers: [],
    loaded: false,
    types: [],
    typesLoaded: false,
    busy: new Set(),        // provider ids with a request in flight
    confirmDelete: null,    // provider id awaiting delete confirmation
  };
  const messages = messageArea('providers');

  // ---- List ----------------------------------------------------------------
  const colCount = canEdit ? 6 : 5;
  const tbody = h('tbody');
  const table = h('table', { id: 'providers-table', class: 'table providers-table', dataset: { testid: 'providers-table' } },
    h('caption', { class: 'visually-hidden' }, t('providers.listTitle')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('providers.colName')),
      h('th', { scope: 'col' }, t('providers.colType')),
      h('th', { scope: 'col' }, t('providers.colSender')),
      h('th', { scope: 'col' }, t('providers.colDefault')),
      h('th', { scope: 'col' }, t('providers.colWebhook')),
      canEdit ? h('th', { scope: 'col' }, t('common.actions')) : null)),
    tbody);
  const refreshBtn = h('button', { type: 'button', class: 'btn btn-small btn-ghost', dataset: { testid: 'providers-refresh' }, onclick: () => load() }, t('common.refresh'));

  // ---- Create / edit form (admins only) ------------------------------------
  const form = canEdit ? buildForm() : null;
  const testDialog = canEdit ? buildTestDialog() : null;

  // Element.append() would print null as text: leave the admin-only parts out instead.
  clear(main).append(...[
    pageHeader('providers.title'),
    canEdit ? null : h('p', { class: 'notice notice-info', dataset: { testid: 'providers-readonly' } }, t('providers.readOnly')),
    messages.el,
    h('section', { class: 'panel', 'aria-labelledby': 'providers-list-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'providers-list-title', class: 'panel-title' }, t('providers.listTitle')),
        refreshBtn),
      h('p', { class: 'panel-hint', dataset: { testid: 'providers-webhook-hint' } }, t('providers.webhookHint')),
      h('div', { class: 'table-wrap' }, table)),
    form ? form.el : null,
    testDialog ? testDialog.el : null,
  ].filter(Boolean));

  function upsert(p) {
    const i = state.providers.findIndex((x) => x.id === p.id);
    if (i >= 0) state.providers[i] = p;
    else state.providers.push(p);
  }

  function renderTable() {
    preserveFocus(main, () => fillTableBody(tbody, {
      loaded: state.loaded, items: state.providers, columns: colCount,
      emptyText: canEdit ? t('providers.empty') : t('providers.emptyReadOnly'),
      testids: { loading: 'providers-loading', empty: 'providers-empty' }, row,
    }));
  }

  function defaultMarker(p) {
    if (p.isDefault) {
      return h('span', { class: 'status-badge status-on', dataset: { testid: `provider-default-${p.id}` } }, t('providers.default'));
    }
    if (p.actsAsDefault) {
      return h('span', {
        class: 'status-badge status-implicit', title: t('providers.defaultFirstHint'),
        dataset: { testid: `provider-default-${p.id}` },
      }, t('providers.defaultFirst'));
    }
    return h('span', { class: 'muted', dataset: { testid: `provider-default-${p.id}` } }, '');
  }

  function webhookCell(p) {
    const url = absoluteUrl(p.webhookURL);
    if (!url) return h('span', { class: 'muted' }, t('common.none'));
    const code = h('code', { class: 'webhook-url', title: url, dataset: { testid: `provider-webhook-${p.id}` } }, url);
    const copy = h('button', {
      type: 'button', class: 'btn btn-small', dataset: { testid: `provider-copy-${p.id}` },
      'aria-label': t('providers.copyWebhookFor', { name: p.name }),
    }, t('common.copy'));
    copy.addEventListener('click', async () => {
      const ok = await copyText(url, code);
      if (!ctx.isCurrent()) return;
      if (ok) messages.ok(t('providers.webhookCopied', { name: p.name }));
      else messages.fail(t('providers.webhookCopyFailed'));
    });
    return h('div', { class: 'webhook-cell' }, code, copy);
  }

  function row(p) {
    const busy = state.busy.has(p.id);
    let actions = null;
    const confirming = state.confirmDelete === p.id;
    const remover = deleteControl({
      prefix: 'provider', id: p.id, name: p.name, label: t('providers.delete'),
      confirmText: t('providers.confirmDelete', { name: p.name }), busy, confirming,
      onAsk: () => { state.confirmDelete = p.id; renderTable(); focusTestid(main, `provider-delete-cancel-${p.id}`); },
      onCancel: () => { state.confirmDelete = null; renderTable(); focusTestid(main, `provider-delete-${p.id}`); },
      onConfirm: () => remove(p),
    });
    if (canEdit && confirming) {
      actions = remover;
    } else if (canEdit) {
      const editingThis = form && form.editingId() === p.id;
      actions = h('div', { class: 'cell-actions' },
        h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: `provider-edit-${p.id}` },
          disabled: busy || !state.typesLoaded || editingThis, 'aria-label': `${t('providers.edit')}: ${p.name}`,
          onclick: () => startEdit(p),
        }, t('providers.edit')),
        p.isDefault ? null : h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: `provider-make-default-${p.id}` },
          disabled: busy, 'aria-label': `${t('providers.makeDefault')}: ${p.name}`,
          onclick: () => makeDefault(p),
        }, t('providers.makeDefault')),
        h('button', {
          type: 'button', class: 'btn btn-small', dataset: { testid: `provider-test-${p.id}` },
          disabled: busy, 'aria-label': `${t('providers.test')}: ${p.name}`,
          onclick: () => testDialog.open(p),
        }, t('providers.test')),
        remover);
    }
    return h('tr', {
      class: form && form.editingId() === p.id ? 'row-selected' : null,
      dataset: {
        testid: `provider-row-${p.id}`, id: String(p.id), name: p.name, type: p.type,
        default: String(!!p.isDefault), actsAsDefault: String(!!p.actsAsDefault),
      },
    },
    h('td', null, h('span', { class: 'cell-name', dataset: { testid: `provider-name-${p.id}` } }, p.name)),
    h('td', { dataset: { testid: `provider-type-${p.id}` } }, p.type),
    h('td', null, p.sender ? h('span', { class: 'mono' }, p.sender) : h('span', { class: 'muted' }, t('common.none'))),
    h('td', null, defaultMarker(p)),
    h('td', null, webhookCell(p)),
    canEdit ? h('td', { class: 'cell-wrap' }, actions) : null);
  }


  async function withBusy(p, fn) {
    const active = document.activeElement;
    const focusKey = active && main.contains(active) ? active.dataset.testid : null;
    state.busy.add(p.id);
    renderTable();
    messages.clear();
    try {
      await fn();
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    } finally {
      state.busy.delete(p.id);
      if (ctx.isCurrent()) {
        renderTable();
        if (focusKey) focusTestid(main, focusKey);
      }
    }
  }

  function makeDefault(p) {
    return withBusy(p, async () => {
      const r = await providersApi.makeDefault(p.id);
      if (!ctx.isCurrent()) return;
      // Only one provider is default: clear the others locally until the refresh lands.
      for (const x of state.providers) { x.isDefault = false; x.actsAsDefault = false; }
      upsert(r.provider);
      messages.ok(t('providers.defaultSet', { name: r.provider.name }));
      load();
    });
  }

  async function remove(p) {
    state.busy.add(p.id);
    renderTable();
    messages.clear();
    try {
      await providersApi.remove(p.id);
      if (!ctx.isCurrent()) return;
      state.confirmDelete = null;
      state.providers = state.providers.filter((x) => x.id !== p.id);
      if (form && form.editingId() === p.id) form.reset();
      messages.ok(t('providers.deleted', { name: p.name }));
      load();
    } catch (err) {
      if (!ctx.isCurrent() || err.status === 401) return;
      state.confirmDelete = null;
      // 409 in_use names the dialers that use the provider: show the server's message.
      messages.fail(err.code === 'in_use' && err.message ? err.message : errorText(err));
    } finally {
      state.busy.delete(p.id);
      if (ctx.isCurrent()) {
        renderTable();
        if (state.providers.some((x) => x.id === p.id)) focusTestid(main, `provider-delete-${p.id}`);
      }
    }
  }

  async function startEdit(p) {
    if (!form) return;
    await withBusy(p, async () => {
      const r = await providersApi.get(p.id);
      if (!ctx.isCurrent()) return;
      upsert(r.provider);
      form.edit(r.provider);
    });
    if (ctx.isCurrent() && form.editingId() === p.id) form.focusFirst();
  }

  // ---- Form ------------------------------------------------------------------

  function buildForm() {
    const title = h('h2', { id: 'provider-form-title', class: 'panel-title', dataset: { testid: 'provider-form-title' } }, t('providers.createTitle'));
    const typeSelect = h('select', { name: 'type', disabled: true },
      h('option', { value: '' }, t('common.loading')));
    const typeField = field({ id: 'provider-type', labelKey: 'providers.type', hintKey: 'providers.typeHint', control: typeSelect, testid: 'provider-type' });
    const nameField = field({
      id: 'provider-name', labelKey: 'providers.name', hintKey: 'providers.nameHint', testid: 'provider-name',
      control: h('input', { type: 'text', name: 'name', autocomplete: 'off', maxlength: '100', required: true }),
    });
    const typeArea = h('div', { class: 'type-area', dataset: { testid: 'provider-type-area' } });
    const formError = h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'provider-form-error' } });
    // Result of the last save, next to the form the admin is looking at.
    const formStatus = h('p', { class: 'notice notice-ok', role: 'status', dataset: { testid: 'provider-form-status' } });
    const submitBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'provider-submit' } }, t('providers.create'));
    const cancelBtn = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true, dataset: { testid: 'provider-cancel' } }, t('providers.cancelEdit'));
    const formEl = h('form', { id: 'provider-form', class: 'provider-form', novalidate: true, dataset: { testid: 'provider-form', mode: 'create' } },
      h('div', { class: 'form-grid' }, typeField.el, nameField.el),
      typeArea,
      formError,
      h('div', { class: 'form-actions' }, submitBtn, cancelBtn));
    const section = h('section', { class: 'panel', id: 'provider-form-panel', 'aria-labelledby': 'provider-form-title', dataset: { testid: 'provider-form-panel' } },
      title, formStatus, formEl);

    const fs = {
      editing: null,          // Provider being edited, or null when adding
      draft: {},              // key -> value typed so far (kept across type changes)
      controls: new Map(),    // key -> apiField
    };

    function schemaOf(type) {
      return state.types.find((x) => x.type === type) || null;
    }

    function setTypes() {
      clear(typeSelect);
      typeSelect.append(h('option', { value: '' }, t('providers.chooseType')),
        ...state.types.map((x) => h('option', { value: x.type }, x.type)));
      typeSelect.disabled = false;
      if (fs.editing) typeSelect.value = fs.editing.type;
    }

    function captureDraft() {
      for (const [key, f] of fs.controls) fs.draft[key] = f.control.value;
    }

    function secretPlaceholder(stored) {
      return stored ? t('providers.secretStored') : null;
    }

    function renderTypeArea() {
      fs.controls = new Map();
      clear(typeArea);
      const schema = schemaOf(typeSelect.value);
      if (!schema) {
        typeArea.append(h('p', { class: 'muted type-area-empty', dataset: { testid: 'provider-choose-type' } }, t('providers.chooseTypeFirst')));
        return;
      }
      const d = fs.draft;
      const editing = fs.editing;
      if (schema.note) {
        typeArea.append(h('p', { class: 'notice notice-info type-note', dataset: { testid: 'provider-type-note' } },
          typeText(`providerTypes.${schema.type}.note`, schema.note)));
      }
      if (editing && editing.webhookURL) typeArea.append(webhookBox(editing));

      // Connection fields, in the order and with the labels the type gives.
      const connection = [];
      for (const f of schema.fields) {
        let control;
        let wide = false;
        if (f.name === 'secret') {
          control = h('input', {
            type: 'password', name: 'secret', autocomplete: 'new-password', spellcheck: 'false',
            placeholder: secretPlaceholder(editing && editing.hasSecret), value: d.secret || '',
          });
        } else if (f.name === 'encoding') {
          const current = d.encoding || 'auto';
          control = h('select', { name: 'encoding' },
            ENCODINGS.map((e) => h('option', { value: e, selected: e === current }, t(`providers.encoding.${e}`))));
        } else {
          control = h('input', {
            type: 'text', name: f.name, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false',
            class: MONO_FIELDS.has(f.name) ? 'input-mono' : null, value: d[f.name] || '',
          });
          wide = f.name === 'url';
        }
        const af = apiField({
          key: f.name, required: f.required, control, wide,
          label: typeText(`providerFields.${schema.type}.${f.name}.label`, f.label),
          help: typeText(`providerFields.${schema.type}.${f.name}.help`, f.help),
        });
        fs.controls.set(f.name, af);
        connection.push(af.el);
      }
      typeArea.append(h('fieldset', { class: 'form-section', dataset: { testid: 'provider-section-connection' } },
        h('legend', null, t('providers.sectionConnection')),
        h('div', { class: 'form-grid' }, connection)));

      if (schema.settings.length > 0) {
        const stored = new Set((editing && editing.secretSettings) || []);
        const items = schema.settings.map((s) => {
          const key = `settings.${s.key}`;
          let control;
          let wide = false;
          if (s.secret) {
            control = h('input', {
              type: 'password', name: key, autocomplete: 'new-password', spellcheck: 'false',
              placeholder: secretPlaceholder(stored.has(s.key)), value: d[key] || '',
            });
          } else if (MULTILINE_SETTING.test(s.key)) {
            control = h('textarea', { name: key, rows: '3', spellcheck: 'false', class: 'input-mono', value: d[key] || '' });
            wide = true;
          } else {
            control = h('input', { type: 'text', name: key, autocomplete: 'off', spellcheck: 'false', value: d[key] || '' });
          }
          const af = apiField({
            key, required: s.required, control, wide,
            label: typeText(`providerFields.${schema.type}.${key}.label`, s.label),
            help: typeText(`providerFields.${schema.type}.${key}.help`, s.help),
          });
          fs.controls.set(key, af);
          return af.el;
        });
        typeArea.append(h('fieldset', { class: 'form-section', dataset: { testid: 'provider-section-settings' } },
          h('legend', null, t('providers.sectionSettings', { type: schema.type })),
          h('div', { class: 'form-grid' }, items)));
      }

      const rate = apiField({
        key: 'ratePerSecond', label: t('providers.ratePerSecond'), help: t('providers.ratePerSecondHint'),
        control: h('input', { type: 'number', name: 'ratePerSecond', min: '0', step: 'any', inputmode: 'decimal', value: d.ratePerSecond || '' }),
      });
      const conc = apiField({
        key: 'maxConcurrency', label: t('providers.maxConcurrency'), help: t('providers.maxConcurrencyHint'),
        control: h('input', { type: 'number', name: 'maxConcurrency', min: '1', max: '1000', step: '1', inputmode: 'numeric', value: d.maxConcurrency || '' }),
      });
      fs.controls.set('ratePerSecond', rate);
      fs.controls.set('maxConcurrency', conc);
      typeArea.append(h('fieldset', { class: 'form-section', dataset: { testid: 'provider-section-limits' } },
        h('legend', null, t('providers.sectionLimits')),
        h('div', { class: 'form-grid' }, rate.el, conc.el)));
    }

    function webhookBox(p) {
      const url = absoluteUrl(p.webhookURL);
      const code = h('code', { class: 'webhook-full', dataset: { testid: 'provider-form-webhook' } }, url);
      const status = h('span', { class: 'copy-status', role: 'status', dataset: { testid: 'provider-form-webhook-status' } });
      const copy = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: 'provider-form-webhook-copy' } }, t('common.copy'));
      copy.addEventListener('click', async () => {
        const ok = await copyText(url, code);
        status.textContent = ok ? t('common.copied') : t('common.copyFailed');
      });
      return h('div', { class: 'webhook-box' },
        h('span', { class: 'webhook-label' }, t('providers.colWebhook')),
        h('div', { class: 'webhook-row' }, code, copy, status),
        h('p', { class: 'field-hint' }, t('providers.webhookHint')));
    }

    function clearErrors() {
      typeField.setError('');
      nameField.setError('');
      for (const f of fs.controls.values()) f.setError('');
      formError.textContent = '';
    }

    function setMode(editing) {
      fs.editing = editing;
      formEl.dataset.mode = editing ? 'edit' : 'create';
      title.textContent = editing ? t('providers.editTitle', { name: editing.name }) : t('providers.createTitle');
      submitBtn.textContent = editing ? t('providers.save') : t('providers.create');
      cancelBtn.hidden = !editing;
    }

    function reset() {
      fs.draft = {};
      clearErrors();
      nameField.control.value = '';
      typeSelect.value = '';
      setMode(null);
      renderTypeArea();
      renderTable();
    }

    function edit(p) {
      clearErrors();
      formStatus.textContent = '';
      setMode(p);
      fs.draft = {
        url: p.url || '', username: p.username || '', sender: p.sender || '', ports: p.ports || '',
        numberPattern: p.numberPattern || '', encoding: p.encoding || 'auto',
        ratePerSecond: p.ratePerSecond === null || p.ratePerSecond === undefined ? '' : String(p.ratePerSecond),
        maxConcurrency: p.maxConcurrency === null || p.maxConcurrency === undefined ? '' : String(p.maxConcurrency),
      };
      for (const [k, v] of Object.entries(p.settings || {})) fs.draft[`settings.${k}`] = v;
      nameField.control.value = p.name;
      typeSelect.value = p.type;
      if (typeSelect.value !== p.type) formError.textContent = t('providers.unknownType', { type: p.type });
      renderTypeArea();
      renderTable();
      section.scrollIntoView({ block: 'start' });
    }

    typeSelect.addEventListener('change', () => {
      captureDraft();
      typeField.setError('');
      if (!fs.editing) formStatus.textContent = ''; // a new entry begins: the last "added" is history
      renderTypeArea();
    });

    cancelBtn.addEventListener('click', () => {
      const id = fs.editing && fs.editing.id;
      reset();
      messages.clear();
      if (id !== null) focusTestid(main, `provider-edit-${id}`);
    });

    /** Request body from the form; null (with the field marked) when a number is not one. */
    function collect(schema) {
      const editing = fs.editing;
      const body = { name: nameField.control.value.trim(), type: schema.type };
      const used = new Set(schema.fields.map((f) => f.name));
      for (const f of schema.fields) {
        const control = fs.controls.get(f.name).control;
        if (f.name === 'secret') {
          if (control.value) body.secret = control.value; // empty keeps the stored secret
        } else if (f.name === 'encoding') {
          body.encoding = control.value;
        } else {
          const v = control.value.trim();
          if (v || editing) body[f.name] = v;
        }
      }
      // A type change must not leave the old type's values behind.
      if (editing) for (const name of TEXT_FIELDS) if (!used.has(name)) body[name] = '';
      if (schema.settings.length > 0) {
        const settings = {};
        for (const s of schema.settings) {
          const control = fs.controls.get(`settings.${s.key}`).control;
          const v = control.tagName === 'TEXTAREA' || s.secret ? control.value : control.value.trim();
          if (s.secret && !v) continue; // empty keeps the stored secret
          settings[s.key] = v;
        }
        body.settings = settings;
      } else if (editing) {
        body.settings = {};
      }
      let ok = true;
      const rate = fs.controls.get('ratePerSecond');
      const rateText = rate.control.value.trim();
      if (rate.control.validity && rate.control.validity.badInput) {
        rate.setError(t('providers.notANumber')); ok = false;
      } else if (rateText) {
        const n = Number(rateText);
        if (!Number.isFinite(n)) { rate.setError(t('providers.notANumber')); ok = false; } else body.ratePerSecond = n;
      }
      const conc = fs.controls.get('maxConcurrency');
      const concText = conc.control.value.trim();
      if (conc.control.validity && conc.control.validity.badInput) {
        conc.setError(t('providers.notAWholeNumber')); ok = false;
      } else if (concText) {
        const n = Number(concText);
        if (!Number.isInteger(n)) { conc.setError(t('providers.notAWholeNumber')); ok = false; } else body.maxConcurrency = n;
      }
      return ok ? body : null;
    }

    function fieldFor(key) {
      if (key === 'name') return nameField;
      if (key === 'type') return typeField;
      return fs.controls.get(key) || null;
    }

    formEl.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors();
      messages.clear();
      formStatus.textContent = '';
      const schema = schemaOf(typeSelect.value);
      if (!schema) {
        typeField.setError(t('providers.typeRequired'));
        typeSelect.focus();
        return;
      }
      const body = collect(schema);
      if (!body) {
        const bad = [...fs.controls.values()].find((f) => f.control.getAttribute('aria-invalid') === 'true');
        if (bad) bad.control.focus();
        return;
      }
      const editing = fs.editing;
      submitBtn.disabled = true;
      submitBtn.textContent = editing ? t('providers.saving') : t('providers.creating');
      try {
        const r = editing ? await providersApi.update(editing.id, body) : await providersApi.create(body);
        if (!ctx.isCurrent()) return;
        upsert(r.provider);
        reset(); // also drops any typed secret from memory and the inputs
        formStatus.textContent = t(editing ? 'providers.saved' : 'providers.created', { name: r.provider.name });
        load();
        if (editing) focusTestid(main, `provider-edit-${r.provider.id}`);
      } catch (err) {
        if (!ctx.isCurrent() || err.status === 401) return;
        let text = errorText(err);
        if (err.code === 'conflict' && (!err.field || err.field === 'name')) text = t('providers.nameTaken');
        const target = err.field ? fieldFor(err.field) : null;
        if (target) {
          target.setError(text);
          target.control.focus();
        } else {
          formError.textContent = text;
        }
      } finally {
        submitBtn.disabled = false;
        submitBtn.textContent = fs.editing ? t('providers.save') : t('providers.create');
      }
    });

    renderTypeArea();

    return {
      el: section,
      setTypes,
      reset,
      edit,
      editingId: () => (fs.editing ? fs.editing.id : null),
      focusFirst: () => focusEl(nameField.control),
    };
  }

  // ---- Test dialog -------------------------------------------------------------

  function buildTestDialog() {
    const title = h('h2', { id: 'provider-test-title', class: 'dialog-title', dataset: { testid: 'test-title' } });
    const destField = field({
      id: 'test-destination', labelKey: 'providers.testDestination', hintKey: 'providers.testDestinationHint', testid: 'test-destination',
      control: h('input', { type: 'text', name: 'destination', autocomplete: 'off', inputmode: 'tel', spellcheck: 'false', class: 'input-mono' }),
    });
    const textField = field({
      id: 'test-text', labelKey: 'providers.testText', testid: 'test-text',
      control: h('input', { type: 'text', name: 'text', autocomplete: 'off', maxlength: '1000' }),
    });
    const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary', dataset: { testid: 'test-send' } }, t('providers.testSend'));
    const closeBtn = h('button', { type: 'button', class: 'btn btn-ghost', dataset: { testid: 'test-close' } }, t('common.close'));
    const result = h('div', { class: 'test-result', 'aria-live': 'polite', dataset: { testid: 'test-result' } });
    const formEl = h('form', { class: 'test-form', novalidate: true, dataset: { testid: 'test-form' } },
      h('div', { class: 'form-grid' }, destField.el, textField.el),
      h('div', { class: 'form-actions' }, sendBtn, closeBtn));
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'provider-test-title', dataset: { testid: 'test-dialog' } },
      title,
      h('p', { class: 'dialog-hint' }, t('providers.testHint')),
      formEl,
      result);

    let current = null;
    let seq = 0;

    function dd(testid, ...content) {
      return h('dd', { dataset: { testid } }, ...content);
    }

    function showResult(r) {
      clear(result);
      const accepted = !!r.accepted;
      const list = h('dl', { class: 'result-list' },
        h('dt', null, t('providers.testOutcome')),
        dd('test-outcome', h('span', {
          class: accepted ? 'status-badge status-on' : 'status-badge status-failed',
          dataset: { accepted: String(accepted) },
        }, accepted ? t('providers.testAccepted') : t('providers.testNotAccepted'))),
        r.providerMessageId ? [h('dt', null, t('providers.testMessageId')), dd('test-message-id', h('span', { class: 'mono' }, r.providerMessageId))] : null,
        r.error ? [
          h('dt', null, t('providers.testErrorKind')),
          dd('test-error-kind', t(r.error.kind === 'retryable' ? 'providers.errorRetryable' : r.error.kind === 'permanent' ? 'providers.errorPermanent' : 'providers.errorOther', { kind: r.error.kind })),
          h('dt', null, t('providers.testErrorCode')), dd('test-error-code', h('span', { class: 'mono' }, r.error.code || '')),
          h('dt', null, t('providers.testErrorText')), dd('test-error-text', r.error.text || ''),
        ] : null);
      result.append(list,
        h('h3', { class: 'raw-title' }, t('providers.testRaw')),
        r.rawResponse
          ? h('pre', { class: 'raw-response', dataset: { testid: 'test-raw' } }, r.rawResponse) // text node: never parsed as HTML
          : h('p', { class: 'muted', dataset: { testid: 'test-raw-none' } }, t('providers.testNoRaw')));
    }

    formEl.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!current) return;
      destField.setError('');
      textField.setError('');
      clear(result);
      const destination = destField.control.value.trim();
      const text = textField.control.value;
      if (!destination) {
        destField.setError(t('providers.testDestinationRequired'));
        destField.control.focus();
        return;
      }
      if (!text.trim()) {
        textField.setError(t('providers.testTextRequired'));
        textField.control.focus();
        return;
      }
      const mySeq = ++seq;
      const provider = current;
      sendBtn.disabled = true;
      sendBtn.textContent = t('providers.testSending');
      result.append(h('p', { class: 'muted', dataset: { testid: 'test-pending' } }, t('providers.testSending')));
      try {
        const r = await providersApi.test(provider.id, destination, text);
        if (!ctx.isCurrent() || mySeq !== seq) return;
        showResult(r || {});
      } catch (err) {
        if (!ctx.isCurrent() || mySeq !== seq || err.status === 401) return;
        clear(result);
        const msg = errorText(err);
        if (err.field === 'destination') { destField.setError(msg); destField.control.focus(); }
        else if (err.field === 'text') { textField.setError(msg); textField.control.focus(); }
        else result.append(h('p', { class: 'notice notice-error', role: 'alert', dataset: { testid: 'test-error' } }, msg));
      } finally {
        if (mySeq === seq) {
          sendBtn.disabled = false;
          sendBtn.textContent = t('providers.testSend');
        }
      }
    });

    closeBtn.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      seq += 1; // ignore an answer that arrives after closing
      sendBtn.disabled = false;
      sendBtn.textContent = t('providers.testSend');
      const id = current && current.id;
      current = null;
      clear(result);
      if (id !== null && ctx.isCurrent()) focusTestid(main, `provider-test-${id}`);
    });

    return {
      el: dialog,
      open(p) {
        current = p;
        title.textContent = t('providers.testTitle', { name: p.name });
        destField.setError('');
        textField.setError('');
        if (!textField.control.value) textField.control.value = t('providers.testTextDefault');
        clear(result);
        if (!dialog.open) dialog.showModal();
        destField.control.focus();
      },
    };
  }

  // ---- Loading -------------------------------------------------------------------

  const load = listLoader({
    table,
    ctx,
    messages,
    fetch: () => providersApi.list(),
    apply: (r) => {
      state.providers = (r && r.providers) || [];
      state.loaded = true;
      if (state.confirmDelete !== null && !state.providers.some((p) => p.id === state.confirmDelete)) state.confirmDelete = null;
      renderTable();
    },
  });

  async function loadTypes() {
    if (!form) return;
    try {
      const r = await providersApi.types();
      if (!ctx.isCurrent()) return;
      state.types = (r && r.types) || [];
      state.typesLoaded = true;
      form.setTypes();
      renderTable(); // Edit buttons wait for the types
    } catch (err) {
      if (ctx.isCurrent() && err.status !== 401) messages.fail(errorText(err));
    }
  }

  renderTable();
  load();
  loadTypes();
}
