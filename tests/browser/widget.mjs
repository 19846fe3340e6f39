// The widget in headless Chromium, on a host page of another origin. Run by tests/api/browser.rs,
// which starts assist, seeds the organization and serves the host page, and passes:
//   ASSIST_URL, HOST_URL, ORG, OPERATOR_TOKEN (a Clerk token of the org's operator),
//   WELCOME, PRIMARY_RGB, PHONE (what the settings say), SCREENSHOTS (a directory), CHROMIUM.
// It prints one line per step, and the paths of its screenshots.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const [ASSIST, HOST, ORG, OPERATOR] = ['ASSIST_URL', 'HOST_URL', 'ORG', 'OPERATOR_TOKEN'].map(env);
const [WELCOME, PRIMARY_RGB, PHONE, SCREENSHOTS] = ['WELCOME', 'PRIMARY_RGB', 'PHONE', 'SCREENSHOTS'].map(env);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const USER_TEXT = 'Hello! Do you ship to Norway?';
const REPLY_TEXT = 'Yes, we ship to Norway within 3 days.';

const step = (what) => console.log(`ok - ${what}`);

async function until(check, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function dashboard(method, path, body) {
  const response = await fetch(`${ASSIST}/v1/orgs/${ORG}${path}`, {
    method,
    headers: { Authorization: `Bearer ${OPERATOR}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const data = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

/** Whether this build serves the widget event stream: without a session it answers 401; a
 *  build without the route answers 404 "no route for …". */
const widgetFrame = async (page) => {
  const handle = await page.locator('#assist-widget iframe').elementHandle();
  return handle.contentFrame();
};
const SESSION_KEY = `assist.contactSession.${ORG}`;

/** Where the widget keeps its session: its own storage, or (where the browser refuses storage
 *  to third-party frames) the embedding page's. Something to run `evaluate` in, and its name. */
async function sessionStorage(page) {
  const widget = await widgetFrame(page);
  await widget.locator('#panel[data-state="ready"]').waitFor();
  const where = await widget.evaluate(() => document.getElementById('panel').dataset.sessionStorage);
  assert.ok(where === 'widget' || where === 'embedding page', `the session is kept in ${where}`);
  const target = where === 'widget' ? widget : page;
  return { where, evaluate: (fn, arg) => target.evaluate(fn, arg) };
}

const frameBox = (page) => page.locator('#assist-widget .frame');
const isOpen = (page) => frameBox(page).evaluate((el) => el.classList.contains('open'));

async function main() {
  await mkdir(SCREENSHOTS, { recursive: true });
  const profile = await mkdtemp(join(tmpdir(), 'assist-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 820 },
  });
  context.setDefaultTimeout(15000);
  const errors = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(HOST);
    assert.notEqual(new URL(HOST).origin, new URL(ASSIST).origin);
    const api = await page.evaluate(() => ['show', 'hide', 'destroy'].map((f) => typeof window.AssistWidget?.[f]));
    assert.deepEqual(api, ['function', 'function', 'function']);
    step('the embed script exposes AssistWidget.show/hide/destroy on a page of another origin');

    const launcher = page.locator('#assist-widget button.launcher');
    await launcher.waitFor();
    assert.equal(await launcher.evaluate((el) => getComputedStyle(el).backgroundColor), PRIMARY_RGB);
    assert.ok((await launcher.boundingBox()).x < 200, 'data-position="bottom-left" puts the launcher on the left');
    assert.equal(await page.locator('#assist-widget iframe').count(), 0, 'no iframe before the first open');
    step('the launcher takes the theme colour and the data-position side');

    await launcher.click();
    const iframe = page.locator('#assist-widget iframe');
    assert.equal(await iframe.getAttribute('src').then((src) => src.split('#')[0]), `${ASSIST}/widget?organizationId=${ORG}`);
    assert.match(await iframe.getAttribute('allow'), /microphone/);
    const frame = iframe.contentFrame();
    await frame.locator('.welcome', { hasText: WELCOME }).waitFor();
    assert.equal(await frame.locator('.top').evaluate((el) => getComputedStyle(el).backgroundColor), PRIMARY_RGB);
    assert.ok((await frame.locator('.suggestion').count()) > 0, 'suggestions are shown');
    assert.equal(await frame.locator('#call-us').getAttribute('href'), `tel:${PHONE}`);
    step('the launcher opens the widget, which shows the welcome message, suggestions, theme and tel: link');

    await until(() => frameBox(page).evaluate((el) => el.style.height !== ''), 'a resize from the widget');
    const height = await frameBox(page).evaluate((el) => el.style.height);
    await page.evaluate(() => {
      window.postMessage({ source: 'assist-widget', type: 'resize', height: 123 }, '*');
      window.postMessage({ source: 'assist-widget', type: 'close' }, '*');
    });
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 200)));
    assert.ok(await isOpen(page), 'a close posted by another window is ignored');
    assert.equal(await frameBox(page).evaluate((el) => el.style.height), height, 'so is its resize');
    step(`resize messages from the widget are applied (${height}); forged ones from the page are not`);

    await frame.locator('input[name="name"]').fill('Ada');
    await frame.locator('input[name="email"]').fill('ada@example.com');
    await frame.locator('#start button[type="submit"]').click();
    await frame.locator('#composer').waitFor();
    const storage = await sessionStorage(page);
    const stored = JSON.parse(await storage.evaluate((key) => localStorage.getItem(key), SESSION_KEY));
    assert.match(stored.contactSessionId, /^cs_/);
    assert.ok(stored.token.startsWith(`${stored.contactSessionId}.`));
    step(`name and email start a contact session, kept in localStorage for the org (${storage.where}'s)`);

    await frame.locator('#composer').fill(USER_TEXT);
    await frame.locator('#composer').press('Enter');
    await frame.locator('.message.user', { hasText: USER_TEXT }).waitFor();
    const list = await dashboard('GET', '/conversations');
    const conversation = list.items[0].id;
    assert.equal(list.items[0].contactSessionId, stored.contactSessionId);
    const transcript = await dashboard('GET', `/conversations/${conversation}/messages`);
    assert.deepEqual(transcript.items.map((m) => [m.role, m.text]), [['user', USER_TEXT]]);
    step('a message sent in the widget reaches the operator\'s transcript');

    await frame.locator('#panel[data-live="true"]').waitFor();
    const lastEventId = () => frame.locator('#panel').getAttribute('data-last-event-id');
    const before = await lastEventId();
    await dashboard('POST', `/conversations/${conversation}/messages`, { text: REPLY_TEXT });
    await frame.locator('.message.operator', { hasText: REPLY_TEXT }).waitFor({ timeout: 10000 });
    assert.notEqual(await lastEventId(), before, 'the reply came with an event of the stream');
    step(`the operator's reply arrives live over the event stream (event id ${await lastEventId()})`);

    await page.screenshot({ path: join(SCREENSHOTS, 'widget-chat.png') });
    console.log(`screenshot: ${join(SCREENSHOTS, 'widget-chat.png')}`);

    await frame.locator('#close').click();
    await until(async () => !(await isOpen(page)), 'the widget to close');
    await page.evaluate(() => window.AssistWidget.show());
    await until(() => isOpen(page), 'AssistWidget.show()');
    assert.equal(await page.locator('#assist-widget iframe').count(), 1, 'the same iframe is shown again');
    await page.evaluate(() => window.AssistWidget.hide());
    await until(async () => !(await isOpen(page)), 'AssistWidget.hide()');
    step('the widget\'s close message, AssistWidget.show() and hide() work');

    await voice(context, stored, errors);

    await page.evaluate(() => window.AssistWidget.destroy());
    assert.equal(await page.locator('#assist-widget').count(), 0);
    assert.equal(await page.evaluate(() => typeof window.AssistWidget), 'undefined');
    step('AssistWidget.destroy() removes the launcher, the frame and itself');
    assert.deepEqual(errors, [], 'no uncaught errors in the page or the widget');
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** A second visit: the stored session is restored; with voice on (the settings answer is
 *  rewritten, since voice needs a connected Vapi account) a call starts through the SDK at the
 *  configured URL with the contact session id; a session the server refuses is dropped. */
async function voice(context, stored, errors) {
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await page.route(`${ASSIST}/v1/widget/${ORG}/settings`, async (route) => {
    const settings = await (await route.fetch()).json();
    await route.fulfill({ json: { ...settings, voiceEnabled: true, vapiPublicKey: 'pk_test_widget', assistantId: 'asst_test' } });
  });
  await page.goto(HOST);
  await page.locator('#assist-widget button.launcher').click();
  const frame = page.locator('#assist-widget iframe').contentFrame();
  await frame.locator('.greet', { hasText: 'Welcome back, Ada.' }).waitFor();
  assert.equal(await frame.locator('.conversation-item').count(), 1);
  step('a second visit restores the session (checked with the server) and lists the conversation');

  await frame.locator('#voice', { hasText: 'Start voice call' }).click();
  await frame.locator('#voice', { hasText: 'End call' }).waitFor();
  await page.screenshot({ path: join(SCREENSHOTS, 'widget-home.png') });
  console.log(`screenshot: ${join(SCREENSHOTS, 'widget-home.png')}`);
  const widget = await widgetFrame(page);
  const vapi = await widget.evaluate(() => window.fakeVapi);
  assert.equal(vapi.publicKey, 'pk_test_widget');
  assert.deepEqual(vapi.starts, [{
    assistant: 'asst_test',
    overrides: { metadata: { contactSessionId: stored.contactSessionId }, variableValues: { contactSessionId: stored.contactSessionId } },
  }]);
  await frame.locator('#voice', { hasText: 'End call' }).click();
  await frame.locator('#voice', { hasText: 'Start voice call' }).waitFor();
  assert.equal(await widget.evaluate(() => window.fakeVapi.stops), 1);
  step('"Start voice call" loads the SDK from the configured URL and passes the contact session id');

  const storage = await sessionStorage(page);
  await storage.evaluate(([key, session]) => {
    localStorage.setItem(key, JSON.stringify({ ...session, token: `${session.contactSessionId}.forged` }));
  }, [SESSION_KEY, stored]);
  await page.reload();
  await page.locator('#assist-widget button.launcher').click();
  await frame.locator('#start input[name="name"]').waitFor();
  const after = await sessionStorage(page);
  await until(async () => (await after.evaluate((key) => localStorage.getItem(key), SESSION_KEY)) === null, 'the refused session to be dropped');
  step('a stored session the server refuses (401) is dropped and the form is shown');
  await page.close();
}

main().then(
  () => console.log('browser test passed'),
  (error) => {
    console.error(`browser test FAILED: ${error.stack || error}`);
    process.exitCode = 1;
  },
);
