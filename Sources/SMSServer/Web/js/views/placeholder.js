// Sections whose features are not built yet, and the "no access" page.

import { t } from '../i18n.js';
import { h, clear } from '../dom.js';
import { pageHeader } from '../components.js';

/** Heading plus a plain line saying the section is not available yet. */
export function renderUnavailable(main, titleKey) {
  clear(main).append(
    pageHeader(titleKey),
    h('p', { class: 'empty-state', dataset: { testid: 'section-unavailable' } }, t('page.unavailable')),
  );
}

/** Shown when the signed-in role may not use the requested route. */
export function renderNoAccess(main) {
  clear(main).append(
    pageHeader('page.noAccessTitle'),
    h('p', { class: 'empty-state', dataset: { testid: 'no-access' } }, t('page.noAccess')),
  );
}
