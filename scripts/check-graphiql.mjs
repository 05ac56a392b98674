#!/usr/bin/env node
// Browser check of the gateway's GraphiQL page, against a running gateway:
//
//   node scripts/check-graphiql.mjs http://127.0.0.1:PORT
//
// Loads <base>/graphql in Debian's headless Chromium (driven by playwright-core, which is a
// devDependency of gateway/web: `npm ci` there installs it; it never downloads a browser) and
//   1. waits for GraphiQL to render (container + query editor visible);
//   2. runs `{ __typename }` through the Run button and expects `"__typename": "QueryRoot"`
//      (any string __typename is accepted, with a warning);
//   3. runs `subscription { __typename }` and expects GraphiQL to open a graphql-transport-ws
//      socket to <base host>/graphql/ws, get `connection_ack` and an answer (next/error), which
//      proves the subscription path without depending on the schema
//      (skip with CHECK_GRAPHIQL_SKIP_WS=1);
//   4. asserts every request the page made (HTTP and WebSocket) went to the gateway's own
//      host:port, i.e. the page works with no internet; that assets answered 200 with a JS/CSS
//      content type; and that the page threw no uncaught error nor hit a CSP refusal.
// Exits non-zero with a message on any failure; prints one summary line on success.
//
// Env: CHECK_GRAPHIQL_SCREENSHOT=/path.png  screenshot after the query (also on failure)
//      CHECK_GRAPHIQL_TIMEOUT_MS=20000      per-step timeout
//      CHROMIUM_PATH=/usr/bin/chromium      browser binary (Debian's `chromium` package)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB_DIR = path.join(REPO, 'gateway', 'web');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.CHECK_GRAPHIQL_TIMEOUT_MS || 20000);
const SCREENSHOT = process.env.CHECK_GRAPHIQL_SCREENSHOT || '';
const SKIP_WS = process.env.CHECK_GRAPHIQL_SKIP_WS === '1';

class CheckError extends Error {}
const fail = (msg) => {
  throw new CheckError(msg);
};

// --- arguments and prerequisites -------------------------------------------------------------

const arg = process.argv[2];
if (!arg) {
  console.error('usage: node scripts/check-graphiql.mjs http://127.0.0.1:PORT');
  process.exit(2);
}
let base;
try {
  base = new URL(arg.replace(/\/+$/, ''));
} catch {
  console.error(`check-graphiql: not a URL: ${arg}`);
  process.exit(2);
}
const pageUrl = new URL('/graphql', base).toString();
const ownHost = base.host; // host:port, as every request of the page must use

if (!fs.existsSync(CHROMIUM)) {
  console.error(
    `check-graphiql: ${CHROMIUM} not found. Install Debian's chromium with ` +
      `scripts/lib/ensure-chromium.sh (apt-get install chromium).`,
  );
  process.exit(1);
}

// playwright-core lives in gateway/web/node_modules (devDependency), not next to this script.
async function loadPlaywright() {
  try {
    const require = createRequire(path.join(WEB_DIR, 'package.json'));
    return require('playwright-core');
  } catch {
    console.error(
      'check-graphiql: playwright-core is not installed. Run `npm ci` in gateway/web ' +
        '(without --omit=dev: playwright-core is a devDependency).',
    );
    process.exit(1);
  }
}
const { chromium } = await loadPlaywright();

// --- the check -------------------------------------------------------------------------------

const requests = []; // every URL the page asked for, HTTP and WebSocket
const wsFrames = []; // parsed graphql-transport-ws messages received on /graphql/ws
const wsErrors = []; // socket errors on /graphql/ws, e.g. a failed upgrade
const problems = []; // uncaught page errors and CSP refusals
let subscribing = false; // step 3 under way

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-graphiql-'));
let context;
let page;

// The text of a GraphiQL CodeMirror 5 editor (the DOM only holds the visible lines).
const editorText = (selector) =>
  page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el && el.CodeMirror ? el.CodeMirror.getValue() : null;
  }, selector);

async function run(query) {
  // Fill the operation editor through CodeMirror's API (typing would fight autocompletion).
  await page.evaluate((q) => {
    document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(q);
  }, query);
  // GraphiQL re-parses the editor after a short debounce, and the fetcher picks HTTP or
  // WebSocket (and the operation name) from that parsed document: wait until it is this query.
  await page.waitForFunction(
    (q) => {
      const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
      return cm.documentAST?.loc?.source?.body === q;
    },
    query,
    { timeout: TIMEOUT, polling: 50 },
  );
  await page.locator('.graphiql-execute-button').click({ timeout: TIMEOUT });
}

async function waitForResult(predicate, what) {
  const deadline = Date.now() + TIMEOUT;
  let last = null;
  while (Date.now() < deadline) {
    last = await editorText('.result-window .CodeMirror');
    if (last && predicate(last)) return last;
    await page.waitForTimeout(100);
  }
  fail(`timed out after ${TIMEOUT} ms waiting for ${what}; result pane shows:\n${last ?? '(nothing)'}`);
}

async function main() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context.on('request', (req) => requests.push(req.url()));
  // The asset route must answer with usable content types (browsers refuse CSS served otherwise).
  context.on('response', (res) => {
    const { pathname } = new URL(res.url());
    if (!pathname.startsWith('/graphiql/assets/')) return;
    const type = res.headers()['content-type'] || '(none)';
    const want = pathname.endsWith('.js') ? /javascript/ : pathname.endsWith('.css') ? /^text\/css/ : null;
    if (res.status() !== 200) problems.push(`${pathname} answered ${res.status()}`);
    else if (want && !want.test(type)) problems.push(`${pathname} served as ${type}`);
  });
  page = context.pages()[0] || (await context.newPage());
  page.on('websocket', (ws) => {
    requests.push(ws.url());
    if (new URL(ws.url()).pathname !== '/graphql/ws') return;
    ws.on('socketerror', (err) => wsErrors.push(String(err)));
    ws.on('framereceived', ({ payload }) => {
      try {
        wsFrames.push(JSON.parse(String(payload)));
      } catch {
        wsFrames.push({ type: '(unparsable)', payload: String(payload) });
      }
    });
  });
  page.on('pageerror', (err) => {
    // GraphiQL 3 shows a subscription's GraphQL errors (a graphql-transport-ws `error` frame)
    // in the result pane but also leaves them as an unhandled rejection; that one is expected.
    if (subscribing && wsFrames.some((f) => f.type === 'error')) return;
    problems.push(`uncaught page error: ${err.message}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
      problems.push(`console: ${msg.text()}`);
    }
  });

  // 1. GraphiQL renders.
  const response = await page.goto(pageUrl, { waitUntil: 'load', timeout: TIMEOUT });
  if (!response || !response.ok()) fail(`GET ${pageUrl} answered ${response ? response.status() : 'nothing'}`);
  try {
    await page.locator('.graphiql-container').waitFor({ state: 'visible', timeout: TIMEOUT });
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor({ state: 'visible', timeout: TIMEOUT });
  } catch {
    const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 500);
    fail(`GraphiQL did not render within ${TIMEOUT} ms (missing assets?). Page text:\n${body}`);
  }

  // 2. A query over HTTP POST /graphql.
  await run('{ __typename }');
  const text = await waitForResult((t) => /"__typename"|"errors"/.test(t), 'the query result');
  let typename;
  try {
    typename = JSON.parse(text)?.data?.__typename;
  } catch {
    fail(`result pane is not JSON:\n${text}`);
  }
  if (typeof typename !== 'string') fail(`query { __typename } gave no data.__typename:\n${text}`);
  if (typename !== 'QueryRoot') console.warn(`check-graphiql: note: root type is "${typename}", not "QueryRoot"`);
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT });

  // 3. A subscription over graphql-transport-ws at /graphql/ws.
  let wsSummary = 'subscriptions skipped';
  if (!SKIP_WS) {
    await page.evaluate(() => {
      document.querySelector('.result-window .CodeMirror').CodeMirror.setValue('');
    });
    subscribing = true;
    await run('subscription { __typename }');
    const deadline = Date.now() + TIMEOUT;
    const answered = () => wsFrames.some((f) => ['next', 'error', 'complete'].includes(f.type));
    while (Date.now() < deadline && !answered()) await page.waitForTimeout(100);
    const wsUrls = requests.filter((u) => /^wss?:/.test(u));
    if (!wsUrls.some((u) => new URL(u).pathname === '/graphql/ws')) {
      fail(`GraphiQL opened no WebSocket to /graphql/ws for a subscription (sockets: ${wsUrls.join(', ') || 'none'})`);
    }
    if (!wsFrames.some((f) => f.type === 'connection_ack')) {
      fail(
        `no graphql-transport-ws connection_ack on /graphql/ws; ` +
          `socket errors: ${wsErrors.join('; ') || 'none'}; frames: ${JSON.stringify(wsFrames)}`,
      );
    }
    if (!answered()) fail(`the server never answered the subscription on /graphql/ws; frames: ${JSON.stringify(wsFrames)}`);
    wsSummary = `subscription answered over ${wsUrls[0]}`;
  }

  // 4. Nothing left the gateway.
  const foreign = requests.filter((u) => {
    const url = new URL(u);
    if (['data:', 'blob:', 'about:'].includes(url.protocol)) return false;
    return url.host !== ownHost;
  });
  if (foreign.length) fail(`the page made requests to other hosts than ${ownHost}:\n  ${foreign.join('\n  ')}`);
  if (problems.length) fail(`the page reported problems:\n  ${problems.join('\n  ')}`);

  console.log(
    `check-graphiql: OK: ${pageUrl} rendered GraphiQL, { __typename } -> "${typename}", ` +
      `${wsSummary}, ${requests.length} requests all to ${ownHost}`,
  );
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  console.error(`check-graphiql: FAILED: ${err instanceof Error ? err.message : err}`);
  if (requests.length) console.error(`check-graphiql: requests made:\n  ${requests.join('\n  ')}`);
  if (SCREENSHOT && page) await page.screenshot({ path: SCREENSHOT }).catch(() => {});
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(code);
