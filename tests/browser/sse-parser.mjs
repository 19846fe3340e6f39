// The widget's SSE parser (static/widget/sse.js) on every way a stream can be cut into chunks:
// events must come out the same however the bytes arrive. Run by tests/api/browser.rs with node.

import assert from 'node:assert/strict';
import { SseParser } from '../../static/widget/sse.js';

// CRLF, LF and bare CR line ends, a comment, retry, data over two lines, a field without a space,
// an event without a type (so `message`), and an id that later events keep.
const stream = ': keepalive\r\n\r\nretry: 800\nevent: a\ndata: x\ndata:y\n\n'
  + 'id: 7\r\nevent: message.created\r\ndata: {"a":1,\r\ndata: "b":2}\r\n\r\n:c\rdata: z\r\r';
const expected = [
  { type: 'a', data: 'x\ny', id: null },
  { type: 'message.created', data: '{"a":1,\n"b":2}', id: '7' },
  { type: 'message', data: 'z', id: '7' },
];

let cuts = 0;
for (let i = 0; i <= stream.length; i++) {
  for (let j = i; j <= stream.length; j++) {
    const events = [];
    const parser = new SseParser((event) => events.push(event));
    for (const chunk of [stream.slice(0, i), stream.slice(i, j), stream.slice(j)]) parser.push(chunk);
    assert.deepEqual(events, expected, `cut at ${i} and ${j}`);
    assert.equal(parser.retry, 800);
    cuts++;
  }
}
console.log(`sse parser: ${cuts} ways of cutting the stream, all parsed alike`);
