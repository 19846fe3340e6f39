// Voice calls through Vapi's web SDK, imported only when a call starts (from the URL assist is
// configured with) so chat-only visitors never download it. The call carries the contact
// session id twice: in the call's metadata, which Vapi's server messages echo back so assist
// can file the call under this end-user, and as a variable the assistant's prompt may use.

let sdk = null;

async function loadVapi(url) {
  if (!url) throw new Error('no voice SDK is configured');
  sdk ??= import(url).catch((error) => {
    sdk = null;
    throw error;
  });
  const module = await sdk;
  // The SDK is CommonJS compiled to ESM: the class is the default export, or its default.
  const Vapi = [module.default, module.default?.default, module.Vapi].find((c) => typeof c === 'function');
  if (!Vapi) throw new Error('the voice SDK has no Vapi class');
  return Vapi;
}

/** Starts a call; `on.end()` runs once when it ends for any reason, `on.start()` when it is up. */
export async function startCall({ sdkUrl, publicKey, assistantId, contactSessionId, on }) {
  const Vapi = await loadVapi(sdkUrl);
  const vapi = new Vapi(publicKey);
  let ended = false;
  const end = (error) => {
    if (ended) return;
    ended = true;
    on.end(error);
  };
  vapi.on('call-start', () => on.start());
  vapi.on('call-end', () => end());
  vapi.on('error', (error) => end(error?.error?.message || error?.message || 'the call failed'));
  await vapi.start(assistantId, { metadata: { contactSessionId }, variableValues: { contactSessionId } });
  return {
    stop() {
      vapi.stop();
      end();
    },
  };
}
