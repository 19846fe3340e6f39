// The console's knowledge base and agent in headless Chromium, signed in as the demo operator.
// Run by tests/api/browser/console.rs, which starts assist with --demo, an active subscription
// for the demo org and the fake provider scripted, and passes ASSIST_URL, ANSWER, SCREENSHOTS
// and CHROMIUM.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { ARGS, env, run, shoot, step, widget as call } from './harness.mjs';

const [ASSIST, ANSWER, SCREENSHOTS] = ['ASSIST_URL', 'ANSWER', 'SCREENSHOTS'].map(env);
const ORG = 'org_demo';
const RETURNS = '# Returns\n\nUnused items may be returned within 45 days of delivery.\n';
const widget = (...args) => call(ASSIST, ORG, ...args);

async function main() {
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS });
  const errors = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15000);
  try {
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (m) => m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text()) && errors.push(m.text()));
    await page.goto(`${ASSIST}/console`);
    await page.locator('#demo-sign-in').click();
    await page.locator('body[data-live="true"]').waitFor();

    await page.goto(`${ASSIST}/console#/integrations`);
    await page.locator('#agent-enabled').check();
    await page.locator('#agent-instructions').fill('Answer in one friendly sentence.');
    await page.locator('#agent-handoff').fill('A person from the shop will reply here.');
    await page.getByRole('button', { name: 'Save the agent' }).click();
    await page.getByText('Agent saved.').waitFor();
    step('an admin turns the agent on with instructions and a hand-off message');

    await page.locator('#knowledge-file').setInputFiles({ name: 'returns.md', mimeType: 'text/markdown', buffer: Buffer.from(RETURNS) });
    const doc = page.locator('#documents li', { hasText: 'returns.md' });
    await doc.waitFor();
    await page.locator('#documents li[data-status="ready"]', { hasText: 'returns.md' }).waitFor();
    assert.match(await doc.textContent(), /ready, 1 chunks/);
    step('an uploaded file shows in the knowledge base and turns ready live');

    await page.locator('#knowledge-search').fill('how long can I return something?');
    await page.getByRole('button', { name: 'Search' }).click();
    const hit = page.locator('.results li', { hasText: '45 days' });
    await hit.waitFor();
    assert.match(await hit.textContent(), /returns\.md.*score/s);
    await page.reload();
    await page.locator('#usage-meter').waitFor();
    assert.ok(Number(await page.locator('#usage-meter').getAttribute('value')) > 0, 'the embeddings count against the budget');
    assert.equal(await page.locator('#agent-enabled').isChecked(), true, 'the agent is on after a reload');
    await shoot(page, 'console-knowledge.png');
    step('the search box shows what the agent would find, with scores; usage shows against the budget');

    const session = await widget('POST', '/sessions', null, { name: 'Grace', email: 'grace@example.com' });
    const conversation = await widget('POST', '/conversations', session.token, {});
    assert.equal(conversation.handler, 'ai');
    await page.goto(`${ASSIST}/console#/inbox`);
    await widget('POST', `/conversations/${conversation.id}/messages`, session.token, { text: 'Can I return my kettle?' });
    const item = page.locator('#inbox .item', { hasText: 'Grace' });
    await item.locator('.handler-ai').waitFor();
    await item.click();
    const answer = page.locator('#transcript .role-assistant:not(.streaming)', { hasText: ANSWER });
    await answer.locator('.sources li', { hasText: 'returns.md' }).waitFor();
    step('the agent answers the visitor from the uploaded file; the console shows the answer and its source');

    await page.locator('#reply').fill('Hi Grace, Sam from the shop here.');
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.locator('.badges .handler-human').waitFor();
    await page.locator('#hand-back').click();
    await page.locator('.badges .handler-ai').waitFor();
    assert.equal(await page.locator('#hand-back').count(), 0);
    await shoot(page, 'console-agent-conversation.png');
    step('an operator reply takes the conversation from the AI; "Hand back to the AI" gives it back');
    assert.deepEqual(errors, [], 'no uncaught errors or CSP violations');
  } catch (error) {
    await shoot(page, 'console-ai-failure.png').catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
}

run(main);
