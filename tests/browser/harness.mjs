// What every browser script shares: its environment, Chromium's flags, how a step and a
// screenshot are reported, the widget API as a visitor calls it, and how a script ends.

import assert from 'node:assert/strict';
import { join } from 'node:path';

/** The variable's value; a script cannot run without it. */
export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const step = (what) => console.log(`ok - ${what}`);

/** A screenshot into SCREENSHOTS, its path printed for the test's output. */
export async function shoot(page, name, { fullPage = true } = {}) {
  const path = join(env('SCREENSHOTS'), name);
  await page.screenshot({ path, fullPage });
  console.log(`screenshot: ${path}`);
}

/** A widget route of `org`, as the visitor's browser calls it (JSON, `X-Contact-Session`). */
export async function widget(assist, org, method, path, token, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers['X-Contact-Session'] = token;
  const response = await fetch(`${assist}/v1/widget/${org}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const data = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

/** Runs the script's `main`; a failure sets the exit status with its stack. */
export function run(main) {
  main().then(
    () => console.log('browser test passed'),
    (error) => {
      console.error(`browser test FAILED: ${error.stack || error}`);
      process.exitCode = 1;
    },
  );
}
