// The AI agent in the widget, in headless Chromium on a customer's page. Run by
// tests/api/browser.rs, which starts assist with the agent on and a returns policy in the org's
// knowledge, scripts the fake provider (a slowly streamed answer, then a handoff) and passes:
//   ASSIST_URL, HOST_URL, ANSWER (the scripted answer), SCREENSHOTS, CHROMIUM.

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ARGS, env, run, shoot, step } from './harness.mjs';

const [HOST, ANSWER, SCREENSHOTS] = ['HOST_URL', 'ANSWER', 'SCREENSHOTS'].map(env);
const HANDOFF = 'One moment: a person from our team will take it from here.';
const shot = (page, name) => shoot(page, name, { fullPage: false });

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
    await page.locator('#assist-widget button.launcher').click();
    const frame = page.locator('#assist-widget iframe').contentFrame();
    await frame.locator('input[name="name"]').fill('Ada');
    await frame.locator('input[name="email"]').fill('ada@example.com');
    await frame.locator('input[name="email"]').press('Enter');
    await frame.locator('#composer').waitFor();
    await frame.locator('#panel[data-live="true"]').waitFor();
    step('a visitor starts a chat on the customer\'s page');

    await frame.locator('#composer').fill('How long do I have to return a kettle?');
    await frame.locator('#composer').press('Enter');
    const streaming = frame.locator('.message.assistant.streaming .text');
    await streaming.waitFor();
    let partial = '';
    for (const deadline = Date.now() + 10000; partial.split(' ').length < 4; ) {
      if (Date.now() > deadline) throw new Error(`the streamed text did not grow: "${partial}"`);
      partial = ((await streaming.textContent({ timeout: 2000 }).catch(() => '')) ?? '').trim();
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    assert.ok(partial.length < ANSWER.length, `the answer is still being written: "${partial}"`);
    assert.ok(ANSWER.startsWith(partial), `what is shown is the start of the answer: "${partial}"`);
    assert.equal(await frame.locator('.message.assistant.streaming .who').textContent(), 'Assistant');
    await shot(page, 'widget-agent-streaming.png');
    step(`the answer grows in the widget as it is written ("${partial}…"), labelled as the assistant`);

    const done = frame.locator('.message.assistant:not(.streaming):not(.greeting)', { hasText: ANSWER });
    await done.waitFor();
    assert.equal(await frame.locator('.message.assistant.streaming').count(), 0, 'the streamed text became the message');
    assert.match(await done.locator('.sources').textContent(), /Returns policy/);
    await shot(page, 'widget-agent-answer.png');
    step('the finished answer replaces the streamed text and names its source');

    await frame.locator('#composer').fill('I would like to talk to a person, please.');
    await frame.locator('#composer').press('Enter');
    await frame.locator('.message.assistant', { hasText: HANDOFF }).waitFor();
    await shot(page, 'widget-agent-handoff.png');
    step('asking for a person hands the conversation off: the widget shows the handoff message');
    assert.deepEqual(errors, [], 'no uncaught errors in the page or the widget');
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

run(main);
