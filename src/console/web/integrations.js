// Integrations and AI: the Vapi connection (its webhook secret shown once, with the server URL
// to paste into Vapi), the agent's instructions, this month's usage against the budget, and the
// knowledge base. Parts the server does not offer say so; the others keep working.

import { notOffered } from './api.js';
import { field, h, heading, unavailable } from './dom.js';
import { knowledge } from './knowledge.js';

function copyable(label, value, id) {
  const input = h('input', { id, type: 'text', readonly: true, value });
  const button = h('button', { type: 'button', onclick: async () => {
    try {
      await navigator.clipboard.writeText(value);
      button.textContent = 'Copied';
    } catch {
      input.select();
      button.textContent = 'Press Ctrl+C';
    }
  } }, 'Copy');
  return h('div', { class: 'copy' }, field(label, input), button);
}

function vapi(ctx) {
  const { api, session, toast } = ctx;
  const box = h('section', { class: 'card', 'aria-labelledby': 'vapi-title' }, h('h2', { id: 'vapi-title', text: 'Vapi (voice)' }));
  const body = h('div');
  box.append(body);
  const serverUrl = `${location.origin}/webhooks/vapi/${encodeURIComponent(session.org)}`;

  async function draw(justConnected) {
    let plugin;
    try {
      plugin = await api.vapi();
    } catch (error) {
      body.replaceChildren(notOffered(error) ? unavailable('Vapi', error) : h('p', { class: 'error', text: error.message }));
      return;
    }
    if (plugin.connected) {
      body.replaceChildren(
        h('p', { text: `Connected with public key ${plugin.publicApiKey ?? ''}` }),
        justConnected ? h('div', { class: 'once', role: 'alert' },
          h('p', { text: 'Copy the webhook secret now: it is shown only this once. In Vapi, set the server URL and this secret on your assistant.' }),
          copyable('Server URL', serverUrl, 'vapi-server-url'),
          copyable('Webhook secret', justConnected, 'vapi-secret')) : copyable('Server URL', serverUrl, 'vapi-server-url'),
        h('button', { type: 'button', class: 'danger', id: 'vapi-remove', onclick: async () => {
          if (!confirm('Remove the Vapi connection? Voice stops working in the widget.')) return;
          try {
            await api.removeVapi();
            toast('Vapi removed.');
            draw();
          } catch (error) {
            toast(error.message, 'error');
          }
        } }, 'Remove Vapi'));
      return;
    }
    const publicKey = h('input', { id: 'vapi-public', type: 'text', required: true, autocomplete: 'off' });
    const privateKey = h('input', { id: 'vapi-private', type: 'password', required: true, autocomplete: 'off' });
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { id: 'vapi-form' }, field('Public API key', publicKey), field('Private API key', privateKey, 'Kept encrypted by assist; never shown again.'), error,
      h('button', { type: 'submit', class: 'primary' }, 'Connect Vapi'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      try {
        const connected = await api.connectVapi({ publicApiKey: publicKey.value.trim(), privateApiKey: privateKey.value.trim() });
        draw(connected.webhookSecret);
      } catch (e) {
        error.textContent = e.message;
      }
    });
    body.replaceChildren(h('p', { text: 'Not connected. Connect your Vapi account to offer voice calls.' }), form);
  }
  draw();
  return box;
}

function agent(ctx) {
  const { api, toast } = ctx;
  const box = h('section', { class: 'card', 'aria-labelledby': 'agent-title' }, h('h2', { id: 'agent-title', text: 'AI agent' }));
  api.agent().then((settings) => {
    const enabled = h('input', { id: 'agent-enabled', type: 'checkbox', checked: !!settings.enabled });
    const instructions = h('textarea', { id: 'agent-instructions', rows: 6, maxlength: 4000, value: settings.instructions || '' });
    const handoff = h('textarea', { id: 'agent-handoff', rows: 2, maxlength: 500, value: settings.handoffMessage || '' });
    const error = h('p', { class: 'error', role: 'alert' });
    const form = h('form', { id: 'agent-form' },
      h('div', { class: 'check' }, enabled, h('label', { for: enabled.id, text: 'The AI answers visitors first' })),
      field('Instructions', instructions, 'How the agent behaves and what it may say (up to 4000 characters).'),
      field('Hand-off message', handoff, 'What visitors read when the AI hands them to a person (up to 500 characters).'),
      error, h('button', { type: 'submit', class: 'primary' }, 'Save the agent'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      try {
        await api.saveAgent({ enabled: enabled.checked, instructions: instructions.value, handoffMessage: handoff.value });
        toast('Agent saved.');
      } catch (e) {
        error.textContent = `Not saved: ${e.message}`;
      }
    });
    box.append(form);
  }, (error) => box.append(notOffered(error) ? unavailable('The AI agent', error) : h('p', { class: 'error', text: error.message })));
  return box;
}

function usage(ctx) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'usage-title' }, h('h2', { id: 'usage-title', text: 'Usage this month' }));
  ctx.api.usage().then((u) => {
    const used = (u.inputTokens || 0) + (u.outputTokens || 0);
    const fmt = (n) => Number(n).toLocaleString();
    const meter = u.budgetTokens
      ? h('meter', { id: 'usage-meter', min: 0, max: u.budgetTokens, value: used, high: u.budgetTokens * 0.8, 'aria-label': 'Tokens used of the budget' })
      : null;
    box.append(h('p', { text: `${u.month}: ${fmt(used)} tokens (${fmt(u.inputTokens || 0)} in, ${fmt(u.outputTokens || 0)} out)${u.budgetTokens ? ` of a budget of ${fmt(u.budgetTokens)}` : ', no budget set'}.` }), meter);
  }, (error) => box.append(notOffered(error) ? unavailable('Usage', error) : h('p', { class: 'error', text: error.message })));
  return box;
}

export async function render(ctx, main) {
  const parts = knowledge(ctx);
  main.replaceChildren(heading('Integrations and AI'),
    h('div', { class: 'cards' }, vapi(ctx), agent(ctx), usage(ctx), parts.box));
  return parts.leave;
}
