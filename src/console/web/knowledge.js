// The knowledge base: documents with their status kept live by `knowledge.updated`, uploads
// with their progress, pasted text, and a search box that shows what the agent would find.

import { items, notOffered } from './api.js';
import { field, h, unavailable, when } from './dom.js';

const MAX_BYTES = 10 * 1024 * 1024;
const ACCEPT = '.txt,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf';

export function knowledge(ctx) {
  const { api, events, toast } = ctx;
  const box = h('section', { class: 'card wide', 'aria-labelledby': 'knowledge-title' }, h('h2', { id: 'knowledge-title', text: 'Knowledge base' }));
  const documents = new Map();
  const list = h('ul', { class: 'documents', id: 'documents', 'aria-label': 'Documents', 'aria-live': 'polite' });
  const uploads = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });

  function row(doc) {
    const status = doc.status === 'failed' ? `failed: ${doc.error || 'unknown error'}` : doc.status === 'ready' ? `ready, ${doc.chunks ?? 0} chunks` : 'processing…';
    return h('li', { dataset: { id: doc.id, status: doc.status } },
      h('span', { class: 'title', text: doc.title }),
      h('span', { class: `badge doc-${doc.status}`, text: status }),
      h('time', { datetime: doc.updatedAt, text: when(doc.updatedAt) }),
      h('button', { type: 'button', class: 'link danger', 'aria-label': `Delete ${doc.title}`, onclick: async () => {
        if (!confirm(`Delete "${doc.title}"? The agent stops finding it at once.`)) return;
        try {
          await api.removeDocument(doc.id);
          documents.delete(doc.id);
          draw();
        } catch (e) {
          toast(e.message, 'error');
        }
      } }, 'Delete'));
  }
  const draw = () => {
    const sorted = [...documents.values()].sort((a, b) => (b.createdAt || '').localeCompare(a.createdAt || ''));
    list.replaceChildren(...(sorted.length ? sorted.map(row) : [h('li', { class: 'note', text: 'No documents yet.' })]));
  };

  function uploadOne(file) {
    const progress = h('progress', { max: 1, value: 0, 'aria-label': `Uploading ${file.name}` });
    const line = h('li', {}, h('span', { text: file.name }), progress);
    uploads.append(line);
    if (file.size > MAX_BYTES) {
      line.replaceChildren(h('span', { class: 'error', text: `${file.name}: larger than 10 MB` }));
      return;
    }
    api.upload(file, (share) => { progress.value = share; }).then((doc) => {
      line.remove();
      documents.set(doc.id, doc);
      draw();
    }, (e) => line.replaceChildren(h('span', { class: 'error', text: `${file.name}: ${e.message}` })));
  }

  const fileInput = h('input', { id: 'knowledge-file', type: 'file', multiple: true, accept: ACCEPT,
    onchange: () => { [...fileInput.files].forEach(uploadOne); fileInput.value = ''; } });
  const textTitle = h('input', { id: 'knowledge-title-input', type: 'text', maxlength: 200 });
  const textBody = h('textarea', { id: 'knowledge-text', rows: 4 });
  const textForm = h('form', { id: 'knowledge-text-form' }, field('Title', textTitle), field('Text', textBody),
    h('button', { type: 'submit' }, 'Add the text'));
  textForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const doc = await api.addText(textTitle.value.trim(), textBody.value);
      documents.set(doc.id, doc);
      textTitle.value = '';
      textBody.value = '';
      draw();
    } catch (e) {
      toast(`Not added: ${e.message}`, 'error');
    }
  });
  const query = h('input', { id: 'knowledge-search', type: 'search' });
  const results = h('ol', { class: 'results', 'aria-live': 'polite', 'aria-label': 'Search results' });
  const searchForm = h('form', { role: 'search', id: 'knowledge-search-form' }, field('What would the agent find for…', query), h('button', { type: 'submit' }, 'Search'));
  searchForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!query.value.trim()) return;
    try {
      const found = items(await api.search(query.value.trim()));
      results.replaceChildren(...(found.length ? found.map((r) => h('li', {}, h('strong', { text: `${r.title} ` }),
        h('span', { class: 'score', text: `(score ${Number(r.score).toFixed(2)})` }), h('p', { text: r.text }))) : [h('li', { class: 'note', text: 'Nothing found.' })]));
    } catch (e) {
      results.replaceChildren(h('li', { class: 'error', text: e.message }));
    }
  });

  api.documents({ limit: 100 }).then((page) => {
    for (const doc of items(page)) documents.set(doc.id, doc);
    box.append(h('div', { class: 'field' }, h('label', { for: fileInput.id, text: 'Upload documents (text, Markdown, HTML, PDF; up to 10 MB each)' }), fileInput),
      uploads, list, h('details', {}, h('summary', { text: 'Add text instead' }), textForm), searchForm, results);
    draw();
  }, (error) => box.append(notOffered(error) ? unavailable('The knowledge base', error) : h('p', { class: 'error', text: error.message })));

  const off = [
    events.on('knowledge.updated', (doc) => {
      documents.set(doc.id, { ...documents.get(doc.id), ...doc });
      draw();
    }),
    events.on('knowledge.deleted', (doc) => {
      documents.delete(doc.id);
      draw();
    }),
  ];
  return { box, leave: () => off.forEach((f) => f()) };
}
