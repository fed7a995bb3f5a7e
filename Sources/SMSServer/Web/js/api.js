// All access to the JSON API goes through this module.
//
// - JSON in and out, cookies sent with `credentials: 'same-origin'`.
// - Every non-GET request carries `X-CSRF-Token`; the token lives only in memory
//   (taken from the login response or GET /api/v1/me).
// - Failures throw an ApiError carrying status, code, message, field, retryAfter.
// - A 401 on any call except login and the initial session probe calls the
//   handler registered with onUnauthorized() (the app shows the login view).

const BASE = '/api/v1';

let csrfToken = null;
let unauthorizedHandler = null;

export class ApiError extends Error {
  constructor({ status = 0, code = 'unknown', message = '', field = null, retryAfter = null } = {}) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

export function setCsrfToken(token) {
  csrfToken = token || null;
}

export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

async function parseError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  const e = (body && body.error) || {};
  let retryAfter = Number.isFinite(e.retryAfter) ? e.retryAfter : null;
  if (retryAfter === null) {
    const header = response.headers.get('Retry-After');
    const n = header !== null ? parseInt(header, 10) : NaN;
    if (Number.isFinite(n)) retryAfter = n;
  }
  return new ApiError({
    status: response.status,
    code: typeof e.code === 'string' ? e.code : `http_${response.status}`,
    message: typeof e.message === 'string' ? e.message : response.statusText,
    field: typeof e.field === 'string' ? e.field : null,
    retryAfter,
  });
}

/**
 * request('GET', '/users') → parsed JSON body (or null for 204).
 * options.handle401 = false keeps a 401 from triggering the global handler.
 */
export async function request(method, path, body, options = {}) {
  const { handle401 = true, retryCsrf = true } = options;
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
    headers['X-CSRF-Token'] = csrfToken;
  }

  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (err) {
    throw new ApiError({ status: 0, code: 'network', message: String(err && err.message || err) });
  }

  if (response.ok) {
    if (response.status === 204) return null;
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (_) {
      throw new ApiError({ status: response.status, code: 'bad_response', message: 'Invalid JSON from server' });
    }
  }

  const error = await parseError(response);

  // The in-memory token may be stale (e.g. the session was renewed in another
  // tab). Refresh it once from /me and retry the request.
  if (error.status === 403 && error.code === 'csrf' && retryCsrf && method !== 'GET') {
    try {
      const me = await request('GET', '/me', undefined, { handle401 });
      if (me && me.csrfToken) {
        setCsrfToken(me.csrfToken);
        return request(method, path, body, { handle401, retryCsrf: false });
      }
    } catch (_) {
      // fall through to the original error
    }
  }

  if (error.status === 401 && handle401 && unauthorizedHandler) {
    setCsrfToken(null);
    unauthorizedHandler(error);
  }
  throw error;
}

// ---- Endpoints -------------------------------------------------------------

export const api = {
  /** Current session, or throws ApiError with status 401. */
  async me() {
    const r = await request('GET', '/me', undefined, { handle401: false });
    setCsrfToken(r.csrfToken);
    return r;
  },
  async login(username, password) {
    const r = await request('POST', '/auth/login', { username, password }, { handle401: false, retryCsrf: false });
    setCsrfToken(r.csrfToken);
    return r;
  },
  /** Saves the signed-in user's language and time zone (null: the browser's); returns { user }. */
  setPreferences: (prefs) => request('PUT', '/me/preferences', prefs),
  async logout() {
    try {
      await request('POST', '/auth/logout', undefined, { handle401: false });
    } finally {
      setCsrfToken(null);
    }
  },

  listUsers: () => request('GET', '/users'),
  createUser: (fields) => request('POST', '/users', fields),
  updateUser: (id, fields) => request('PATCH', `/users/${encodeURIComponent(id)}`, fields),
  resetPassword: (id) => request('POST', `/users/${encodeURIComponent(id)}/password`),
  endSessions: (id) => request('POST', `/users/${encodeURIComponent(id)}/sessions/end`),

  listApiKeys: () => request('GET', '/apikeys'),
  createApiKey: (name) => request('POST', '/apikeys', { name }),
  revokeApiKey: (id) => request('DELETE', `/apikeys/${encodeURIComponent(id)}`),
};
