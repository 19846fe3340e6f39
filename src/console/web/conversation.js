// One conversation: the transcript (the AI's answers stream in from `message.delta` events and
// are replaced by the whole message when it is stored), each answer's sources, the contact's
// details, the reply box with a drafted reply, and the actions on the conversation.

import { ApiError, items, notOffered } from './api.js';
import { field, h, heading, unavailable, when } from './dom.js';
import { badges, contactOf, seenStore } from './inbox.js';

const ROLE = { user: 'Visitor', assistant: 'AI', operator: 'You', system: 'System' };

function sources(list) {
  if (!list?.length) return null;
  return h('div', { class: 'sources' }, h('span', { text: 'Sources: ' }),
    h('ul', {}, list.map((s) => h('li', { text: s.title || s.documentId }))));
}

function bubble(message) {
  return h('li', { class: `message role-${message.role}`, dataset: { id: message.id } },
    h('span', { class: 'author', text: ROLE[message.role] || message.role }),
    h('p', { class: 'text', text: message.text }),
    sources(message.sources),
    h('time', { datetime: message.createdAt, text: when(message.createdAt) }));
}

/** A short name for a browser's user agent; the whole string stays in the title. */
function browser(ua = '') {
  const name = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${name} on ${os}` : name;
}

function contactDetails(contact) {
  if (!contact) return h('p', { class: 'note', text: 'No contact session (a phone call, or the session was removed).' });
  const m = contact.metadata || {};
  const rows = [
    ['Name', contact.name], ['Email', contact.email],
    ['Browser', m.userAgent && browser(m.userAgent), m.userAgent],
    ['Page', m.currentUrl], ['Came from', m.referrer], ['Time zone', m.timezone],
    ['Language', m.language], ['Screen', m.screenResolution], ['Started', contact.createdAt && new Date(contact.createdAt).toLocaleString()],
  ].filter(([, value]) => value);
  return h('dl', { class: 'details' }, rows.flatMap(([k, v, title]) => [h('dt', { text: k }), h('dd', { text: v, title })]));
}

export async function render(ctx, main, id) {
  const { api, events, session, toast } = ctx;
  const seen = seenStore(session.org);
  let conversation;
  try {
    conversation = await api.conversation(id);
  } catch (error) {
    const text = error instanceof ApiError && error.status === 404 ? 'This conversation does not exist in this organization.' : error.message;
    main.replaceChildren(heading('Conversation'), h('p', { class: 'error', role: 'alert', text }), h('a', { href: '#/inbox', text: 'Back to the inbox' }));
    return null;
  }
  const transcript = h('ol', { class: 'transcript', id: 'transcript', 'aria-label': 'Transcript', 'aria-live': 'polite' });
  const streaming = new Map(); // messageId -> {pieces: [], el}
  let latest = conversation.updatedAt || conversation.createdAt;
  const markSeen = (at) => {
    if (at > latest) latest = at;
    seen.mark(conversation.id, latest);
  };

  const title = h('span', { text: 'Conversation' });
  const state = h('span', { class: 'badges' });
  const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Conversation actions' });
  const reply = h('textarea', { id: 'reply', rows: 3, maxlength: 4000, required: true });
  const draftSources = h('div', { class: 'draft-sources', 'aria-live': 'polite' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send reply');
  const draft = h('button', { type: 'button', id: 'draft' }, 'Draft a reply');
  const form = h('form', { class: 'reply', id: 'reply-form' },
    field('Reply to the visitor', reply, 'Ctrl+Enter sends.'), draftSources, h('div', { class: 'row' }, draft, send));
  const aside = h('aside', { class: 'contact', 'aria-labelledby': 'contact-title' }, h('h2', { id: 'contact-title', text: 'Contact' }));

  function drawState() {
    state.replaceChildren(...badges(conversation));
    const act = (label, change, id) => h('button', { type: 'button', id, onclick: () => patch(change) }, label);
    actions.replaceChildren(...[
      conversation.status === 'resolved'
        ? act('Reopen', { status: 'unresolved' }, 'reopen')
        : act('Resolve', { status: 'resolved' }, 'resolve'),
      conversation.status === 'escalated' ? null : act('Escalate', { status: 'escalated' }, 'escalate'),
      conversation.handler && conversation.handler !== 'ai' ? act('Hand back to the AI', { handler: 'ai' }, 'hand-back') : null,
    ].filter(Boolean));
  }

  async function patch(change) {
    try {
      conversation = { ...conversation, ...(await api.patchConversation(conversation.id, change)) };
      drawState();
      toast('Conversation updated.');
    } catch (error) {
      toast(notOffered(error) ? 'That action is not available on this server.' : error.message, 'error');
    }
  }

  function add(message) {
    if (message.conversationId && message.conversationId !== conversation.id) return;
    const piece = streaming.get(message.id);
    const el = bubble(message);
    if (piece) {
      piece.el.replaceWith(el);
      streaming.delete(message.id);
    } else if (transcript.querySelector(`[data-id="${CSS.escape(message.id)}"]`)) {
      return;
    } else {
      transcript.append(el);
    }
    el.scrollIntoView({ block: 'nearest' });
    markSeen(message.createdAt);
  }

  function delta({ conversationId, messageId, seq, text }) {
    if (conversationId !== conversation.id) return;
    let piece = streaming.get(messageId);
    if (!piece) {
      const textEl = h('p', { class: 'text' });
      const el = h('li', { class: 'message role-assistant streaming', 'aria-busy': 'true', dataset: { id: messageId } },
        h('span', { class: 'author', text: 'AI (writing…)' }), textEl);
      piece = { pieces: [], el, textEl };
      streaming.set(messageId, piece);
      transcript.append(el);
    }
    piece.pieces[seq] = text;
    piece.textEl.textContent = piece.pieces.join('');
    piece.el.scrollIntoView({ block: 'nearest' });
  }

  async function loadTranscript() {
    const page = await api.messages(conversation.id);
    transcript.replaceChildren();
    for (const message of items(page)) add(message);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = reply.value.trim();
    if (!text) return reply.focus();
    send.disabled = true;
    try {
      add(await api.reply(conversation.id, text));
      reply.value = '';
      draftSources.replaceChildren();
    } catch (error) {
      toast(`Not sent: ${error.message}`, 'error');
    } finally {
      send.disabled = false;
    }
  });
  reply.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  draft.addEventListener('click', async () => {
    draft.disabled = true;
    draftSources.replaceChildren(h('span', { class: 'note', text: 'Drafting…' }));
    try {
      const suggestion = await api.suggestion(conversation.id);
      reply.value = suggestion.text;
      draftSources.replaceChildren(sources(suggestion.sources) || '');
      reply.focus();
    } catch (error) {
      draftSources.replaceChildren(notOffered(error) ? unavailable('Drafting a reply', error) : h('p', { class: 'error', text: error.message }));
    } finally {
      draft.disabled = false;
    }
  });

  main.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/inbox', text: '← Inbox' })),
    h('div', { class: 'conversation' },
      h('section', { class: 'thread', 'aria-labelledby': 'thread-title' },
        h('header', { class: 'thread-head' }, h('div', { id: 'thread-title' }, heading(''), state), actions),
        transcript, form),
      aside));
  main.querySelector('h1').replaceChildren(title);
  drawState();
  const contact = conversation.contactSession ? Promise.resolve(conversation.contactSession) : contactOf(ctx, conversation.contactSessionId);
  contact.then((found) => {
    title.textContent = found?.name ? `Conversation with ${found.name}` : 'Conversation';
    aside.append(contactDetails(found));
  });
  await loadTranscript().catch((error) => transcript.replaceChildren(h('li', { class: 'error', text: error.message })));
  markSeen(latest);

  const off = [
    events.on('message.created', add),
    events.on('message.delta', delta),
    events.on('conversation.updated', (c) => {
      if (c.id !== conversation.id) return;
      conversation = { ...conversation, ...c };
      drawState();
    }),
    events.on('resync', () => loadTranscript().catch(() => {})),
  ];
  return () => off.forEach((f) => f());
}
