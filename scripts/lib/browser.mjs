// What the project's browser checks share: Debian's headless Chromium driven by playwright-core
// (a devDependency of gateway/web; never a downloaded browser), started so that it makes no
// request of its own to the outside, and a record of every request a page makes so a check can
// prove nothing left the machine.
//
//   import { openBrowser, CheckError, fail } from './lib/browser.mjs';
//   const browser = await openBrowser({ ownHost: 'localhost:3000' });
//   const page = await browser.newPage();
//   ... browser.requests, browser.problems, browser.foreignRequests() ...
//   await browser.close();

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WEB_DIR = path.join(REPO, 'gateway', 'web');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Without the background-networking flags Chromium phones home at start (and fails, here).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export class CheckError extends Error {}
export const fail = (msg) => {
  throw new CheckError(msg);
};

/** The base URL given on the command line, or exit 2 with the usage line. */
export function baseUrlArg(usage) {
  const arg = process.argv[2];
  if (!arg) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  try {
    return new URL(arg.replace(/\/+$/, ''));
  } catch {
    console.error(`not a URL: ${arg}`);
    process.exit(2);
  }
}

function loadPlaywright() {
  try {
    const require = createRequire(path.join(WEB_DIR, 'package.json'));
    return require('playwright-core');
  } catch {
    console.error(
      'playwright-core is not installed. Run `npm ci` in gateway/web ' +
        '(without --omit=dev: playwright-core is a devDependency).',
    );
    process.exit(1);
  }
}

/**
 * Starts Chromium with a fresh profile. Every request of every page (HTTP and WebSocket) is in
 * `requests`; uncaught page errors and CSP refusals are in `problems`.
 */
export async function openBrowser({
  ownHost,
  viewport = { width: 1280, height: 800 },
  // An uncaught error the check expects (return true to keep it out of `problems`).
  expectedPageError = () => false,
}) {
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} not found. scripts/test installs Debian's chromium package (apt-get install chromium).`);
    process.exit(1);
  }
  const { chromium } = loadPlaywright();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mesh-browser-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: CHROMIUM_ARGS,
  });
  const requests = [];
  const problems = [];
  context.on('request', (req) => requests.push(req.url()));
  const watch = (page) => {
    page.on('websocket', (ws) => requests.push(ws.url()));
    page.on('pageerror', (err) => {
      if (!expectedPageError(err)) problems.push(`uncaught page error: ${err.message}`);
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) {
        problems.push(`console: ${msg.text()}`);
      }
    });
  };
  context.on('page', watch);
  context.pages().forEach(watch);
  return {
    context,
    requests,
    problems,
    /** The first page (a persistent context opens one). */
    async page() {
      return context.pages()[0] || context.newPage();
    },
    /** Requests that went anywhere but ownHost (data:, blob: and about: stay in the page). */
    foreignRequests() {
      return requests.filter((u) => {
        const url = new URL(u);
        if (['data:', 'blob:', 'about:'].includes(url.protocol)) return false;
        return url.host !== ownHost;
      });
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
