// The widget routes of one organization, the contact session kept for it in this browser, what
// the browser says about itself, and the messages to the embedding page. Calls carry the session in X-Contact-Session, never
// cookies: the widget lives in a third-party iframe, where cookies are unreliable anyway.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function widgetApi(org) {
  const base = `/v1/widget/${encodeURIComponent(org)}`;
  const conversation = (id) => `${base}/conversations/${encodeURIComponent(id)}`;

  async function call(method, url, { token, body } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers['X-Contact-Session'] = token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data && data.error;
      throw new ApiError(response.status, error?.code ?? 'unknown', error?.message ?? `HTTP ${response.status}`);
    }
    return data;
  }

  return {
    eventsUrl: `${base}/events`,
    settings: () => call('GET', `${base}/settings`),
    createSession: (name, email, metadata) => call('POST', `${base}/sessions`, { body: { name, email, metadata } }),
    currentSession: (token) => call('GET', `${base}/sessions/current`, { token }),
    conversations: (token) => call('GET', `${base}/conversations?limit=20`, { token }),
    startConversation: (token) => call('POST', `${base}/conversations`, { token, body: {} }),
    messages: (token, id) => call('GET', `${conversation(id)}/messages`, { token }),
    send: (token, id, text) => call('POST', `${conversation(id)}/messages`, { token, body: { text } }),
  };
}

/** Messages to the embedding page (the embed script checks they come from this frame). */
export function tellEmbedder(type, extra = {}) {
  if (window.parent !== window) window.parent.postMessage({ source: 'assist-widget', type, ...extra }, '*');
}

function ownStorage() {
  try {
    const probe = 'assist.probe';
    localStorage.setItem(probe, '1');
    localStorage.removeItem(probe);
    return localStorage;
  } catch {
    return null;
  }
}

/**
 * The contact session of one organization. Kept in the widget's own localStorage (partitioned
 * per embedding site by modern browsers); where the browser refuses storage to third-party
 * frames, the embed script keeps it in the embedding page's localStorage for us; failing both,
 * in memory for this page view. `where` says which.
 */
export function sessionStore(org) {
  const key = `assist.contactSession.${org}`;
  const parse = (raw) => {
    try {
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  };
  const own = ownStorage();
  if (own) {
    return {
      where: 'widget',
      load: async () => parse(own.getItem(key)),
      save(session) {
        try {
          own.setItem(key, JSON.stringify(session));
        } catch {
          // Storage full: the session lasts as long as this page.
        }
      },
      clear: () => own.removeItem(key),
    };
  }
  let memory = null;
  if (window.parent === window) {
    return { where: 'memory', load: async () => memory, save: (s) => (memory = s), clear: () => (memory = null) };
  }
  return {
    where: 'embedding page',
    load: () =>
      new Promise((resolve) => {
        const done = (session) => {
          clearTimeout(timer);
          removeEventListener('message', answer);
          resolve(session);
        };
        const answer = (event) => {
          const data = event.data;
          if (event.source === window.parent && data?.source === 'assist-embed' && data.type === 'session') {
            done(data.session && typeof data.session.token === 'string' ? data.session : null);
          }
        };
        // An embedder without the embed script never answers: go on without a session.
        const timer = setTimeout(() => done(memory), 1500);
        addEventListener('message', answer);
        tellEmbedder('session.load');
      }),
    save(session) {
      memory = session;
      tellEmbedder('session.save', { session });
    },
    clear() {
      memory = null;
      tellEmbedder('session.clear');
    },
  };
}

/** What the session's metadata says about the browser, within the server's bounds. The page
 *  the widget is embedded on comes from the embed script, in the frame's URL fragment. */
export function browserMetadata() {
  const page = new URLSearchParams(location.hash.slice(1));
  const cut = (value, max) => (value ? String(value).slice(0, max) : undefined);
  return {
    userAgent: cut(navigator.userAgent, 512),
    language: cut(navigator.language, 35),
    languages: (navigator.languages || []).slice(0, 20).map((l) => l.slice(0, 35)),
    platform: cut(navigator.userAgentData?.platform || navigator.platform, 64),
    vendor: cut(navigator.vendor, 64),
    screenResolution: `${screen.width}x${screen.height}`,
    viewportSize: cut(page.get('pageViewport') || `${innerWidth}x${innerHeight}`, 32),
    timezone: cut(Intl.DateTimeFormat().resolvedOptions().timeZone, 64),
    timezoneOffset: new Date().getTimezoneOffset(),
    cookieEnabled: navigator.cookieEnabled,
    referrer: cut(page.get('pageReferrer') || document.referrer, 2048),
    currentUrl: cut(page.get('pageUrl') || location.href, 2048),
  };
}
