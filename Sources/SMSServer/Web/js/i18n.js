// String tables for the web UI. Every user-visible string goes through t().
// Add a language by adding a table with the same keys (e.g. `es`) to TABLES;
// missing keys fall back to English, then to the key itself.

const en = {
  'app.name': 'SMSDesk',
  'app.loading': 'Loading…',
  'app.skipToContent': 'Skip to content',
  'app.mainNav': 'Main navigation',

  'role.admin': 'Admin',
  'role.supervisor': 'Supervisor',
  'role.agent': 'Agent',

  'nav.groupAdmin': 'Administration',
  'nav.groupSupervision': 'Supervision',
  'nav.groupAgent': 'Work',
  'nav.providers': 'Providers',
  'nav.campaigns': 'Campaigns',
  'nav.dialers': 'Dialers',
  'nav.users': 'Users',
  'nav.apikeys': 'API keys',
  'nav.monitor': 'Monitor',
  'nav.dialerMonitor': 'Dialer monitor',
  'nav.search': 'Search',
  'nav.inbox': 'Inbox',

  'topbar.signedInAs': 'Signed in as',
  'topbar.logout': 'Logout',

  'login.title': 'Sign in to SMSDesk',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.submitting': 'Signing in…',
  'login.wrong': 'Wrong username or password.',
  'login.tooMany': 'Too many attempts. Try again in {seconds} seconds.',
  'login.tooManyNoTime': 'Too many attempts. Try again later.',
  'login.disabled': 'This account is disabled. Ask an administrator.',
  'login.failed': 'Sign-in failed. Please try again.',
  'login.sessionEnded': 'Your session has ended. Please sign in again.',
  'login.loggedOut': 'You have signed out.',

  'page.unavailable': 'This section is not available in this version.',
  'page.noAccess': 'You do not have access to this page.',
  'page.noAccessTitle': 'No access',

  'common.loading': 'Loading…',
  'common.save': 'Save',
  'common.cancel': 'Cancel',
  'common.confirm': 'Confirm',
  'common.dismiss': 'Dismiss',
  'common.copy': 'Copy',
  'common.copied': 'Copied.',
  'common.copyFailed': 'Copy failed; select the text and copy it by hand.',
  'common.refresh': 'Refresh',
  'common.never': 'Never',
  'common.none': '—',
  'common.actions': 'Actions',
  'common.you': '(you)',
  'common.optional': '(optional)',

  'secret.notice': 'Shown once: give it to the user now.',
  'secret.passwordFor': 'Password for {username}',
  'secret.apiKeyFor': 'API key "{name}"',
  'secret.apiKeyNotice': 'Shown once: store it in the integration now.',

  'error.generic': 'Something went wrong. Please try again.',
  'error.network': 'The server could not be reached. Check your connection and try again.',
  'error.forbidden': 'You are not allowed to do this.',
  'error.csrf': 'Your session token is out of date. Reload the page and try again.',
  'error.notFound': 'It no longer exists. Refresh the list.',

  'users.title': 'Users',
  'users.createTitle': 'Create user',
  'users.username': 'Username',
  'users.usernameHint': '3–32 characters: a–z, 0–9, dot, underscore, hyphen.',
  'users.displayName': 'Display name',
  'users.role': 'Role',
  'users.create': 'Create user',
  'users.creating': 'Creating…',
  'users.listTitle': 'All users',
  'users.colUsername': 'Username',
  'users.colDisplayName': 'Display name',
  'users.colRole': 'Role',
  'users.colStatus': 'Status',
  'users.colCreated': 'Created',
  'users.statusActive': 'Active',
  'users.statusDisabled': 'Disabled',
  'users.roleFor': 'Role for {username}',
  'users.saveRole': 'Save role',
  'users.disable': 'Disable',
  'users.enable': 'Enable',
  'users.resetPassword': 'Reset password',
  'users.endSessions': 'End sessions',
  'users.confirmReset': 'Reset the password of {username}? Their current password stops working and they are signed out.',
  'users.empty': 'No users yet.',
  'users.created': 'User {username} created.',
  'users.roleSaved': 'Role of {username} changed to {role}.',
  'users.disabled': '{username} is disabled and signed out.',
  'users.enabled': '{username} is enabled.',
  'users.passwordReset': 'Password of {username} reset; they have been signed out.',
  'users.sessionsEnded': 'All sessions of {username} ended.',
  'users.usernameTaken': 'This username is already taken.',

  'apikeys.title': 'API keys',
  'apikeys.createTitle': 'Create API key',
  'apikeys.name': 'Name',
  'apikeys.nameHint': 'What uses this key, e.g. "CRM integration".',
  'apikeys.create': 'Create key',
  'apikeys.creating': 'Creating…',
  'apikeys.listTitle': 'All keys',
  'apikeys.colName': 'Name',
  'apikeys.colPrefix': 'Prefix',
  'apikeys.colCreated': 'Created',
  'apikeys.colLastUsed': 'Last used',
  'apikeys.colRevoked': 'Revoked',
  'apikeys.active': 'Active',
  'apikeys.revoke': 'Revoke',
  'apikeys.confirmRevoke': 'Revoke "{name}"? Integrations using it stop working at once.',
  'apikeys.revoked': 'Key "{name}" revoked.',
  'apikeys.created': 'Key "{name}" created.',
  'apikeys.empty': 'No API keys yet.',

  'common.close': 'Close',

  'providers.title': 'Providers',
  'providers.readOnly': 'You can view providers; only administrators can change them.',
  'providers.listTitle': 'All providers',
  'providers.colName': 'Name',
  'providers.colType': 'Type',
  'providers.colSender': 'Sender',
  'providers.colDefault': 'Default',
  'providers.colWebhook': 'Webhook URL',
  'providers.webhookHint': 'Give this URL to the provider for incoming messages and delivery reports.',
  'providers.copyWebhookFor': 'Copy the webhook URL of {name}',
  'providers.webhookCopied': 'Webhook URL of {name} copied.',
  'providers.webhookCopyFailed': 'Copy failed; select the URL and copy it by hand.',
  'providers.default': 'Default',
  'providers.defaultFirst': 'Default (first in list)',
  'providers.defaultFirstHint': 'No provider is marked default, so the first in the list sends system notifications.',
  'providers.empty': 'No providers yet. Add one below.',
  'providers.emptyReadOnly': 'No providers yet.',
  'providers.edit': 'Edit',
  'providers.makeDefault': 'Make default',
  'providers.test': 'Test',
  'providers.delete': 'Delete',
  'providers.confirmDelete': 'Delete "{name}"? Messages can no longer be sent through it.',
  'providers.deleted': 'Provider "{name}" deleted.',
  'providers.defaultSet': '"{name}" is now the default provider.',
  'providers.createTitle': 'Add provider',
  'providers.editTitle': 'Edit provider "{name}"',
  'providers.type': 'Type',
  'providers.typeHint': 'Choose the type first; the fields it uses appear below.',
  'providers.chooseType': 'Choose a type…',
  'providers.chooseTypeFirst': 'Choose a type to see the fields it uses.',
  'providers.typeRequired': 'Choose a provider type.',
  'providers.unknownType': 'This build does not know the type {type}; choose another type to keep the provider.',
  'providers.name': 'Name',
  'providers.nameHint': 'How this provider appears in lists, e.g. "Twilio US".',
  'providers.required': '(required)',
  'providers.sectionConnection': 'Connection',
  'providers.sectionSettings': 'Settings for {type}',
  'providers.sectionLimits': 'Sending limits',
  'providers.ratePerSecond': 'Messages per second',
  'providers.ratePerSecondHint': 'Upper limit for this provider; empty: no limit.',
  'providers.maxConcurrency': 'Concurrent requests',
  'providers.maxConcurrencyHint': '1 to 1000; empty: the default.',
  'providers.notANumber': 'Enter a number.',
  'providers.notAWholeNumber': 'Enter a whole number.',
  'providers.secretStored': '•••••• (stored; leave empty to keep)',
  'providers.encoding.auto': 'Automatic',
  'providers.encoding.GSM-7': 'GSM-7',
  'providers.encoding.UCS-2': 'UCS-2 (Unicode)',
  'providers.create': 'Add provider',
  'providers.creating': 'Adding…',
  'providers.save': 'Save changes',
  'providers.saving': 'Saving…',
  'providers.cancelEdit': 'Cancel',
  'providers.created': 'Provider "{name}" added.',
  'providers.saved': 'Provider "{name}" saved.',
  'providers.nameTaken': 'A provider with this name already exists.',
  'providers.testTitle': 'Test "{name}"',
  'providers.testHint': 'Sends one message through this provider and shows its answer.',
  'providers.testDestination': 'Destination number',
  'providers.testDestinationHint': 'e.g. +14155550100; it must match the provider\'s number pattern.',
  'providers.testDestinationRequired': 'Enter the number to send to.',
  'providers.testText': 'Text',
  'providers.testTextRequired': 'Enter the text to send.',
  'providers.testTextDefault': 'SMSDesk test message',
  'providers.testSend': 'Send test',
  'providers.testSending': 'Sending…',
  'providers.testOutcome': 'Result',
  'providers.testAccepted': 'Accepted',
  'providers.testNotAccepted': 'Not accepted',
  'providers.testMessageId': 'Provider message id',
  'providers.testErrorKind': 'Error kind',
  'providers.testErrorCode': 'Error code',
  'providers.testErrorText': 'Error text',
  'providers.errorRetryable': 'Retryable (temporary; sending would be tried again)',
  'providers.errorPermanent': 'Permanent (sending would not be tried again)',
  'providers.errorOther': '{kind}',
  'providers.testRaw': 'Raw answer',
  'providers.testNoRaw': 'The provider sent no answer.',
};

const TABLES = { en };

function pickLanguage() {
  const wanted = (typeof navigator !== 'undefined' && (navigator.languages || [navigator.language])) || [];
  for (const tag of wanted) {
    if (!tag) continue;
    const base = String(tag).toLowerCase().split('-')[0];
    if (TABLES[base]) return base;
  }
  return 'en';
}

export const lang = pickLanguage();

/** Locale used for dates and numbers: the browser's own, so formats match the user. */
export const locale = (typeof navigator !== 'undefined' && navigator.language) || 'en';

/**
 * Translate `key`, replacing `{name}` placeholders with values from `params`.
 */
export function t(key, params) {
  const table = TABLES[lang] || en;
  let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key]
    : Object.prototype.hasOwnProperty.call(en, key) ? en[key] : key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m);
  }
  return s;
}

/** Fill elements marked with data-i18n (text) and data-i18n-<attr> (attributes). */
export function translateDom(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) {
    el.setAttribute('title', t(el.dataset.i18nTitle));
  }
}
