/**
 * Real-browser tests: Debian's chromium driven by puppeteer-core, talking to loopback only. Locally the suites
 * skip when chromium is missing; under CI (`CI` set) they fail, since `.ci/run` installs it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the browser suites save screenshots (gitignored). */
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

/** The chromium binary: `EP_CHROMIUM`, else `chromium`/`chromium-browser` on PATH. */
export function findChromium(): string | undefined {
  if (process.env.EP_CHROMIUM) return process.env.EP_CHROMIUM;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of ['chromium', 'chromium-browser'])
    for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

export const CHROMIUM = findChromium();

/** Run a browser suite where chromium is installed, and always under CI, where launchBrowser fails without it. */
export const runBrowserSuite = CHROMIUM !== undefined || Boolean(process.env.CI);
if (!runBrowserSuite)
  console.warn(
    'SKIPPED browser tests: chromium is not installed (apt-get install -y chromium). In CI they fail instead.',
  );

/**
 * Flags that keep the browser on loopback: no background services (updates, sync, safe browsing, metrics,
 * translation), and every host name except loopback resolves to nothing.
 */
const LOOPBACK_ONLY_FLAGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings',
  '--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

export async function launchBrowser(): Promise<Browser> {
  if (!CHROMIUM)
    throw new Error(
      'chromium is not installed: apt-get install chromium (or set EP_CHROMIUM to its path)',
    );
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root (CI) cannot use chromium's sandbox; small containers have a small /dev/shm.
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...LOOPBACK_ONLY_FLAGS],
  });
}

/** What a page did that a test must see: requests off loopback, script errors, CSP violations. */
export interface PageWatch {
  readonly offLoopback: string[];
  readonly errors: string[];
  readonly cspViolations: string[];
  readonly failedRequests: string[];
}

export async function watchPage(page: Page): Promise<PageWatch> {
  const watch: PageWatch = { offLoopback: [], errors: [], cspViolations: [], failedRequests: [] };
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['data:', 'blob:', 'about:'].includes(url.protocol)) return;
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
      watch.offLoopback.push(req.url());
  });
  page.on('response', (res) => {
    if (res.status() >= 400) watch.failedRequests.push(`${res.status()} ${res.url()}`);
  });
  page.on('pageerror', (err) => watch.errors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Content Security Policy/i.test(text)) watch.cspViolations.push(text);
    // A failed request logs its own console error; the response listener reports it with its URL.
    else if (!/Failed to load resource/.test(text)) watch.errors.push(text);
  });
  return watch;
}

/** Presses Tab until `selector` has focus; fails after `max` presses (keyboard-only navigation). */
export async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${selector} not reached with ${max} Tab presses`);
}
