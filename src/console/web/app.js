// The console's shell: reads which sign-ins this server offers, signs the operator in, opens
// the organization's live updates, and shows the page the address names (`#/inbox`,
// `#/conversations/<id>`, `#/settings`, `#/integrations`, `#/operations`). Pages are loaded
// when first opened, so a slow connection fetches only what the operator looks at.

import { dashboardApi } from './api.js';
import { mountChrome, signIn } from './auth.js';
import { $, h, toast } from './dom.js';
import { liveEvents } from './events.js';

const PAGES = {
  inbox: () => import('./inbox.js'),
  conversations: () => import('./conversation.js'),
  settings: () => import('./settings.js'),
  integrations: () => import('./integrations.js'),
  operations: () => import('./operations.js'),
};

const main = $('#main');
let ctx = null; // {session, api, events, contacts}
let leave = null; // what the open page does when it is left

function where() {
  const [, page = 'inbox', param = ''] = location.hash.split('/');
  return { page: PAGES[page] ? page : 'inbox', param: decodeURIComponent(param) };
}

function setLive(live, why) {
  const dot = $('#live');
  const label = live ? 'Live updates: on' : `Live updates: off${why ? ` (${why})` : ''}`;
  dot.classList.toggle('on', live);
  dot.setAttribute('aria-label', label);
  dot.title = label;
  document.body.dataset.live = String(live);
}

async function route() {
  const { page, param } = where();
  // Operations needs the admin token, not a Clerk session, so it opens before anyone signs in.
  if (!ctx && page !== 'operations') return;
  leave?.();
  leave = null;
  $('#toast').classList.remove('shown');
  for (const link of document.querySelectorAll('#nav a')) {
    const current = link.dataset.section === page || (page === 'conversations' && link.dataset.section === 'inbox');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.replaceChildren(h('p', { class: 'note', text: 'Loading…' }));
  try {
    const module = await PAGES[page]();
    if (where().page !== page) return;
    leave = (await module.render(ctx, main, param)) || null;
  } catch (error) {
    main.replaceChildren(h('p', { class: 'error', role: 'alert', text: `This page could not be shown: ${error.message}` }));
  }
  document.title = `${main.querySelector('h1')?.textContent || 'Console'} · assist`;
}

function start(session) {
  ctx?.events.close();
  const api = dashboardApi(session.org, session.token);
  ctx = { session, api, events: liveEvents(api, setLive), contacts: new Map(), toast };
  document.body.dataset.org = session.org;
  $('#nav').hidden = false;
  mountChrome(session, $('#org-switcher'), $('#user'));
  route();
}

function changed(session) {
  if (!session) {
    location.reload();
    return;
  }
  location.hash = '#/inbox';
  start(session);
}

async function boot() {
  window.addEventListener('hashchange', () => {
    if (!ctx && where().page !== 'operations') location.reload();
    else route();
  });
  if (where().page === 'operations') {
    route();
    return;
  }
  let config;
  try {
    const response = await fetch('/console/config.json', { cache: 'no-store', credentials: 'omit' });
    config = await response.json();
  } catch (error) {
    main.replaceChildren(h('p', { class: 'error', role: 'alert', text: `The console cannot reach assist: ${error.message}` }));
    return;
  }
  const session = await signIn(config, main, changed);
  start(session);
}

boot();
