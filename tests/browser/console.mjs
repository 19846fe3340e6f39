// The operator console in headless Chromium. Run by tests/api/browser/console.rs, which starts
// assist with a Clerk publishable key and an admin token, serves a customer's page with the
// widget, and passes: ASSIST_URL, HOST_URL, ORG, TOKEN (a fake-Clerk token of an admin of ORG),
// OTHER_ORG, OTHER_TOKEN, PUBLISHABLE_KEY, CLERK_ORIGIN (its Frontend API), ADMIN_TOKEN,
// VAPI_PUBLIC_KEY, VAPI_PRIVATE_KEY (keys the fake Vapi
// takes), VAPI_ASSISTANT, VAPI_NUMBER (in its account), SCREENSHOTS, CHROMIUM. ClerkJS is replaced by a stand-in
// at the network layer.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { clerkStandIn } from './clerk-stand-in.mjs';
import { ARGS, env, run, shoot, step } from './harness.mjs';

const [ASSIST, HOST, ORG, TOKEN, OTHER_ORG, OTHER_TOKEN] =
  ['ASSIST_URL', 'HOST_URL', 'ORG', 'TOKEN', 'OTHER_ORG', 'OTHER_TOKEN'].map(env);
const [KEY, CLERK, ADMIN, SCREENSHOTS] = ['PUBLISHABLE_KEY', 'CLERK_ORIGIN', 'ADMIN_TOKEN', 'SCREENSHOTS'].map(env);
const [VAPI_PUBLIC, VAPI_PRIVATE, VAPI_ASSISTANT, VAPI_NUMBER] =
  ['VAPI_PUBLIC_KEY', 'VAPI_PRIVATE_KEY', 'VAPI_ASSISTANT', 'VAPI_NUMBER'].map(env);
const ANSWER = 'Let me check: the blue jacket is back in stock.';
const USER_TEXT = 'Hi, is the blue jacket back in stock?';
const REPLY_TEXT = 'It is! Size M ships tomorrow.';
const NEW_WELCOME = 'Hello from Acme support, ask us about orders and stock.';

/** Uncaught errors and refused loads (CSP) in a page and its frames fail the test. */
function watch(page, errors) {
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) {
      errors.push(`${page.url()}: ${message.text()}`);
    }
  });
}

/** A browser context for one operator, ClerkJS answered by the stand-in with their token. */
async function operator(browser, errors, { token, org, user }) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(15000);
  const clerkLoads = [];
  await context.route(`${CLERK}/**`, (route) => {
    clerkLoads.push(route.request().url());
    return route.fulfill({
      status: 200,
      contentType: 'text/javascript',
      headers: { 'Access-Control-Allow-Origin': '*' },
      body: clerkStandIn({ token, org, user, publishableKey: KEY }),
    });
  });
  const page = await context.newPage();
  watch(page, errors);
  await page.goto(`${ASSIST}/console`);
  await page.locator('#stand-in-sign-in').waitFor();
  return { context, page, clerkLoads };
}

async function signIn(page) {
  await page.locator('#stand-in-sign-in').click();
  await page.locator('h1', { hasText: 'Inbox' }).waitFor();
  await page.locator('body[data-live="true"]').waitFor();
}

/** Every form control on the page has a label (or an aria-label). */
async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('main input, main select, main textarea')]
    .filter((el) => el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label'))
    .map((el) => el.id || el.outerHTML.slice(0, 60)));
}

async function main() {
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS });
  const errors = [];
  let a = null;
  let visitor = null;
  try {
    a = await operator(browser, errors, { token: TOKEN, org: ORG, user: 'ada@acme.test' });
    assert.equal(a.clerkLoads[0], `${CLERK}/npm/@clerk/clerk-js@5/dist/clerk.browser.js`);
    await shoot(a.page, 'console-sign-in.png');
    await a.page.keyboard.press('Tab');
    assert.equal(await a.page.evaluate(() => document.activeElement.className), 'skip', 'the first Tab reaches "Skip to the content"');
    await signIn(a.page);
    step('the operator signs in through ClerkJS (the stand-in) loaded from the key\'s Frontend API; live updates connect');

    const visitorContext = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    visitorContext.setDefaultTimeout(15000);
    visitor = await visitorContext.newPage();
    watch(visitor, errors);
    await a.page.evaluate(() => { window.notReloaded = true; });
    await visitor.goto(HOST);
    await visitor.locator('#assist-widget button.launcher').click();
    const widget = visitor.locator('#assist-widget iframe').contentFrame();
    await widget.locator('#panel[data-state="ready"] .welcome').waitFor();
    await widget.locator('input[name="name"]').fill('Grace');
    await widget.locator('input[name="email"]').fill('grace@example.com');
    // Enter, not a click: the frame is still growing open, and a click lands where it was.
    await widget.locator('input[name="email"]').press('Enter');
    await widget.locator('#composer').fill(USER_TEXT);
    await widget.locator('#composer').press('Enter');
    await widget.locator('.message.user', { hasText: USER_TEXT }).waitFor();

    const item = a.page.locator('#inbox .item[data-unread="true"]', { hasText: 'Grace' });
    await item.waitFor();
    assert.equal(await a.page.evaluate(() => window.notReloaded), true, 'the inbox was updated in place');
    const conversation = await item.getAttribute('data-id');
    await shoot(a.page, 'console-inbox.png');
    step(`a visitor's new conversation appears live in the inbox, marked unread (${conversation})`);

    await item.click();
    await a.page.locator('#transcript .role-user', { hasText: USER_TEXT }).waitFor();
    await a.page.locator('.contact dd', { hasText: 'grace@example.com' }).waitFor();
    const streaming = a.page.locator('#transcript .streaming[aria-busy="true"]');
    await streaming.locator('.text', { hasText: 'Let me check:' }).waitFor();
    const partial = await streaming.locator('.text').textContent();
    assert.ok(partial.length < ANSWER.length, `a part of the answer shows while it streams: ${partial}`);
    const answered = a.page.locator('#transcript .role-assistant:not(.streaming)', { hasText: ANSWER });
    await answered.locator('.sources li', { hasText: 'Stock list' }).waitFor();
    assert.equal(await a.page.locator('#transcript .role-assistant').count(), 1, 'the stored answer replaced the streamed one');
    step('the AI\'s answer streams in from message.delta events, then stands whole with its sources (the agent, against the fake provider)');
    await a.page.locator('#reply').fill(REPLY_TEXT);
    await a.page.getByRole('button', { name: 'Send reply' }).click();
    await a.page.locator('#transcript .role-operator', { hasText: REPLY_TEXT }).waitFor();
    await widget.locator('.message.operator', { hasText: REPLY_TEXT }).waitFor();
    step('the operator opens it (transcript, contact details), replies, and the visitor sees the reply in the widget');

    await a.page.locator('#draft').click();
    await a.page.locator('.draft-sources .unavailable, .draft-sources .sources, .draft-sources .error').first().waitFor();
    const drafted = await a.page.locator('.draft-sources .unavailable').count() ? 'not available on this server' : 'drafted';
    await a.page.locator('#resolve').click();
    await a.page.locator('.thread-head .badge.status-resolved').waitFor();
    await a.page.locator('#reopen').waitFor();
    await shoot(a.page, 'console-conversation.png');
    step(`resolve works from the conversation; the drafted reply: ${drafted}`);

    await a.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ASSIST });
    await a.page.goto(`${ASSIST}/console#/integrations`);
    await a.page.locator('#vapi-public').fill(VAPI_PUBLIC);
    await a.page.locator('#vapi-private').fill(VAPI_PRIVATE);
    await a.page.getByRole('button', { name: 'Connect Vapi' }).click();
    const secret = await a.page.locator('#vapi-secret').inputValue();
    assert.ok(secret.length >= 20, `a webhook secret is shown: ${secret}`);
    assert.equal(await a.page.locator('#vapi-server-url').inputValue(), `${ASSIST}/webhooks/vapi/${ORG}`);
    await a.page.locator('.copy', { has: a.page.locator('#vapi-secret') }).getByRole('button', { name: 'Copy' }).click();
    assert.equal(await a.page.evaluate(() => navigator.clipboard.readText()), secret, 'Copy puts the secret on the clipboard');
    const settled = (id) => a.page.locator(`section[aria-labelledby="${id}"] :is(form, p, meter, ul):visible`).first().waitFor();
    await Promise.all(['agent-title', 'usage-title', 'knowledge-title'].map(settled));
    const missing = [];
    for (const [id, what] of [['agent-title', 'agent'], ['usage-title', 'usage'], ['knowledge-title', 'knowledge']]) {
      if (await a.page.locator(`section[aria-labelledby="${id}"] .unavailable`).count()) missing.push(what);
    }
    assert.deepEqual(await unlabelled(a.page), [], 'every integrations field has a label');
    await shoot(a.page, 'console-integrations.png');
    await a.page.goto(`${ASSIST}/console#/inbox`);
    await a.page.goto(`${ASSIST}/console#/integrations`);
    await a.page.locator('#vapi-title ~ div p', { hasText: `Connected with public key ${VAPI_PUBLIC}` }).waitFor();
    assert.equal(await a.page.locator('#vapi-secret').count(), 0, 'the secret is shown only once');
    step(`Vapi connects; the webhook secret is shown once and copied, with the server URL; not offered by this server: ${missing.join(', ') || 'nothing'}`);

    await a.page.goto(`${ASSIST}/console#/settings`);
    const preview = a.page.locator('#preview').contentFrame();
    await preview.locator('.welcome').waitFor();
    assert.deepEqual(await unlabelled(a.page), [], 'every settings field has a label');
    await a.page.locator(`#assistant option[value="${VAPI_ASSISTANT}"]`, { hasText: 'Front desk' }).waitFor({ state: 'attached' });
    assert.equal(await a.page.locator(`#phone-numbers option[value="${VAPI_NUMBER}"]`).count(), 1, 'the Vapi number is offered');
    await a.page.locator('#assistant').selectOption(VAPI_ASSISTANT);
    await a.page.locator('#phone').fill(VAPI_NUMBER);
    await a.page.locator('#welcome').fill(NEW_WELCOME);
    await a.page.locator('#save-settings').click();
    await preview.locator('.welcome', { hasText: NEW_WELCOME }).waitFor();
    await shoot(a.page, 'console-settings.png');
    await widget.locator('.message.greeting', { hasText: NEW_WELCOME }).waitFor();
    await visitor.reload();
    await visitor.locator('#assist-widget button.launcher').click();
    await visitor.locator('#assist-widget iframe').contentFrame().locator('.welcome', { hasText: NEW_WELCOME }).waitFor();
    const saved = await (await fetch(`${ASSIST}/v1/orgs/${ORG}/widget-settings`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    assert.deepEqual([saved.assistantId, saved.phoneNumber], [VAPI_ASSISTANT, VAPI_NUMBER]);
    step('a new welcome message shows in the preview (the real widget) and on the customer\'s page, live and after a reload; the Vapi assistant and number picked are saved');

    await a.page.goto(`${ASSIST}/console#/operations`);
    await a.page.locator('#admin-token').fill(ADMIN);
    await a.page.getByRole('button', { name: 'Show the tree' }).click();
    await a.page.locator('#tree table th', { hasText: ORG }).waitFor();
    await shoot(a.page, 'console-operations.png');
    step('operations: the admin token shows every node\'s tree, with the org\'s actor');

    await a.page.setViewportSize({ width: 390, height: 844 });
    await a.page.goto(`${ASSIST}/console#/inbox`);
    await a.page.locator('#inbox .item', { hasText: 'Grace' }).waitFor();
    const overflow = await a.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the inbox fits a phone's width (overflow ${overflow}px)`);
    await shoot(a.page, 'console-phone-inbox.png');
    await a.page.goto(`${ASSIST}/console#/conversations/${conversation}`);
    await a.page.locator('#transcript .role-operator', { hasText: REPLY_TEXT }).waitFor();
    await shoot(a.page, 'console-phone-conversation.png');
    step('on a phone\'s width the inbox and the conversation fit');

    const b = await operator(browser, errors, { token: OTHER_TOKEN, org: OTHER_ORG, user: 'bob@other.test' });
    await signIn(b.page);
    await b.page.locator('main .note', { hasText: 'No conversations here yet.' }).waitFor();
    assert.equal(await b.page.locator('#inbox .item').count(), 0);
    await b.page.goto(`${ASSIST}/console#/conversations/${conversation}`);
    await b.page.locator('main .error', { hasText: 'does not exist in this organization' }).waitFor();
    await shoot(b.page, 'console-other-org.png');
    await b.page.goto(`${ASSIST}/console#/settings`);
    await b.page.locator('#preview').contentFrame().locator('.welcome').waitFor();
    assert.notEqual(await b.page.locator('#welcome').inputValue(), NEW_WELCOME);
    step('an operator of another org sees none of it: an empty inbox, no such conversation, its own widget');

    assert.deepEqual(errors, [], 'no uncaught errors and nothing refused by a Content-Security-Policy');
  } catch (error) {
    if (a) await shoot(a.page, 'console-failure.png');
    if (visitor) await shoot(visitor, 'console-failure-visitor.png');
    throw error;
  } finally {
    await browser.close();
  }
}

run(main);
