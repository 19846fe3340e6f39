// The widget event stream. EventSource cannot send the X-Contact-Session header, so the stream
// is read with fetch() and parsed here as the HTML standard parses Server-Sent Events: `data`
// lines joined with newlines, `event` naming the type, `id` kept as the last event id and sent
// back as Last-Event-ID on reconnect, `retry` setting the reconnection delay, comment lines
// (`: keepalive`) ignored but proving the connection is alive.

/** Turns chunks of text into events; a line or an event may span chunks. */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.afterCR = false;
    this.type = '';
    this.data = [];
    this.lastEventId = null;
    this.retry = null;
  }

  push(chunk) {
    if (!chunk) return;
    // A CR ending the previous chunk ended its line; an LF opening this one is its other half.
    if (this.afterCR && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.afterCR = false;
    this.buffer += chunk;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      this.line(this.buffer.slice(start, i));
      if (c === '\r' && i === this.buffer.length - 1) this.afterCR = true;
      if (c === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }

  dispatch() {
    const [type, data] = [this.type || 'message', this.data];
    this.type = '';
    this.data = [];
    if (data.length) this.onEvent({ type, data: data.join('\n'), id: this.lastEventId });
  }
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
/** No byte (not even a heartbeat) for this long means the connection is dead, even if TCP
 *  has not noticed yet. */
const SILENCE_MS = 60000;

/**
 * Keeps one stream open until close(): reconnects after a drop with jittered exponential
 * backoff, resuming from the last event id. A 401 means the session is gone: it stops and
 * calls onUnauthorized. onOpen runs on every (re)connection, so the caller can catch up on
 * anything the server could not replay.
 */
export function openEventStream({ url, token, onEvent, onOpen, onUnauthorized, onState }) {
  let stopped = false;
  let controller = null;
  let lastEventId = null;
  let delay = FIRST_DELAY_MS;
  let serverDelay = null;

  async function connectOnce() {
    controller = new AbortController();
    const abort = controller.abort.bind(controller);
    let silence = setTimeout(abort, SILENCE_MS);
    const alive = () => {
      clearTimeout(silence);
      silence = setTimeout(abort, SILENCE_MS);
    };
    try {
      const headers = { Accept: 'text/event-stream', 'X-Contact-Session': token() };
      if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
      const response = await fetch(url, { headers, signal: controller.signal, cache: 'no-store', credentials: 'omit' });
      if (response.status === 401) return 'unauthorized';
      if (!response.ok || !response.body) return 'failed';
      delay = FIRST_DELAY_MS;
      onState('live');
      onOpen();
      const parser = new SseParser((event) => {
        lastEventId = event.id;
        onEvent(event);
      });
      parser.lastEventId = lastEventId;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        alive();
        parser.push(value);
        if (parser.retry !== null) serverDelay = parser.retry;
      }
      return 'ended';
    } catch {
      return 'failed';
    } finally {
      clearTimeout(silence);
    }
  }

  (async () => {
    while (!stopped) {
      const outcome = await connectOnce();
      if (stopped) return;
      if (outcome === 'unauthorized') {
        stopped = true;
        onUnauthorized();
        return;
      }
      onState('reconnecting');
      const base = Math.max(delay, serverDelay ?? 0);
      await new Promise((resolve) => setTimeout(resolve, base / 2 + Math.random() * base / 2));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  })();

  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}
