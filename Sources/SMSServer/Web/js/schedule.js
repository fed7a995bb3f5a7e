// Weekly schedules (SPEC C1, D1) as the Dialers and Campaigns pages edit them,
// and the small form pieces both pages share (time zones, check boxes).
//
// A schedule is { timeZone, weekly: [{ day, start, end }], exceptions: [] }.
// "Always open" is every day 00:00–24:00 with no exceptions, or no schedule.
// The editor shows one range per day; dated exceptions are kept as they are.

import { t, timeZone as userTimeZone } from './i18n.js';
import { h, focusEl } from './dom.js';
import { field } from './components.js';

export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
export const WEEKDAYS = DAYS.slice(0, 5);
export const ALWAYS_OPEN = {
  timeZone: 'UTC',
  weekly: DAYS.map((day) => ({ day, start: '00:00', end: '24:00' })),
  exceptions: [],
};

/** The default zone of a new schedule: the signed-in user's (their choice, else the browser's). */
export function browserTimeZone() {
  return userTimeZone || 'UTC';
}

export function validTimeZone(zone) {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone }); // eslint-disable-line no-new
    return true;
  } catch (_) {
    return false;
  }
}

let zoneList = null;
function timeZones() {
  if (!zoneList) {
    let zones = [];
    try {
      zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    } catch (_) {
      zones = [];
    }
    zoneList = ['UTC', ...zones.filter((z) => z !== 'UTC')];
  }
  return zoneList;
}

/** A <datalist> of the browser's time zones, for time-zone inputs (list=id). */
export function zoneDatalist(id) {
  return h('datalist', { id }, timeZones().map((z) => h('option', { value: z })));
}

function minutes(hhmm) {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm || '');
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** True when a schedule is absent or is every day 00:00–24:00 with no exceptions. */
export function isAlwaysOpen(schedule) {
  if (!schedule) return true;
  if ((schedule.exceptions || []).length) return false;
  const weekly = schedule.weekly || [];
  return DAYS.every((day) => weekly.some((r) => r.day === day && r.start === '00:00' && r.end === '24:00'));
}

/** "Mon–Fri 08:00–20:00, Sat 09:00–13:00 (America/Montevideo)" or "Always open". */
export function scheduleSummary(schedule, { withZone = true } = {}) {
  if (isAlwaysOpen(schedule)) return t('dialers.alwaysOpen');
  const weekly = schedule.weekly || [];
  const perDay = DAYS.map((day) => weekly.filter((r) => r.day === day).map((r) => `${r.start}–${r.end}`).join(', '));
  const groups = [];
  for (let i = 0; i < DAYS.length; i += 1) {
    if (!perDay[i]) continue;
    const last = groups[groups.length - 1];
    if (last && last.end === i - 1 && last.hours === perDay[i]) last.end = i;
    else groups.push({ start: i, end: i, hours: perDay[i] });
  }
  const text = groups.length === 0 ? t('dialers.neverOpen') : groups.map((g) => {
    const days = g.start === g.end ? t(`weekday.short.${DAYS[g.start]}`)
      : `${t(`weekday.short.${DAYS[g.start]}`)}–${t(`weekday.short.${DAYS[g.end]}`)}`;
    return `${days} ${g.hours}`;
  }).join(', ');
  const extra = (schedule.exceptions || []).length
    ? ` · ${t('dialers.exceptionsCount', { count: schedule.exceptions.length })}` : '';
  return withZone ? `${text} (${schedule.timeZone})${extra}` : `${text}${extra}`;
}

/** A checkbox with its label to the right, plus hint and error lines. */
export function checkField({ id, labelKey, hintKey = null, testid, checked = false }) {
  const input = h('input', { type: 'checkbox', id, checked, dataset: { testid } });
  const hintId = hintKey ? `${id}-hint` : null;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return {
    el: h('div', { class: 'field field-check' },
      h('label', { class: 'check', for: id }, input, h('span', null, t(labelKey))),
      hintKey ? h('p', { id: hintId, class: 'field-hint' }, t(hintKey)) : null),
    control: input,
  };
}

/**
 * The "Always open / Weekly hours" editor. Ids and data-testids start with `prefix`
 * (`${prefix}-schedule-weekly`, `${prefix}-start-monday`, …).
 *
 * zone: 'own' gives the editor its own time-zone field (`${prefix}-timezone`);
 * a function instead returns the zone the hours are in (e.g. the campaign's).
 */
export function scheduleEditor({ prefix, zone = 'own', hintKey = null }) {
  const alwaysRadio = h('input', { type: 'radio', name: `${prefix}-scheduleMode`, value: 'always', id: `${prefix}-schedule-always`, checked: true, dataset: { testid: `${prefix}-schedule-always` } });
  const weeklyRadio = h('input', { type: 'radio', name: `${prefix}-scheduleMode`, value: 'weekly', id: `${prefix}-schedule-weekly`, dataset: { testid: `${prefix}-schedule-weekly` } });
  const zoneField = zone === 'own' ? field({
    id: `${prefix}-timezone`, labelKey: 'dialers.timeZone', hintKey: 'dialers.timeZoneHint', testid: `${prefix}-timezone`,
    control: h('input', { type: 'text', name: 'timeZone', autocomplete: 'off', spellcheck: 'false', list: 'tz-list', value: browserTimeZone() }),
  }) : null;
  const dayRows = new Map();
  const dayBody = h('tbody', null, DAYS.map((day) => {
    const on = h('input', { type: 'checkbox', id: `${prefix}-day-${day}`, checked: WEEKDAYS.includes(day), dataset: { testid: `${prefix}-day-${day}` } });
    const start = h('input', { type: 'time', value: '08:00', step: '60', 'aria-label': t('dialers.startOf', { day: t(`weekday.${day}`) }), dataset: { testid: `${prefix}-start-${day}` } });
    const end = h('input', { type: 'time', value: '20:00', step: '60', 'aria-label': t('dialers.endOf', { day: t(`weekday.${day}`) }), dataset: { testid: `${prefix}-end-${day}` } });
    const error = h('span', { class: 'field-error', dataset: { testid: `${prefix}-day-error-${day}` } });
    const sync = () => { start.disabled = !on.checked; end.disabled = !on.checked; };
    on.addEventListener('change', () => { sync(); error.textContent = ''; });
    start.addEventListener('input', () => { error.textContent = ''; });
    end.addEventListener('input', () => { error.textContent = ''; });
    sync();
    dayRows.set(day, { on, start, end, error, sync });
    return h('tr', { dataset: { day } },
      h('td', null, h('label', { class: 'check', for: on.id }, on, h('span', null, t(`weekday.${day}`)))),
      h('td', null, start),
      h('td', null, end),
      h('td', null, error));
  }));
  const copyBtn = h('button', { type: 'button', class: 'btn btn-small', dataset: { testid: `${prefix}-copy-monday` } }, t('dialers.copyMonday'));
  const note = h('p', { class: 'notice notice-info', dataset: { testid: `${prefix}-schedule-note` } });
  const error = h('p', { class: 'field-error', role: 'alert', dataset: { testid: `${prefix}-schedule-error` } });
  const weeklyArea = h('div', { class: 'schedule-weekly', hidden: true, dataset: { testid: `${prefix}-schedule-area` } },
    zoneField ? h('div', { class: 'form-grid' }, zoneField.el) : null,
    h('table', { class: 'table table-compact schedule-table' },
      h('caption', { class: 'visually-hidden' }, t('dialers.weeklyHours')),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('dialers.day')),
        h('th', { scope: 'col' }, t('dialers.start')),
        h('th', { scope: 'col' }, t('dialers.end')),
        h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, t('dialers.problems'))))),
      dayBody),
    h('p', { class: 'field-hint' }, t('dialers.endMidnightHint')),
    h('div', { class: 'form-actions' }, copyBtn),
    note);
  const el = h('fieldset', { class: 'form-section', dataset: { testid: `${prefix}-schedule` } },
    h('legend', null, t('dialers.schedule')),
    hintKey ? h('p', { class: 'field-hint' }, t(hintKey)) : null,
    h('div', { class: 'radio-row', role: 'radiogroup', 'aria-label': t('dialers.schedule') },
      h('label', { class: 'check', for: alwaysRadio.id }, alwaysRadio, h('span', null, t('dialers.scheduleAlways'))),
      h('label', { class: 'check', for: weeklyRadio.id }, weeklyRadio, h('span', null, t('dialers.scheduleWeekly')))),
    weeklyArea, error);

  let keptExceptions = [];

  function syncMode() {
    weeklyArea.hidden = !weeklyRadio.checked;
  }
  alwaysRadio.addEventListener('change', syncMode);
  weeklyRadio.addEventListener('change', syncMode);

  copyBtn.addEventListener('click', () => {
    const mon = dayRows.get('monday');
    for (const [day, r] of dayRows) {
      if (day === 'monday' || !r.on.checked) continue;
      r.start.value = mon.start.value;
      r.end.value = mon.end.value;
    }
  });

  /** Fills the day rows; true when some day had several ranges (only the first is shown). */
  function setDays(schedule) {
    const weekly = (schedule && schedule.weekly) || [];
    let multi = false;
    for (const [day, r] of dayRows) {
      const ranges = weekly.filter((x) => x.day === day);
      if (ranges.length > 1) multi = true;
      r.on.checked = ranges.length > 0;
      r.start.value = ranges.length ? ranges[0].start : '08:00';
      r.end.value = ranges.length ? (ranges[0].end === '24:00' ? '00:00' : ranges[0].end) : '20:00';
      r.error.textContent = '';
      r.sync();
    }
    return multi;
  }

  function clearErrors() {
    if (zoneField) zoneField.setError('');
    error.textContent = '';
    for (const r of dayRows.values()) r.error.textContent = '';
  }

  function reset() {
    clearErrors();
    alwaysRadio.checked = true;
    if (zoneField) zoneField.control.value = browserTimeZone();
    keptExceptions = [];
    note.textContent = '';
    setDays({ weekly: WEEKDAYS.map((day) => ({ day, start: '08:00', end: '20:00' })) });
    syncMode();
  }

  /** Shows a stored schedule (null or always-open: "Always open"). */
  function load(schedule) {
    clearErrors();
    const always = isAlwaysOpen(schedule);
    alwaysRadio.checked = always;
    weeklyRadio.checked = !always;
    keptExceptions = (!always && schedule && schedule.exceptions) || [];
    if (zoneField) zoneField.control.value = (!always && schedule && schedule.timeZone) || browserTimeZone();
    const multi = setDays(always ? null : schedule);
    if (always) setDays({ weekly: WEEKDAYS.map((day) => ({ day, start: '08:00', end: '20:00' })) });
    const notes = [];
    if (keptExceptions.length) notes.push(t('dialers.exceptionsKept', { count: keptExceptions.length }));
    if (multi) notes.push(t('dialers.multiRangeNote'));
    note.textContent = notes.join(' ');
    syncMode();
  }

  /** { ok: false } with the problems marked; { ok: true, schedule: null } for always open; else the weekly schedule. */
  function collect() {
    if (alwaysRadio.checked) return { ok: true, schedule: null };
    let ok = true;
    const tz = zoneField ? zoneField.control.value.trim() : zone();
    if (zoneField && !validTimeZone(tz)) {
      zoneField.setError(t('dialers.timeZoneInvalid', { zone: tz }));
      ok = false;
    }
    const weekly = [];
    for (const [day, r] of dayRows) {
      if (!r.on.checked) continue;
      const start = minutes(r.start.value);
      let end = minutes(r.end.value);
      if (end === 0) end = 24 * 60; // end 00:00 = midnight at the end of the day
      if (start === null || end === null) {
        r.error.textContent = t('dialers.timeRequired');
        ok = false;
      } else if (start >= end) {
        r.error.textContent = t('dialers.endBeforeStart');
        ok = false;
      } else {
        weekly.push({ day, start: r.start.value, end: end === 24 * 60 ? '24:00' : r.end.value });
      }
    }
    if (ok && weekly.length === 0) {
      error.textContent = t('dialers.noDays');
      ok = false;
    }
    return ok ? { ok: true, schedule: { timeZone: tz, weekly, exceptions: keptExceptions } } : { ok: false };
  }

  /** Moves focus to the first problem collect() marked. */
  function focusProblem() {
    const bad = weeklyArea.querySelector('[aria-invalid="true"]');
    if (bad) { focusEl(bad); return; }
    const row = [...dayRows.values()].find((r) => r.error.textContent);
    focusEl(row ? row.start : weeklyRadio);
  }

  syncMode();
  return {
    el,
    zoneField,
    reset,
    load,
    collect,
    clearErrors,
    focusProblem,
    setError(text) { error.textContent = text || ''; },
  };
}
