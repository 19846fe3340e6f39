// The widget page: loads the organization's settings, keeps the end-user's contact session,
// lists and opens their conversations, sends messages and applies the live event stream. It
// talks to the embedding page only through `resize` and `close` messages.

import { ApiError, browserMetadata, sessionStore, tellEmbedder, widgetApi } from './api.js';
import { openEventStream } from './sse.js';
import { chatView, composer, homeView, messageItem, poweredBy, streamingItem } from './views.js';
import { startCall } from './voice.js';

const org = new URLSearchParams(location.search).get('organizationId') || '';
const api = widgetApi(org);
const store = sessionStore(org);
const $ = (id) => document.getElementById(id);
const panel = $('panel');

const state = {
  settings: null,
  session: null, // {contactSessionId, token, expiresAt, name}
  conversations: [],
  unread: new Set(),
  current: null, // the open conversation
  messages: [],
  view: 'home',
  busy: false,
  formError: '',
  notice: '',
  pendingText: null, // a suggestion picked before the session existed
  pendingCall: false,
  call: null, // null | 'connecting' | 'active'
  callError: '',
};
let stream = null;
let activeCall = null;

/** The home view asks for its natural height (within bounds), a chat for a roomy fixed one. */
function requestSize() {
  const main = $('main');
  const content = main.firstElementChild;
  const padding = parseFloat(getComputedStyle(main).paddingTop) + parseFloat(getComputedStyle(main).paddingBottom);
  const chrome = panel.querySelector('.top').offsetHeight + $('bottom').offsetHeight + padding;
  const wanted = state.view === 'chat' ? 600 : chrome + (content ? content.scrollHeight : 0) + 2;
  tellEmbedder('resize', { height: Math.max(360, Math.min(640, wanted)) });
}

function render() {
  const main = $('main');
  const bottom = $('bottom');
  $('back').hidden = state.view !== 'chat';
  if (state.view === 'chat') {
    main.replaceChildren(chatView(state));
    if (!bottom.querySelector('#composer-form')) bottom.replaceChildren(composer(state, actions));
    syncComposer();
    main.scrollTop = main.scrollHeight;
  } else {
    main.replaceChildren(homeView(state, actions));
    bottom.replaceChildren(poweredBy());
  }
  requestSize();
}

function syncComposer() {
  const resolved = state.current?.status === 'resolved';
  for (const id of ['composer', 'send']) $(id).disabled = resolved;
}

function applySettings(settings) {
  state.settings = settings;
  const { primaryColor, mode } = settings.theme;
  document.documentElement.style.setProperty('--primary', primaryColor);
  document.documentElement.style.setProperty('--on-primary', readableOn(primaryColor));
  document.documentElement.dataset.mode = mode;
}

function readableOn(hex) {
  let h = hex.slice(1);
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 160 ? '#111827' : '#ffffff';
}

function setLive(live) {
  panel.dataset.live = String(live);
  $('live-dot').classList.toggle('on', live);
}

/** A 401 anywhere means the session is gone (expired or revoked): forget it, ask again. */
function dropSession() {
  stream?.close();
  stream = null;
  store.clear();
  Object.assign(state, { session: null, conversations: [], current: null, messages: [], view: 'home' });
  state.unread.clear();
  state.notice = 'Your session has ended. Tell us who you are to continue.';
  setLive(false);
  render();
}

async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && state.session) dropSession();
    else throw error;
  }
}

function upsertConversation(conversation) {
  const at = state.conversations.findIndex((c) => c.id === conversation.id);
  if (at >= 0) state.conversations[at] = conversation;
  else state.conversations.unshift(conversation);
  if (state.current?.id === conversation.id) state.current = conversation;
}

function addMessage(message) {
  if (state.current?.id !== message.conversationId) {
    if (message.role !== 'user') state.unread.add(message.conversationId);
    if (state.view === 'home') render();
    return;
  }
  if (state.messages.some((m) => m.id === message.id)) return;
  state.messages.push(message);
  const list = $('messages');
  if (!list) return;
  // A finished answer takes the place of its streaming text (or of one that was given up).
  for (const streaming of list.querySelectorAll('.streaming')) streaming.remove();
  list.append(messageItem(message));
  $('main').scrollTop = $('main').scrollHeight;
}

/** The next piece of an answer being written: shown as it comes, in order. A new answer
 *  replaces one left unfinished (the assistant started over with a newer message). */
function addDelta(delta) {
  const list = $('messages');
  if (state.current?.id !== delta.conversationId || !list) return;
  if (state.messages.some((m) => m.id === delta.messageId)) return;
  let item = list.querySelector(`.streaming[data-id="${CSS.escape(delta.messageId)}"]`);
  if (!item) {
    if (delta.seq !== 0) return;
    for (const stale of list.querySelectorAll('.streaming')) stale.remove();
    item = streamingItem(delta.messageId);
    item.dataset.seq = '-1';
    list.append(item);
  }
  if (Number(item.dataset.seq) + 1 !== delta.seq) return;
  item.dataset.seq = String(delta.seq);
  item.querySelector('.text').append(delta.text);
  $('main').scrollTop = $('main').scrollHeight;
}

function onEvent({ type, data, id }) {
  // Says (to people and tests) how far the stream got.
  if (id !== null) panel.dataset.lastEventId = id;
  let payload;
  try {
    payload = JSON.parse(data);
  } catch {
    return;
  }
  if (type === 'message.created') addMessage(payload);
  else if (type === 'message.delta') addDelta(payload);
  else if (type === 'conversation.created' || type === 'conversation.updated') {
    upsertConversation(payload);
    if (state.view === 'home' || state.current?.id === payload.id) render();
  } else if (type === 'settings.updated') {
    applySettings(payload);
    render();
  }
}

function connect() {
  stream?.close();
  stream = openEventStream({
    url: api.eventsUrl,
    token: () => state.session?.token,
    onEvent,
    // Whatever the server could not replay is caught up by reading the open conversation.
    onOpen: () => state.current && openConversation(state.current.id, { quiet: true }).catch(() => {}),
    onUnauthorized: dropSession,
    onState: (s) => setLive(s === 'live'),
  });
}

async function loadConversations() {
  const page = await guarded(() => api.conversations(state.session.token));
  if (page) state.conversations = page.items;
}

function merged(fetched, live) {
  const byId = new Map(fetched.map((m) => [m.id, m]));
  for (const m of live) if (!byId.has(m.id)) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

async function openConversation(id, { quiet = false } = {}) {
  const page = await guarded(() => api.messages(state.session.token, id));
  if (!page) return;
  const same = state.current?.id === id;
  state.current = state.conversations.find((c) => c.id === id) || state.current;
  // Events may have arrived while the transcript was read: keep them.
  state.messages = same ? merged(page.items, state.messages) : page.items;
  state.unread.delete(id);
  if (!quiet || state.view === 'chat') {
    state.view = 'chat';
    render();
  }
}

async function newConversation(firstText) {
  const conversation = await guarded(() => api.startConversation(state.session.token));
  if (!conversation) return;
  upsertConversation(conversation);
  state.current = conversation;
  state.messages = [];
  state.view = 'chat';
  render();
  if (firstText) await actions.send(firstText);
  else $('composer')?.focus();
}

async function runCall() {
  const { settings, session } = state;
  state.call = 'connecting';
  state.callError = '';
  render();
  try {
    activeCall = await startCall({
      sdkUrl: document.querySelector('meta[name="assist-vapi-sdk"]').content,
      publicKey: settings.vapiPublicKey,
      assistantId: settings.assistantId,
      contactSessionId: session.contactSessionId,
      on: {
        start: () => {
          state.call = 'active';
          render();
        },
        end: (error) => {
          activeCall = null;
          state.call = null;
          state.callError = error ? `The call ended: ${error}` : '';
          render();
        },
      },
    });
  } catch (error) {
    state.call = null;
    state.callError = `The call could not start: ${error.message || error}`;
    render();
  }
}

const actions = {
  async startSession(name, email) {
    if (!name || !email) {
      state.formError = 'Please give your name and email.';
      return render();
    }
    Object.assign(state, { busy: true, formError: '' });
    render();
    try {
      const created = await api.createSession(name, email, browserMetadata());
      state.session = { ...created, name };
      store.save(state.session);
      state.notice = '';
      connect();
      await loadConversations();
    } catch (error) {
      Object.assign(state, { busy: false, formError: error.message });
      return render();
    }
    state.busy = false;
    if (state.pendingCall) {
      state.pendingCall = false;
      render();
      return runCall();
    }
    const text = state.pendingText;
    state.pendingText = null;
    await newConversation(text);
  },
  suggest(text) {
    if (state.session) return newConversation(text);
    state.pendingText = text;
    state.notice = `Tell us who you are and we will send “${text}” right away.`;
    render();
    document.querySelector('#start input[name="name"]')?.focus();
  },
  newConversation: () => newConversation(null),
  open: (id) => openConversation(id),
  async send(text) {
    const input = $('composer');
    const conversation = state.current;
    if (input) input.value = '';
    try {
      const message = await guarded(() => api.send(state.session.token, conversation.id, text));
      if (message) addMessage(message);
    } catch (error) {
      if (input && !input.value) input.value = text;
      const note = $('main').querySelector('.view');
      note?.append(Object.assign(document.createElement('p'), { className: 'error', textContent: error.message }));
    }
  },
  startCall() {
    if (state.session) return runCall();
    state.pendingCall = true;
    state.notice = 'Tell us who you are and we will start the call.';
    render();
  },
  endCall() {
    activeCall?.stop();
  },
};

$('close').addEventListener('click', () => tellEmbedder('close'));
$('back').addEventListener('click', async () => {
  state.view = 'home';
  state.current = null;
  state.messages = [];
  render();
  await loadConversations().catch(() => {});
  if (state.view === 'home') render();
});
document.addEventListener('keydown', (event) => event.key === 'Escape' && tellEmbedder('close'));

function fail(message) {
  $('main').replaceChildren(Object.assign(document.createElement('p'), { className: 'note', textContent: message }));
  panel.dataset.state = 'failed';
  requestSize();
}

/** The stored session is used only after the server confirms it; a 401 drops it. */
async function restoreSession() {
  const stored = await store.load();
  if (!stored?.token) return;
  try {
    const current = await api.currentSession(stored.token);
    state.session = { ...stored, expiresAt: current.expiresAt, name: current.name };
    store.save(state.session);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) store.clear();
    else state.session = stored;
  }
}

async function start() {
  if (!org) return fail('This chat was loaded without an organization id.');
  try {
    applySettings(await api.settings());
  } catch (error) {
    return fail(error.status === 404 ? 'This chat is not available.' : 'The chat could not load. Please try again later.');
  }
  await restoreSession();
  if (state.session) {
    connect();
    await loadConversations().catch(() => {});
  }
  panel.dataset.state = 'ready';
  panel.dataset.sessionStorage = store.where;
  render();
}

start();
