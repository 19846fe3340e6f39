// The inbox: the organization's conversations, newest first, filtered by status (asked of the
// server) and by handler (applied here), kept current by the live updates. Conversations with
// activity the operator has not opened yet, and those waiting for a person, stand out.

import { ApiError, items } from './api.js';
import { h, heading, when } from './dom.js';

const PAGE = 30;
const filters = { status: '', handler: '' };

/** Per organization, when each conversation was last opened here (so unread survives reloads). */
export function seenStore(org) {
  const key = `assist.console.seen.${org}`;
  const read = () => {
    try {
      return JSON.parse(localStorage.getItem(key) || '{}');
    } catch {
      return {};
    }
  };
  return {
    at: (id) => read()[id] || '',
    mark(id, at = new Date().toISOString()) {
      const all = read();
      if ((all[id] || '') >= at) return;
      all[id] = at;
      try {
        localStorage.setItem(key, JSON.stringify(all));
      } catch {
        // Storage full or refused: unread marks then last for this page view only.
      }
    },
  };
}

/** The contact session of a conversation, read once per console session. */
export function contactOf(ctx, id) {
  if (!id) return Promise.resolve(null);
  if (!ctx.contacts.has(id)) ctx.contacts.set(id, ctx.api.contactSession(id).catch(() => null));
  return ctx.contacts.get(id);
}

export function badges(conversation) {
  const list = [h('span', { class: `badge status-${conversation.status}`, text: conversation.status })];
  if (conversation.handler) {
    const label = conversation.handler === 'waiting' ? 'waiting for a person' : `handled by ${conversation.handler === 'ai' ? 'AI' : 'a person'}`;
    list.push(h('span', { class: `badge handler-${conversation.handler}`, text: label }));
  }
  if (conversation.channel === 'voice') list.push(h('span', { class: 'badge', text: 'voice' }));
  return list;
}

export async function render(ctx, main) {
  const { api, events, session } = ctx;
  const seen = seenStore(session.org);
  const activity = new Map(); // id -> {at, text}: what the live updates told since loading
  let conversations = [];
  let cursor = null;

  const status = h('select', { id: 'filter-status', onchange: () => { filters.status = status.value; load(); } },
    ['', 'unresolved', 'escalated', 'resolved'].map((v) => h('option', { value: v, text: v || 'Any status', selected: v === filters.status })));
  const handler = h('select', { id: 'filter-handler', onchange: () => { filters.handler = handler.value; draw(); } },
    ['', 'ai', 'waiting', 'human'].map((v) => h('option', {
      value: v, selected: v === filters.handler,
      text: { '': 'Any handler', ai: 'AI', waiting: 'Waiting for a person', human: 'A person' }[v],
    })));
  const list = h('ul', { class: 'inbox', id: 'inbox', 'aria-label': 'Conversations' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(cursor) }, 'Load more');
  const note = h('p', { class: 'note', role: 'status' });
  main.replaceChildren(heading('Inbox'),
    h('div', { class: 'filters', role: 'group', 'aria-label': 'Filters' },
      h('label', { for: status.id, text: 'Status' }), status,
      h('label', { for: handler.id, text: 'Handler' }), handler),
    note, list, more);

  const lastActivity = (c) => activity.get(c.id)?.at || c.updatedAt || c.createdAt;
  const unread = (c) => lastActivity(c) > seen.at(c.id);
  const shown = (c) => (!filters.status || c.status === filters.status) && (!filters.handler || c.handler === filters.handler);

  function item(c) {
    const name = h('span', { class: 'name', text: c.channel === 'voice' ? 'Caller' : 'Visitor' });
    contactOf(ctx, c.contactSessionId).then((contact) => {
      if (contact?.name) name.textContent = contact.name;
    });
    const isUnread = unread(c);
    const preview = activity.get(c.id)?.text;
    return h('li', {},
      h('a', {
        href: `#/conversations/${encodeURIComponent(c.id)}`, class: 'item',
        dataset: { id: c.id, unread: String(isUnread), handler: c.handler || '', status: c.status },
      },
      h('span', { class: 'line' }, isUnread ? h('span', { class: 'dot', 'aria-label': 'unread', role: 'img' }) : null, name,
        h('time', { datetime: lastActivity(c), text: when(lastActivity(c)) })),
      preview ? h('span', { class: 'preview', text: preview }) : null,
      h('span', { class: 'badges' }, badges(c))));
  }

  function draw() {
    const visible = conversations.filter(shown);
    list.replaceChildren(...visible.map(item));
    note.textContent = visible.length ? '' : 'No conversations here yet.';
    if (filters.handler && conversations.length && !conversations.some((c) => c.handler)) {
      note.textContent = 'Filtering by handler is not available on this server (conversations carry no handler).';
    }
    more.hidden = !cursor;
  }

  async function load(after = null) {
    try {
      const page = await api.conversations({ status: filters.status, limit: PAGE, cursor: after });
      conversations = after ? conversations.concat(items(page)) : items(page);
      cursor = page.nextCursor || null;
      draw();
    } catch (error) {
      note.textContent = error instanceof ApiError ? error.message : `The inbox could not be loaded: ${error.message}`;
    }
  }

  function upsert(c) {
    const at = conversations.findIndex((x) => x.id === c.id);
    if (at >= 0) conversations[at] = { ...conversations[at], ...c };
    else if (!filters.status || c.status === filters.status) {
      conversations.unshift(c);
      conversations.sort((a, b) => (b.createdAt || '').localeCompare(a.createdAt || ''));
    }
    draw();
  }

  const off = [
    events.on('conversation.created', upsert),
    events.on('conversation.updated', upsert),
    events.on('message.created', (m) => {
      if (m.role !== 'operator') activity.set(m.conversationId, { at: m.createdAt, text: m.text });
      if (conversations.some((c) => c.id === m.conversationId)) draw();
      else api.conversation(m.conversationId).then(upsert, () => {});
    }),
    events.on('resync', () => load()),
  ];
  await load();
  return () => off.forEach((f) => f());
}
