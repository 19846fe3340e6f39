// /docs in headless Chromium: the page renders under its own Content-Security-Policy and lists
// every operation of /openapi.json. Run by tests/api/browser.rs, which starts assist and passes
// ASSIST_URL, SCREENSHOTS (a directory) and CHROMIUM.

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
const [ASSIST, SCREENSHOTS, CHROMIUM] = ['ASSIST_URL', 'SCREENSHOTS', 'CHROMIUM'].map(env);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

const step = (what) => console.log(`ok - ${what}`);

async function main() {
  await mkdir(SCREENSHOTS, { recursive: true });
  const doc = await (await fetch(`${ASSIST}/openapi.json`)).json();
  const expected = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ key: `${m.toUpperCase()} ${path}`, summary: item[m].summary })));
  assert.ok(expected.length > 20, `the document lists ${expected.length} operations`);

  const profile = await mkdtemp(join(tmpdir(), 'assist-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1100, height: 900 },
  });
  context.setDefaultTimeout(15000);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    page.on('response', (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`));
    await page.goto(`${ASSIST}/docs`);
    await page.locator('#api[data-state="ready"]').waitFor();
    assert.deepEqual(problems, [], 'the page loads without errors or CSP violations');
    step('/docs renders /openapi.json under its own Content-Security-Policy');

    const listed = await page.locator('details.operation').evaluateAll((ops) =>
      ops.map((op) => ({ key: op.dataset.operation, summary: op.querySelector('.summary').textContent })));
    assert.deepEqual(
      listed.map((op) => op.key).sort(), expected.map((op) => op.key).sort(), 'every operation, once');
    for (const { key, summary } of expected) {
      assert.equal(listed.find((op) => op.key === key).summary, summary, `${key}'s summary`);
    }
    step(`every operation of the document is listed with its summary (${expected.length})`);

    const put = page.locator('details.operation[data-operation="PUT /v1/orgs/{org}/widget-settings"]');
    await put.locator('summary').click();
    await put.locator('table').first().waitFor();
    const text = await put.innerText();
    for (const part of ['Parameters', 'org', 'Request body', 'WidgetSettings', 'Responses', '200', 'ErrorBody']) {
      assert.ok(text.includes(part), `the opened operation shows ${part}:\n${text}`);
    }
    await put.locator('a[href="#schema-WidgetSettings"]').first().click();
    await page.locator('details#schema-WidgetSettings[open]').waitFor();
    step('an operation opens to its parameters, request body and responses; a schema link opens the schema');

    await page.locator('#filter').fill('sessions');
    const visible = await page.locator('details.operation:not(.hidden)').count();
    assert.ok(visible > 0 && visible < expected.length, `the filter leaves ${visible} operations`);
    await page.locator('#filter').fill('');
    step('the filter narrows the list');

    await put.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'docs.png') });
    console.log(`screenshot: ${join(SCREENSHOTS, 'docs.png')}`);
    assert.deepEqual(problems, [], 'no errors while browsing');
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

main().then(
  () => console.log('docs browser test passed'),
  (error) => {
    console.error(`docs browser test FAILED: ${error.stack || error}`);
    process.exitCode = 1;
  },
);
