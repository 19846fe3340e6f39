// The organization's live updates: an EventSource on the operator stream, authorised by a
// single-use ticket (EventSource cannot send headers). A ticket cannot be used twice, so
// instead of EventSource's own retry every reconnect asks for a new ticket; events missed
// meanwhile are not replayed, so listeners of `resync` re-read what they show.

const TYPES = ['conversation.created', 'conversation.updated', 'message.created', 'message.delta',
  'settings.updated', 'knowledge.updated', 'knowledge.deleted', 'agent.updated', 'plugin.updated', 'subscription.updated'];

export function liveEvents(api, onLive) {
  const listeners = new Map();
  let source = null;
  let closed = false;
  let retry = 1000;
  let opened = false;

  const emit = (type, payload) => {
    for (const listener of listeners.get(type) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        console.error(`a ${type} listener failed`, error);
      }
    }
  };

  async function open() {
    if (closed) return;
    try {
      const { ticket } = await api.ticket();
      if (closed) return;
      source = new EventSource(api.eventsUrl(ticket));
    } catch (error) {
      onLive(false, error.message);
      return later();
    }
    source.onopen = () => {
      retry = 1000;
      onLive(true);
      if (opened) emit('resync');
      opened = true;
    };
    source.onerror = () => {
      source.close();
      onLive(false);
      later();
    };
    for (const type of TYPES) {
      source.addEventListener(type, (event) => {
        let payload;
        try {
          payload = JSON.parse(event.data);
        } catch {
          return;
        }
        emit(type, payload);
      });
    }
  }

  function later() {
    if (closed) return;
    setTimeout(open, retry);
    retry = Math.min(retry * 2, 30000);
  }

  open();
  return {
    /** `on(type, fn)`; returns what removes it. */
    on(type, listener) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(listener);
      return () => listeners.get(type).delete(listener);
    },
    close() {
      closed = true;
      source?.close();
      onLive(false);
    },
  };
}
