// The dashboard routes of one organization, called with the operator's bearer token. Errors
// carry the API's status, code and message (which names the field at fault).

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Whether a route this console uses is missing on this server (an older assist: 404 "no route
 * for …") or switched off (503, e.g. no AI provider configured): pages say so and carry on.
 */
export function notOffered(error) {
  if (!(error instanceof ApiError)) return false;
  return error.status === 503 || (error.status === 404 && /^no route for /.test(error.message));
}

async function parse(response) {
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(response.status, error?.code ?? 'unknown', error?.message ?? `HTTP ${response.status}`);
  }
  return data;
}

/** `token()` resolves to the current bearer token (Clerk refreshes its session tokens). */
export function dashboardApi(org, token) {
  const base = `/v1/orgs/${encodeURIComponent(org)}`;
  const id = encodeURIComponent;

  async function call(method, path, body) {
    const headers = { Accept: 'application/json', Authorization: `Bearer ${await token()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    return parse(response);
  }

  /** Multipart upload through XHR, the one browser API that reports upload progress. */
  async function upload(path, file, onProgress) {
    const bearer = await token();
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `${base}${path}`);
      xhr.setRequestHeader('Authorization', `Bearer ${bearer}`);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onerror = () => reject(new ApiError(0, 'network', 'the upload could not reach the server'));
      xhr.onload = () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else reject(new ApiError(xhr.status, data?.error?.code ?? 'unknown', data?.error?.message ?? `HTTP ${xhr.status}`));
      };
      const form = new FormData();
      form.append('file', file);
      xhr.send(form);
    });
  }

  const query = (params) => {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
    return q.size ? `?${q}` : '';
  };

  return {
    org,
    organization: () => call('GET', ''),
    conversations: (params = {}) => call('GET', `/conversations${query(params)}`),
    conversation: (cid) => call('GET', `/conversations/${id(cid)}`),
    patchConversation: (cid, change) => call('PATCH', `/conversations/${id(cid)}`, change),
    messages: (cid) => call('GET', `/conversations/${id(cid)}/messages`),
    reply: (cid, text) => call('POST', `/conversations/${id(cid)}/messages`, { text }),
    suggestion: (cid) => call('POST', `/conversations/${id(cid)}/suggestion`, {}),
    contactSession: (sid) => call('GET', `/contact-sessions/${id(sid)}`),
    settings: () => call('GET', '/widget-settings'),
    saveSettings: (settings) => call('PUT', '/widget-settings', settings),
    vapi: () => call('GET', '/plugins/vapi'),
    connectVapi: (keys) => call('PUT', '/plugins/vapi', keys),
    removeVapi: () => call('DELETE', '/plugins/vapi'),
    vapiAssistants: () => call('GET', '/vapi/assistants'),
    vapiPhoneNumbers: () => call('GET', '/vapi/phone-numbers'),
    agent: () => call('GET', '/agent'),
    saveAgent: (agent) => call('PUT', '/agent', agent),
    usage: () => call('GET', '/agent/usage'),
    documents: (params = {}) => call('GET', `/knowledge${query(params)}`),
    addText: (title, text) => call('POST', '/knowledge', { title, text }),
    upload: (file, onProgress) => upload('/knowledge', file, onProgress),
    removeDocument: (did) => call('DELETE', `/knowledge/${id(did)}`),
    search: (q, limit = 5) => call('POST', '/knowledge/search', { query: q, limit }),
    ticket: () => call('POST', '/events/tickets', {}),
    eventsUrl: (ticket) => `${base}/events?ticket=${encodeURIComponent(ticket)}`,
  };
}

/** `/admin/tree` with the admin token (not a Clerk session). */
export async function adminTree(adminToken) {
  const response = await fetch('/admin/tree', {
    headers: { Accept: 'application/json', Authorization: `Bearer ${adminToken}` },
    credentials: 'omit',
    cache: 'no-store',
  });
  return parse(response);
}

/** Items of a list answer, whether it is `{items}` or a bare array. */
export const items = (answer) => (Array.isArray(answer) ? answer : answer?.items ?? []);
