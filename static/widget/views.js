// Builds the widget's views as DOM nodes. Every text that comes from an end-user, an operator
// or the settings is set as textContent, never parsed as HTML.

/** h('button', {class: 'x', onclick: f, type: 'button'}, 'text', child, …) */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const ROLE_LABEL = { user: 'You', operator: 'Support team', assistant: 'Assistant', system: '' };
const STATUS_LABEL = { unresolved: 'Open', escalated: 'With our team', resolved: 'Resolved' };
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function formatted(format, iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : format.format(date);
}

function welcome(settings) {
  return h('p', { class: 'welcome' }, settings.welcomeMessage);
}

function suggestions(settings, actions) {
  if (!settings.suggestions?.length) return null;
  return h(
    'div',
    { class: 'suggestions', role: 'list' },
    settings.suggestions.map((text) =>
      h('button', { type: 'button', class: 'suggestion', role: 'listitem', onclick: () => actions.suggest(text) }, text),
    ),
  );
}

function startForm(state, actions) {
  const submit = (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    actions.startSession(form.elements.name.value.trim(), form.elements.email.value.trim());
  };
  return h(
    'form',
    { id: 'start', class: 'card', onsubmit: submit, novalidate: true },
    h('h2', {}, 'Start a conversation'),
    h('p', { class: 'hint' }, state.notice || 'Tell us who you are so we can get back to you.'),
    h('label', {}, 'Name', h('input', { name: 'name', autocomplete: 'name', maxlength: '100', required: true })),
    h('label', {}, 'Email', h('input', { name: 'email', type: 'email', autocomplete: 'email', maxlength: '254', required: true })),
    h('p', { class: 'error', role: 'alert' }, state.formError || ''),
    h('button', { type: 'submit', class: 'primary', disabled: state.busy }, state.busy ? 'Starting…' : 'Start chat'),
  );
}

function conversationList(state, actions) {
  const items = state.conversations.map((c) =>
    h(
      'li',
      {},
      h(
        'button',
        { type: 'button', class: 'conversation-item', 'data-id': c.id, onclick: () => actions.open(c.id) },
        h('span', { class: 'what' }, c.channel === 'voice' ? 'Voice call' : 'Chat', state.unread.has(c.id) ? h('span', { class: 'unread', 'aria-label': 'new reply' }) : null),
        h('span', { class: 'when' }, formatted(dateTime, c.createdAt)),
        h('span', { class: `pill ${c.status}` }, STATUS_LABEL[c.status] || c.status),
      ),
    ),
  );
  return h(
    'section',
    { class: 'card' },
    h('p', { class: 'greet' }, state.session.name ? `Welcome back, ${state.session.name}.` : 'Welcome back.'),
    h('button', { type: 'button', id: 'new-conversation', class: 'primary', disabled: state.busy, onclick: actions.newConversation }, 'New conversation'),
    items.length ? h('h3', {}, 'Your conversations') : null,
    items.length ? h('ul', { class: 'conversations' }, items) : null,
  );
}

function contactActions(state, actions) {
  const { settings, call } = state;
  const voice = settings.voiceEnabled
    ? h(
        'button',
        { type: 'button', id: 'voice', class: call ? 'secondary danger' : 'secondary', disabled: call === 'connecting', onclick: call ? actions.endCall : actions.startCall },
        call === 'connecting' ? 'Connecting…' : call ? 'End call' : 'Start voice call',
      )
    : null;
  const phone = settings.phoneNumber
    ? h('a', { id: 'call-us', class: 'secondary', href: `tel:${settings.phoneNumber}` }, `Call us · ${settings.phoneNumber}`)
    : null;
  if (!voice && !phone && !state.callError) return null;
  return h('div', { class: 'actions' }, voice, phone, state.callError ? h('p', { class: 'error' }, state.callError) : null);
}

/** The start page: welcome, suggestions, then the form or the end-user's conversations. */
export function homeView(state, actions) {
  return h(
    'div',
    { class: 'view home' },
    welcome(state.settings),
    suggestions(state.settings, actions),
    state.session ? conversationList(state, actions) : startForm(state, actions),
    contactActions(state, actions),
  );
}

export function messageItem(message) {
  const sources = message.sources?.length
    ? h('p', { class: 'sources' }, 'Sources: ', message.sources.map((s) => s.title).join(' · '))
    : null;
  return h(
    'li',
    { class: `message ${message.role}`, 'data-id': message.id },
    ROLE_LABEL[message.role] ? h('span', { class: 'who' }, ROLE_LABEL[message.role]) : null,
    h('p', { class: 'text' }, message.text),
    sources,
    h('time', { datetime: message.createdAt }, formatted(time, message.createdAt)),
  );
}

/** An answer as the assistant writes it; replaced by the message once it is complete. */
export function streamingItem(messageId) {
  return h(
    'li',
    { class: 'message assistant streaming', 'data-id': messageId, 'aria-live': 'polite', 'aria-busy': 'true' },
    h('span', { class: 'who' }, ROLE_LABEL.assistant),
    h('p', { class: 'text' }),
  );
}

/** One conversation's transcript, opened by the organization's welcome message. */
export function chatView(state) {
  const list = h(
    'ol',
    { class: 'messages', id: 'messages' },
    h('li', { class: 'message assistant greeting' }, h('p', { class: 'text' }, state.settings.welcomeMessage)),
    state.messages.map(messageItem),
  );
  const resolved = state.current?.status === 'resolved';
  return h(
    'div',
    { class: 'view chat' },
    list,
    resolved ? h('p', { class: 'note' }, 'This conversation is resolved. Start a new one from your conversations.') : null,
  );
}

export function composer(state, actions) {
  const resolved = state.current?.status === 'resolved';
  const send = (event) => {
    event.preventDefault();
    const input = event.currentTarget.elements.text;
    if (input.value.trim()) actions.send(input.value);
  };
  const keys = (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      event.currentTarget.form.requestSubmit();
    }
  };
  return h(
    'form',
    { class: 'composer', id: 'composer-form', onsubmit: send },
    h('textarea', { id: 'composer', name: 'text', rows: '1', maxlength: '4000', placeholder: resolved ? 'This conversation is resolved' : 'Write a message…', 'aria-label': 'Message', disabled: resolved, onkeydown: keys }),
    h('button', { type: 'submit', id: 'send', class: 'primary', 'aria-label': 'Send', disabled: resolved }, 'Send'),
  );
}

export function poweredBy() {
  return h('p', { class: 'powered' }, 'Powered by assist');
}
