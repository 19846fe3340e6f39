// Small helpers to build the DOM without HTML strings (so text from the API is never parsed as
// markup), and to format what the pages show.

/**
 * `h('button', {class: 'primary', onclick: f, 'aria-label': 'x'}, 'Send')`. Attributes named
 * `on…` become listeners; `text` sets the text; `null`/`false` attributes and children are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'text') el.textContent = value;
    else if (name === 'value' || name === 'checked' || name === 'selected') el[name] = value;
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** A short local time: the time today, else the date. */
export function when(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today
    ? at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : at.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

let toastTimer = null;
/** A message read out to screen readers and shown for a few seconds. */
export function toast(text, kind = 'info') {
  const box = $('#toast');
  box.textContent = text;
  box.dataset.kind = kind;
  box.classList.add('shown');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove('shown'), 4000);
}

/** A page's heading, focused so keyboard and screen-reader users land on the new page. */
export function heading(text) {
  const title = h('h1', { tabindex: '-1', text });
  queueMicrotask(() => title.focus({ preventScroll: true }));
  return title;
}

/** A labelled form field: `field('Welcome message', input, 'hint')`. */
export function field(label, control, hint) {
  control.id ||= `f-${Math.random().toString(36).slice(2, 9)}`;
  const hintEl = hint ? h('small', { id: `${control.id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control, hintEl);
}

/** A box for a part of a page that the server may not offer yet. */
export function unavailable(what, error) {
  return h('p', { class: 'note unavailable', role: 'note' },
    `${what} is not available on this server`, error?.message ? ` (${error.message})` : '', '.');
}
