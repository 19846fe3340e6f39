// Operations, for whoever holds ASSIST_ADMIN_TOKEN: every node's supervision tree from
// `/admin/tree`, refreshed every few seconds while the page is open. The token stays in this
// tab's session storage only.

import { adminTree } from './api.js';
import { field, h, heading } from './dom.js';

const KEY = 'assist.console.adminToken';
const EVERY_MS = 5000;

const duration = (ms) => {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
};

function node(report) {
  const head = h('h2', { text: `${report.node} · ${report.status}` });
  if (!report.tree) return h('section', { class: 'card', dataset: { node: report.node } }, head, h('p', { class: 'error', text: report.error || 'no answer' }));
  const t = report.tree;
  const orgs = t.tenants.orgs;
  return h('section', { class: 'card wide', dataset: { node: report.node } }, head,
    h('p', { text: `assist ${t.version}, up ${duration(t.uptimeMs)}; root ${t.root.status}, tenants ${t.tenants.status}, system ingest ${t.systemIngest.status} (${t.systemIngest.restarts} restarts).` }),
    h('p', { text: `Partitions held: ${t.partitions.held.map((p) => p.partition).join(', ') || 'none'} of ${t.partitions.count}.` }),
    orgs.length
      ? h('table', {}, h('caption', { text: `Organization actors (${orgs.length})` }),
        h('thead', {}, h('tr', {}, ['Organization', 'State', 'Mailbox', 'Restarts', 'Up', 'Idle'].map((c) => h('th', { scope: 'col', text: c })))),
        h('tbody', {}, orgs.map((o) => h('tr', {}, h('th', { scope: 'row', text: o.org }), h('td', { text: o.status }),
          h('td', { text: o.mailbox ?? '–' }), h('td', { text: String(o.restarts) }), h('td', { text: duration(o.uptimeMs) }), h('td', { text: duration(o.idleMs) })))))
      : h('p', { class: 'note', text: 'No organization actor is active on this node.' }));
}

export async function render(ctx, main) {
  const token = h('input', { id: 'admin-token', type: 'password', autocomplete: 'off', value: sessionStorage.getItem(KEY) || '' });
  const status = h('p', { class: 'note', role: 'status', id: 'tree-status' });
  const nodes = h('div', { class: 'cards', id: 'tree' });
  const form = h('form', { id: 'admin-form' }, field('Admin token (ASSIST_ADMIN_TOKEN)', token), h('button', { type: 'submit', class: 'primary' }, 'Show the tree'));
  const signIn = ctx ? [] : [h('p', {}, h('a', { href: '#/inbox', text: 'Sign in to the console' }))];
  main.replaceChildren(heading('Operations'), ...signIn, form, status, nodes);
  let timer = null;

  async function refresh() {
    clearTimeout(timer);
    if (!token.value) return;
    try {
      const tree = await adminTree(token.value);
      nodes.replaceChildren(...tree.nodes.map(node));
      status.textContent = `${tree.nodes.length} node(s), refreshed at ${new Date().toLocaleTimeString()}.`;
      timer = setTimeout(refresh, EVERY_MS);
    } catch (error) {
      status.textContent = error.status === 404 ? 'This server has no admin token set (ASSIST_ADMIN_TOKEN), so the tree is not served.' : error.message;
    }
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, token.value);
    refresh();
  });
  refresh();
  return () => clearTimeout(timer);
}
