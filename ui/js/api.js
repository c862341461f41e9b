// The one place that talks to the node's HTTP API (docs/api.md).
// The session is the HttpOnly cookie; the anti-CSRF token from the login is
// kept in memory and in sessionStorage (this tab only) and sent as
// X-CSRF-Token with every POST, PUT and DELETE.

const kTokenKey = 'ncen.csrf';
let csrf_token = sessionStorage.getItem(kTokenKey);
let on_unauthenticated = () => {};

export function SetCsrfToken(token) {
  csrf_token = token;
  if (token) sessionStorage.setItem(kTokenKey, token);
  else sessionStorage.removeItem(kTokenKey);
}

export function OnUnauthenticated(callback) { on_unauthenticated = callback; }

// An error answer of the API: {error, code, field}, the status and the
// answer's headers (a 409 of PUT /api/records/{id} carries the current ETag).
export class ApiError extends Error {
  constructor(status, body, headers = null) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.field = body && body.field;
    this.body = body;
    this.headers = headers;
  }
}

// Calls the API. `body`: an object sent as JSON. Returns {data, headers};
// throws ApiError for any status but 2xx (and calls the unauthenticated
// hook on 401, except for the login itself).
export async function Call(method, path, body, options = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf_token) headers['X-CSRF-Token'] = csrf_token;
  Object.assign(headers, options.headers || {});
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  let data = null;
  const type = response.headers.get('Content-Type') || '';
  if (response.status !== 204 && type.startsWith('application/json')) data = await response.json();
  if (!response.ok) {
    if (response.status === 401 && path !== '/api/login') on_unauthenticated();
    throw new ApiError(response.status, data, response.headers);
  }
  return {data, headers: response.headers, status: response.status};
}

export const Get = (path) => Call('GET', path).then((r) => r.data);
export const Post = (path, body) => Call('POST', path, body).then((r) => r.data);

// A query string from an object, leaving out empty values.
export function Query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && String(value).trim() !== '') search.set(key, String(value).trim());
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// POSTs `blob` as the body with Content-Type `type` (a photo: POST
// /api/records/{id}/photos). XMLHttpRequest rather than fetch, for the
// upload's progress: `on_progress(fraction)` from 0 to 1. Resolves to the
// JSON answer; rejects with ApiError for any status but 2xx, or an Error
// when the node cannot be reached.
export function Upload(path, blob, type, on_progress = () => {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('Content-Type', type);
    if (csrf_token) request.setRequestHeader('X-CSRF-Token', csrf_token);
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && event.total > 0) on_progress(event.loaded / event.total);
    });
    request.addEventListener('load', () => {
      let data = null;
      if ((request.getResponseHeader('Content-Type') || '').startsWith('application/json')) {
        try { data = JSON.parse(request.responseText); } catch (error) { /* left null */ }
      }
      if (request.status >= 200 && request.status < 300) { resolve(data); return; }
      if (request.status === 401) on_unauthenticated();
      reject(new ApiError(request.status, data));
    });
    request.addEventListener('error', () => reject(new Error('the node could not be reached')));
    request.send(blob);
  });
}
