// Stands in for Vapi's web SDK (served from the host page's origin, as a CDN would): records
// what the widget passes to it, so the test can check the call carries the contact session.
export default class Vapi {
  constructor(publicKey) {
    this.handlers = {};
    window.fakeVapi = { publicKey, starts: [], stops: 0 };
  }

  on(event, handler) {
    (this.handlers[event] ??= []).push(handler);
  }

  emit(event, payload) {
    for (const handler of this.handlers[event] ?? []) handler(payload);
  }

  async start(assistant, overrides) {
    window.fakeVapi.starts.push({ assistant, overrides });
    setTimeout(() => this.emit('call-start'), 0);
    return { id: 'call_fake' };
  }

  stop() {
    window.fakeVapi.stops += 1;
    this.emit('call-end');
  }
}
