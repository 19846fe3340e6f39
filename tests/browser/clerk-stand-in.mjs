// A stand-in for ClerkJS, served in place of the real bundle by intercepting its URL (no test
// hook in the console). It offers a sign-in button that signs in one operator, whose session
// token is a token of the fake Clerk; the organization switcher and user button are plain text.

/** The script's source: `window.Clerk` as the console uses it. */
export function clerkStandIn({ token, org, user, publishableKey }) {
  const config = JSON.stringify({ token, org, user, publishableKey });
  return `(() => {
  const config = ${config};
  const script = document.currentScript;
  if (!script || script.dataset.clerkPublishableKey !== config.publishableKey) {
    throw new Error('ClerkJS was loaded without the publishable key');
  }
  const listeners = new Set();
  const state = { user: null, organization: null, session: null };
  const emit = () => listeners.forEach((listener) => listener({ ...state }));
  window.Clerk = {
    get user() { return state.user; },
    get organization() { return state.organization; },
    get session() { return state.session; },
    async load() {},
    addListener(listener) { listeners.add(listener); return () => listeners.delete(listener); },
    mountSignIn(el) {
      const button = document.createElement('button');
      button.type = 'button';
      button.id = 'stand-in-sign-in';
      button.textContent = 'Sign in as ' + config.user;
      button.onclick = () => {
        state.user = { id: 'user_stand_in', primaryEmailAddress: { emailAddress: config.user } };
        state.session = { getToken: async () => config.token };
        state.organization = { id: config.org, name: config.org };
        emit();
      };
      el.replaceChildren(button);
    },
    unmountSignIn(el) { el.replaceChildren(); },
    mountOrganizationList(el) { el.textContent = 'Choose an organization'; },
    unmountOrganizationList(el) { el.replaceChildren(); },
    mountOrganizationSwitcher(el) { el.textContent = config.org; },
    mountUserButton(el) { el.textContent = config.user; },
    async signOut() { state.user = null; state.organization = null; state.session = null; emit(); },
  };
})();`;
}
