// The console's demo sign-in in headless Chromium: assist runs with --demo and no Clerk at all.
// Run by tests/api/browser/console.rs, which passes ASSIST_URL, SCREENSHOTS and CHROMIUM.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { ARGS, env, run, shoot, step, widget as call } from './harness.mjs';

const [ASSIST, SCREENSHOTS] = ['ASSIST_URL', 'SCREENSHOTS'].map(env);
const ORG = 'org_demo';
const widget = (...args) => call(ASSIST, ORG, ...args);

async function main() {
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS });
  const errors = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(15000);
  try {
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (m) => m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()) && errors.push(m.text()));
    await page.goto(`${ASSIST}/console`);
    const demo = page.locator('#demo-sign-in');
    await demo.waitFor();
    assert.equal(await page.locator('#clerk-sign-in').innerHTML(), '', 'no Clerk sign-in without a publishable key');
    await shoot(page, 'console-demo-sign-in.png');
    await demo.click();
    await page.locator('h1', { hasText: 'Inbox' }).waitFor();
    await page.locator('body[data-live="true"]').waitFor();
    step('with --demo and no Clerk, "Try the demo" signs in as the demo operator of org_demo');

    const session = await widget('POST', '/sessions', null, { name: 'Linus', email: 'linus@example.com', metadata: { timezone: 'Europe/Oslo' } });
    const conversation = await widget('POST', '/conversations', session.token, {});
    await widget('POST', `/conversations/${conversation.id}/messages`, session.token, { text: 'Can I try voice too?' });
    const item = page.locator('#inbox .item', { hasText: 'Linus' });
    await item.waitFor();
    await shoot(page, 'console-demo-inbox.png');
    step('a visitor of the demo org appears live in the inbox');

    await item.click();
    await page.locator('.contact dd', { hasText: 'Europe/Oslo' }).waitFor();
    await page.locator('#reply').fill('Yes: connect Vapi under Integrations.');
    await page.locator('#reply').press('Control+Enter');
    await page.locator('#transcript .role-operator').waitFor();
    const transcript = await widget('GET', `/conversations/${conversation.id}/messages`, session.token);
    assert.deepEqual(transcript.items.map((m) => m.role), ['user', 'operator']);
    step('the demo operator replies (Ctrl+Enter) and the visitor\'s transcript has the reply');

    await page.reload();
    await page.locator('#transcript .role-operator').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#demo-sign-in').waitFor();
    step('a reload keeps the demo session for the tab; signing out ends it');
    assert.deepEqual(errors, [], 'no uncaught errors and nothing refused by a Content-Security-Policy');
  } catch (error) {
    await shoot(page, 'console-demo-failure.png');
    throw error;
  } finally {
    await browser.close();
  }
}

run(main);
