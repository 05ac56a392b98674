#!/usr/bin/env node
// Browser check of the gateway's Swagger UI, against a running gateway:
//
//   node scripts/check-swagger.mjs http://127.0.0.1:PORT
//
// Loads <base>/api-docs in Debian's headless Chromium and
//   1. waits for Swagger UI to render the document (its title, then the operations);
//   2. expects every operation of <base>/api-docs/openapi.json listed on the page, by method
//      and path, as a person scrolling the page sees them;
//   3. opens one operation and expects its parameters and responses shown (the error body
//      included);
//   4. asserts every request the page made went to the gateway itself (no CDN, no validator
//      badge) and that the page threw no uncaught error nor hit a CSP refusal.
// Exits non-zero with a message on any failure; prints one summary line on success.
//
// Env: CHECK_SWAGGER_SCREENSHOT=/path.png  screenshot at the end (also on failure)
//      CHECK_SWAGGER_TIMEOUT_MS=20000      per-step timeout

import { baseUrlArg, CheckError, fail, openBrowser } from './lib/browser.mjs';

const TIMEOUT = Number(process.env.CHECK_SWAGGER_TIMEOUT_MS || 20000);
const SCREENSHOT = process.env.CHECK_SWAGGER_SCREENSHOT || '';

const base = baseUrlArg('node scripts/check-swagger.mjs http://127.0.0.1:PORT');
const pageUrl = new URL('/api-docs', base).toString();

let browser;
let page;

async function main() {
  const documentUrl = new URL('/api-docs/openapi.json', base);
  const document = await (await fetch(documentUrl)).json();
  const expected = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      if (item[method]) expected.push(`${method.toUpperCase()} ${path}`);
    }
  }

  browser = await openBrowser({ ownHost: base.host });
  page = await browser.page();

  // 1. Swagger UI renders the document.
  const response = await page.goto(pageUrl, { waitUntil: 'load', timeout: TIMEOUT });
  if (!response || !response.ok()) fail(`GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
  try {
    await page.getByRole('heading', { name: document.info.title }).waitFor({ timeout: TIMEOUT });
    await page.locator('.opblock').first().waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 600);
    fail(`Swagger UI did not render the document within ${TIMEOUT} ms. Page text:\n${body}`);
  }

  // 2. Every operation is listed.
  const listed = await page.locator('.opblock-summary').evaluateAll((blocks) =>
    blocks.map((block) => {
      const method = block.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '';
      const path = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
      return `${method.toUpperCase()} ${path}`;
    }),
  );
  const missing = expected.filter((operation) => !listed.includes(operation));
  if (missing.length) fail(`Swagger UI does not list:\n  ${missing.join('\n  ')}\nit lists:\n  ${listed.join('\n  ')}`);

  // 3. An operation opens with its parameters and responses.
  const createOrder = page.locator('.opblock-post').filter({ has: page.locator('[data-path="/orders"]') });
  await createOrder.locator('.opblock-summary').first().click({ timeout: TIMEOUT });
  const opened = createOrder.locator('.opblock-body');
  await opened.waitFor({ state: 'visible', timeout: TIMEOUT });
  const text = await opened.innerText();
  for (const shown of ['Idempotency-Key', 'x-request-id', '201', '400', '503', 'customer_id']) {
    if (!text.includes(shown)) fail(`POST /orders, opened, does not show ${shown}:\n${text.slice(0, 800)}`);
  }

  // 4. Nothing left the gateway.
  const foreign = browser.foreignRequests();
  if (foreign.length) fail(`the page made requests to other hosts than ${base.host}:\n  ${foreign.join('\n  ')}`);
  if (browser.problems.length) fail(`the page reported problems:\n  ${browser.problems.join('\n  ')}`);
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });

  console.log(
    `check-swagger: OK: ${pageUrl} lists all ${expected.length} operations of the document, ` +
      `POST /orders opens with its parameters and responses, ` +
      `${browser.requests.length} requests all to ${base.host}`,
  );
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  console.error(`check-swagger: FAILED: ${err instanceof CheckError || err instanceof Error ? err.message : err}`);
  if (browser?.requests.length) console.error(`check-swagger: requests made:\n  ${browser.requests.join('\n  ')}`);
  if (SCREENSHOT && page) await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => {});
} finally {
  if (browser) await browser.close();
}
process.exit(code);
