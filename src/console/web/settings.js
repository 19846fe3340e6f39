// The widget settings: a form for every field, and beside it the real widget (assist's own
// widget page in a frame) reloaded after each save, so what the operator sees is what visitors
// get. Voice settings pick from the organization's Vapi assistants and phone numbers (or take any
// number in international form).

import { items, notOffered } from './api.js';
import { field, h, heading } from './dom.js';

const VOICES = ['alloy', 'echo', 'fable', 'onyx', 'nova', 'shimmer'];

function options(list, current, label) {
  const known = list.some((o) => o.value === current);
  return [h('option', { value: '', text: 'None', selected: !current }),
    ...list.map((o) => h('option', { value: o.value, text: o.label, selected: o.value === current })),
    current && !known ? h('option', { value: current, text: `${current} ${label}`, selected: true }) : null];
}

/** A colour input takes only `#rrggbb`; the API also allows `#rgb`. */
function sixDigits(hex) {
  return /^#[0-9a-f]{3}$/i.test(hex) ? `#${[...hex.slice(1)].map((c) => c + c).join('')}` : hex;
}

export async function render(ctx, main) {
  const { api, events, session, toast } = ctx;
  const settings = await api.settings();
  const error = h('p', { class: 'error', role: 'alert', id: 'settings-error' });
  const welcome = h('textarea', { id: 'welcome', rows: 3, maxlength: 500, required: true, value: settings.welcomeMessage });
  const color = h('input', { id: 'color', type: 'color', value: sixDigits(settings.theme.primaryColor) });
  const position = h('select', { id: 'position' },
    [['bottom-right', 'Bottom right'], ['bottom-left', 'Bottom left']].map(([v, t]) => h('option', { value: v, text: t, selected: v === settings.theme.position })));
  const mode = h('select', { id: 'mode' },
    [['light', 'Light'], ['dark', 'Dark']].map(([v, t]) => h('option', { value: v, text: t, selected: v === settings.theme.mode })));
  const suggestions = [0, 1, 2].map((i) => h('input', { id: `suggestion-${i}`, type: 'text', maxlength: 100, value: settings.suggestions[i] || '' }));
  const voice = h('input', { id: 'voice', type: 'text', list: 'voices', required: true, maxlength: 64, value: settings.voice });
  const assistant = h('select', { id: 'assistant' }, options([], settings.assistantId, '(current)'));
  const phone = h('input', {
    id: 'phone', type: 'tel', list: 'phone-numbers', pattern: '\\+[1-9][0-9]{6,14}', placeholder: '+14155550123',
    value: settings.phoneNumber || '',
  });
  const numbers = h('datalist', { id: 'phone-numbers' });
  const vapiNote = h('p', { class: 'note', id: 'vapi-note', role: 'status', text: 'Loading your Vapi assistants…' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-settings' }, 'Save');
  const preview = h('iframe', {
    id: 'preview', title: 'Widget preview: the widget as visitors see it',
    src: `/widget?organizationId=${encodeURIComponent(session.org)}`, loading: 'lazy',
  });

  const form = h('form', { class: 'settings', id: 'settings-form', 'aria-describedby': error.id },
    field('Welcome message', welcome, 'The first thing visitors read (up to 500 characters).'),
    h('fieldset', {}, h('legend', { text: 'Look' }),
      field('Primary colour', color), field('Position', position), field('Mode', mode)),
    h('fieldset', {}, h('legend', { text: 'Suggested questions (up to three)' }),
      suggestions.map((input, i) => field(`Suggestion ${i + 1}`, input))),
    h('fieldset', {}, h('legend', { text: 'Voice' }),
      field('Voice', voice, 'The voice of the assistant on calls.'),
      h('datalist', { id: 'voices' }, VOICES.map((v) => h('option', { value: v }))),
      field('Vapi assistant', assistant),
      field('Phone number', phone, 'Shown to visitors who prefer to call, in international form (+14155550123); empty for none.'),
      numbers, vapiNote),
    error, h('div', { class: 'row' }, save));
  main.replaceChildren(heading('Widget'),
    h('div', { class: 'split' }, form, h('section', { class: 'preview', 'aria-label': 'Preview' }, h('h2', { text: 'Preview' }), preview)));

  Promise.all([api.vapiAssistants(), api.vapiPhoneNumbers()]).then(([assistants, vapiNumbers]) => {
    assistant.replaceChildren(...options(items(assistants).map((a) => ({ value: a.id, label: a.name || a.id })), settings.assistantId, '(not in Vapi)'));
    numbers.replaceChildren(...items(vapiNumbers).filter((n) => n.number).map((n) => h('option', { value: n.number, label: n.name || n.number })));
    vapiNote.textContent = '';
  }, (e) => {
    vapiNote.textContent = notOffered(e) || e.status === 404 || e.status === 409 || e.status === 400
      ? 'Connect Vapi under Integrations to pick an assistant and a phone number.'
      : `Your Vapi assistants could not be read: ${e.message}`;
  });

  const reloadPreview = () => {
    preview.src = `/widget?organizationId=${encodeURIComponent(session.org)}&v=${Date.now()}`;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const body = {
      welcomeMessage: welcome.value.trim(),
      assistantId: assistant.value || null,
      voice: voice.value.trim(),
      theme: { primaryColor: color.value, position: position.value, mode: mode.value },
      suggestions: suggestions.map((s) => s.value.trim()).filter(Boolean),
      phoneNumber: phone.value.trim() || null,
    };
    save.disabled = true;
    try {
      await api.saveSettings(body);
      toast('Widget settings saved.');
      reloadPreview();
    } catch (e) {
      error.textContent = `Not saved: ${e.message}`;
    } finally {
      save.disabled = false;
    }
  });
  return events.on('settings.updated', reloadPreview);
}
