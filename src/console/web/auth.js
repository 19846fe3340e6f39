// Signing in. With a Clerk publishable key, ClerkJS from the tenant's own Clerk instance (its
// sign-in, organization switcher and user button); the session token goes as a bearer token on
// every call. With `assist serve --demo` opened on this machine, the demo operator of org_demo.
// Either way the rest of the console gets a session: {org, user, kind, token(), signOut()}.

import { h } from './dom.js';

const DEMO_KEY = 'assist.console.demo';

function loadClerk(config) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = `${config.clerkFrontendApi}/npm/@clerk/clerk-js@5/dist/clerk.browser.js`;
    script.crossOrigin = 'anonymous';
    script.async = true;
    script.dataset.clerkPublishableKey = config.clerkPublishableKey;
    script.onload = () => (window.Clerk ? resolve(window.Clerk) : reject(new Error('ClerkJS did not start')));
    script.onerror = () => reject(new Error(`ClerkJS could not be loaded from ${config.clerkFrontendApi}`));
    document.head.append(script);
  });
}

function clerkSession(clerk) {
  const user = clerk.user;
  return {
    kind: 'clerk',
    org: clerk.organization.id,
    orgName: clerk.organization.name || clerk.organization.id,
    user: user.primaryEmailAddress?.emailAddress || user.fullName || user.id,
    token: async () => {
      const token = await clerk.session?.getToken();
      if (!token) throw new Error('the Clerk session has ended; sign in again');
      return token;
    },
    signOut: () => clerk.signOut(),
  };
}

function demoSession(demo) {
  return {
    kind: 'demo',
    org: demo.organizationId,
    orgName: `${demo.organizationId} (demo)`,
    user: 'Demo operator',
    token: async () => demo.token,
    signOut: async () => {
      sessionStorage.removeItem(DEMO_KEY);
      location.reload();
    },
  };
}

/** A demo token dies with the node that drew it: a restarted assist refuses the saved one. */
async function stillValid(demo) {
  const response = await fetch(`/v1/orgs/${encodeURIComponent(demo.organizationId)}`, {
    headers: { Authorization: `Bearer ${demo.token}` },
    credentials: 'omit',
    cache: 'no-store',
  }).catch(() => null);
  return response?.status !== 401 && response?.status !== 403;
}

async function startDemo() {
  const response = await fetch('/console/demo-session', { method: 'POST', credentials: 'omit' });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message ?? `demo sign-in refused (HTTP ${response.status})`);
  sessionStorage.setItem(DEMO_KEY, JSON.stringify(data));
  return data;
}

/**
 * Resolves once an operator is signed in with an active organization; calls `onChange` with a
 * new session when Clerk's active organization or user changes later (null once signed out).
 */
export async function signIn(config, main, onChange) {
  const saved = config.demo && JSON.parse(sessionStorage.getItem(DEMO_KEY) || 'null');
  if (saved && (await stillValid(saved))) return demoSession(saved);
  sessionStorage.removeItem(DEMO_KEY);
  let clerk = null;
  const status = h('p', { class: 'note', role: 'status' });
  const clerkBox = h('div', { id: 'clerk-sign-in' });
  const page = h('section', { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title', text: 'Sign in to the console' }), status, clerkBox);
  main.replaceChildren(page);

  return new Promise((resolve) => {
    let resolved = false;
    const settle = (session) => {
      if (resolved) return onChange(session);
      resolved = true;
      resolve(session);
    };
    if (config.demo) {
      const button = h('button', { type: 'button', class: 'primary', id: 'demo-sign-in' }, 'Try the demo (org_demo)');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          settle(demoSession(await startDemo()));
        } catch (error) {
          status.textContent = error.message;
          button.disabled = false;
        }
      });
      page.append(h('div', { class: 'demo' },
        h('p', { text: 'assist runs with --demo on this machine: try the console as an operator of the demo organization.' }),
        button));
    }
    if (!config.clerkPublishableKey) {
      if (!config.demo) status.textContent = 'This server has no Clerk sign-in configured (ASSIST_CLERK_PUBLISHABLE_KEY).';
      return;
    }
    status.textContent = 'Loading the sign-in…';
    loadClerk(config).then(async (loaded) => {
      clerk = loaded;
      await clerk.load();
      const clear = () => {
        clerk.unmountSignIn?.(clerkBox);
        clerk.unmountOrganizationList?.(clerkBox);
      };
      const update = () => {
        clear();
        if (!clerk.user) {
          status.textContent = '';
          clerk.mountSignIn(clerkBox);
          if (resolved) onChange(null);
        } else if (!clerk.organization) {
          status.textContent = 'Choose the organization whose conversations you answer.';
          clerk.mountOrganizationList(clerkBox, { hidePersonal: true, skipInvitationScreen: true });
        } else {
          settle(clerkSession(clerk));
        }
      };
      const key = () => `${clerk.user?.id}/${clerk.organization?.id}`;
      let last = key();
      update();
      clerk.addListener(() => {
        if (key() === last) return;
        last = key();
        update();
      });
    }).catch((error) => {
      status.textContent = error.message;
    });
  });
}

/** Clerk's organization switcher and user button in the top bar (the demo shows plain text). */
export function mountChrome(session, switcherBox, userBox) {
  if (session.kind === 'clerk') {
    window.Clerk.mountOrganizationSwitcher(switcherBox, { hidePersonal: true });
    window.Clerk.mountUserButton(userBox);
    return;
  }
  switcherBox.replaceChildren(h('span', { class: 'org', text: session.orgName }));
  userBox.replaceChildren(h('button', { type: 'button', class: 'link', onclick: () => session.signOut() }, 'Sign out'));
}
