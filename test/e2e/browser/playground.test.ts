/**
 * The playground in Debian's chromium against the real local stack (four local-lm models, a keyed controller),
 * with the browser held to loopback: scoring, outlining, one colour scale in compare, a streamed batch,
 * keyboard-only use, a phone viewport, API errors in words, and an axe-core check.
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { launchBrowser, SCREENSHOT_DIR, runBrowserSuite, tabTo, watchPage } from './browser.ts';
import type { PageWatch } from './browser.ts';
import { startKeyedLocalStack } from '../../helpers/keyed-local-stack.ts';
import type { KeyedLocalStack } from '../../helpers/keyed-local-stack.ts';
import {
  GIBBERISH_SUFFIX,
  NATURAL_EXAMPLE,
} from '../../../controller/playground/client/examples.ts';
import {
  calibrationInfo,
  canFlag,
  serverFeatures,
} from '../../../controller/playground/client/server-features.ts';
import type { ServerFeatures } from '../../../controller/playground/client/server-features.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The README's picture of the page; rewritten when EP_UPDATE_README_SCREENSHOT=1. */
const README_SCREENSHOT = join(ROOT, 'controller/playground/screenshot.png');
const AXE_SOURCE = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

interface RunInfo {
  start: number;
  end: number;
  level: number;
  bits: number;
  inWindow: boolean;
  inSpan: boolean;
}

/** The runs of the n-th heatmap on the page, with their figures. */
async function heatmapRuns(page: Page, nth = 0): Promise<RunInfo[]> {
  return page.$$eval(
    '.heatmap',
    (maps, n) =>
      [...(maps[n] as Element).querySelectorAll<HTMLElement>('.run')].map((el) => ({
        start: Number(el.dataset.start),
        end: Number(el.dataset.end),
        level: Number(el.dataset.level),
        bits: Number(el.dataset.bits),
        inWindow: el.classList.contains('in-window'),
        inSpan: el.classList.contains('in-span'),
      })),
    nth,
  );
}

/** Mean of a per-character figure over [from, to), weighting each run by its characters there. */
function meanOver(runs: RunInfo[], from: number, to: number, pick: (r: RunInfo) => number): number {
  let sum = 0;
  let chars = 0;
  for (const r of runs) {
    const n = Math.min(r.end, to) - Math.max(r.start, from);
    if (n <= 0) continue;
    sum += pick(r) * n;
    chars += n;
  }
  return sum / chars;
}

async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const result = (await page.evaluate(() =>
    (window as any).axe.run(document, { resultTypes: ['violations'] }),
  )) as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}

describe.runIf(runBrowserSuite)('playground in chromium against the local stack', () => {
  let browser: Browser;
  let stack: KeyedLocalStack;

  beforeAll(async () => {
    browser = await launchBrowser();
    stack = await startKeyedLocalStack();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** A fresh page on the playground with the models listed; `key` typed in unless null. */
  async function open(
    opts: {
      key?: string | null;
      width?: number;
      height?: number;
      mobile?: boolean;
      dark?: boolean;
    } = {},
  ): Promise<{ page: Page; watch: PageWatch }> {
    const page = await browser.newPage();
    await page.setViewport({
      width: opts.width ?? 1280,
      height: opts.height ?? 900,
      isMobile: opts.mobile ?? false,
      hasTouch: opts.mobile ?? false,
    });
    await page.emulateMediaFeatures([
      { name: 'prefers-color-scheme', value: opts.dark ? 'dark' : 'light' },
    ]);
    const watch = await watchPage(page);
    const res = await page.goto(`${stack.url}/playground`, { waitUntil: 'networkidle0' });
    expect([200, 304]).toContain(res?.status());
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForSelector('#model-picker input[name=model]');
    const key = opts.key === undefined ? stack.key : opts.key;
    if (key !== null) await page.type('#api-key', key);
    return { page, watch };
  }

  /** What the stack's scoring route supports, read the way the page reads it. */
  async function stackFeatures(): Promise<ServerFeatures> {
    const features = serverFeatures(await (await fetch(`${stack.url}/openapi.json`)).json());
    const res = await fetch(`${stack.url}/v1/calibration`, {
      headers: { authorization: `Bearer ${stack.key}` },
    });
    const calibration = res.ok ? calibrationInfo(await res.json()) : undefined;
    return calibration ? { ...features, calibration } : features;
  }

  function expectCleanRun(watch: PageWatch): void {
    expect(watch.offLoopback).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(watch.failedRequests).toEqual([]);
  }

  it('outlines a gibberish suffix and draws it hotter than the natural text before it', async () => {
    const { page, watch } = await open();
    const authHeaders: string[] = [];
    page.on('request', (req) => {
      if (req.url().endsWith('/v1/perplexity')) authHeaders.push(req.headers().authorization ?? '');
    });
    // Strict about the detection fields once this server supports them, and fine without them before.
    const features = await stackFeatures();
    if (canFlag(features)) await page.type('#flag-fpr', '0.05');
    const text = NATURAL_EXAMPLE + GIBBERISH_SUFFIX;
    await page.$eval('#single-text', (el, t) => ((el as HTMLTextAreaElement).value = t), text);
    await page.click('#single-form button[type=submit]');
    await page.waitForSelector('#single-result .heatmap .run', { timeout: 30_000 });

    const runs = await heatmapRuns(page);
    expect(runs[0]?.start).toBe(0);
    expect(runs.at(-1)?.end).toBe(text.length);
    const suffixStart = NATURAL_EXAMPLE.length;
    const natural = meanOver(runs, 0, suffixStart, (r) => r.bits);
    const suffix = meanOver(runs, suffixStart, text.length, (r) => r.bits);
    expect(suffix).toBeGreaterThan(1.5 * natural);
    expect(meanOver(runs, suffixStart, text.length, (r) => r.level)).toBeGreaterThan(
      meanOver(runs, 0, suffixStart, (r) => r.level),
    );

    // The outlined window lies in the suffix (the server's max_window when it sends one, else the page's own).
    const outlined = runs.filter((r) => r.inWindow);
    expect(outlined.length).toBeGreaterThan(0);
    const windowStart = Math.min(...outlined.map((r) => r.start));
    const windowEnd = Math.max(...outlined.map((r) => r.end));
    const inSuffix = Math.min(windowEnd, text.length) - Math.max(windowStart, suffixStart);
    expect(inSuffix / (windowEnd - windowStart)).toBeGreaterThanOrEqual(0.75);
    // Flagged spans, when the server reports them, are in the suffix too.
    for (const r of runs.filter((x) => x.inSpan)) expect(r.end).toBeGreaterThan(suffixStart);

    const note = await page.$eval('#single-result .note-window', (el) => el.textContent ?? '');
    if (features.windowChars) expect(note).toMatch(/bits\/byte/);
    else expect(note).toMatch(/found in the browser/);

    // The summary and one bar row per model.
    const summary = await page.$eval('#single-result .summary', (el) => el.textContent ?? '');
    expect(summary).toMatch(/Perplexity/);
    if (canFlag(features)) expect(summary).toMatch(/Flagged/);
    if (features.calibration) expect(summary).toMatch(/Percentile/);
    const modelRows = await page.$$eval('#single-result table.models tbody tr th', (els) =>
      els.map((e) => e.textContent),
    );
    expect(modelRows).toEqual([...stack.models]);
    // Hovering a suffix run names each model's token there.
    const suffixRun = runs.findIndex((r) => r.start >= suffixStart);
    const runHandles = await page.$$('#single-result .heatmap .run');
    await runHandles[suffixRun]?.hover();
    const detail = await page.$eval('#single-result .run-detail', (el) => el.textContent ?? '');
    for (const model of stack.models) expect(detail).toContain(model);

    // The key went only into the Authorization header, and stays in this tab's storage only.
    expect(authHeaders.length).toBeGreaterThan(0);
    expect(authHeaders.every((h) => h === `Bearer ${stack.key}`)).toBe(true);
    expect(page.url()).not.toContain(stack.key);
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('ep.apiKey'),
      local: localStorage.getItem('ep.apiKey'),
    }));
    expect(stored).toEqual({ session: stack.key, local: null });

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'playground-single.png'), fullPage: true });
    if (process.env.EP_UPDATE_README_SCREENSHOT === '1') {
      const area = await page.$('#panel-single');
      await area?.screenshot({ path: join(SCREENSHOT_DIR, 'readme.png') });
      copyFileSync(join(SCREENSHOT_DIR, 'readme.png'), README_SCREENSHOT);
    }
    expect(await axeViolations(page)).toEqual([]);
    expectCleanRun(watch);
    await page.close();
  }, 90_000);

  it('draws both texts of a comparison on one colour scale', async () => {
    const { page, watch } = await open();
    await page.click('#tab-compare');
    await page.click('#compare-example');
    await page.click('#compare-form button[type=submit]');
    await page.waitForFunction(
      () => document.querySelectorAll('#compare-result .heatmap').length === 2,
      {
        timeout: 30_000,
      },
    );
    // One legend for both, and the same band means the same colour on both sides.
    expect(await page.$$eval('#compare-result .legend', (els) => els.length)).toBe(1);
    const colours = await page.$$eval('#compare-result .heatmap', (maps) =>
      maps.map((map) => {
        const byLevel: Record<string, string> = {};
        for (const el of map.querySelectorAll<HTMLElement>('.run'))
          byLevel[el.dataset.level as string] = getComputedStyle(el).backgroundColor;
        return byLevel;
      }),
    );
    const [a, b] = colours as [Record<string, string>, Record<string, string>];
    const shared = Object.keys(a).filter((level) => level in b);
    expect(shared.length).toBeGreaterThan(0);
    for (const level of shared) expect(a[level]).toBe(b[level]);
    // Text B starts with text A, so their common start has the same figures and the same bands.
    const runsA = await heatmapRuns(page, 0);
    const runsB = await heatmapRuns(page, 1);
    const commonEnd = Math.floor(NATURAL_EXAMPLE.length * 0.8);
    for (const r of runsA.filter((x) => x.end <= commonEnd)) {
      const twin = runsB.find((x) => x.start === r.start && x.end === r.end);
      if (!twin) continue;
      expect(twin.level).toBe(r.level);
    }
    const hottestB = Math.max(...runsB.map((r) => r.level));
    const hottestA = Math.max(...runsA.map((r) => r.level));
    expect(hottestB).toBeGreaterThan(hottestA);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'playground-compare.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expectCleanRun(watch);
    await page.close();
  }, 90_000);

  it('streams a batch of 200 lines to the end, sorts it, and downloads CSV and JSONL', async () => {
    const { page, watch } = await open();
    const lines = Array.from(
      { length: 200 },
      (_, i) =>
        `${i % 7 === 0 ? 'zq xv jjk pqw ' : ''}Line ${i + 1}: the ship sailed across the sea at dawn ${'and the crew sang '.repeat(i % 4)}while the wind rose.`,
    );
    const downloads = join(SCREENSHOT_DIR, '..', 'downloads');
    rmSync(downloads, { recursive: true, force: true });
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    await page.click('#tab-batch');
    await page.$eval(
      '#batch-text',
      (el, t) => ((el as HTMLTextAreaElement).value = t),
      lines.join('\n'),
    );
    // Record every value the progress bar takes: it moves line by line as results stream in. (A sampling
    // timer could miss them on a loaded machine, where lines may arrive in one chunk.)
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as any).progressSeen = seen;
      const bar = document.getElementById('batch-progress') as HTMLElement;
      new MutationObserver((records) => {
        // Each record holds the value before its change; the last value is read at the end.
        for (const r of records) seen.push(Number(r.oldValue));
      }).observe(bar, { attributeFilter: ['value'], attributeOldValue: true });
    });
    await page.click('#batch-form button[type=submit]');
    await page.waitForFunction(
      () => (document.querySelector('#batch-status .status')?.textContent ?? '').startsWith('Done'),
      { timeout: 60_000 },
    );
    expect(await page.$eval('#batch-status', (el) => el.textContent)).toContain('200 of 200');
    expect(await page.$eval('#batch-progress', (el) => (el as HTMLProgressElement).value)).toBe(
      200,
    );
    const seen = (await page.evaluate(() => (window as any).progressSeen)) as number[];
    expect(seen.filter((v) => v > 0 && v < 200).length).toBeGreaterThan(100);
    const states = await page.$$eval('#batch-table tbody tr', (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.state),
    );
    expect(states).toHaveLength(200);
    expect(states.every((s) => s === 'ok')).toBe(true);

    // Sort by perplexity: the first click sorts high to low, the second low to high.
    const perplexities = () =>
      page.$$eval('#batch-table tbody tr', (rows) =>
        rows.map((r) => Number((r as HTMLElement).dataset.index)),
      );
    await page.click('#batch-table th[data-column="perplexity"] button');
    const descending = await perplexities();
    expect(
      await page.$eval('#batch-table th[data-column="perplexity"]', (th) =>
        th.getAttribute('aria-sort'),
      ),
    ).toBe('descending');
    await page.click('#batch-table th[data-column="perplexity"] button');
    const ascending = await perplexities();
    expect(ascending).toEqual([...descending].reverse());
    // The gibberish-prefixed lines (every 7th) are among the most perplexing.
    const top = descending.slice(0, 29);
    expect(top.filter((i) => i % 7 === 0).length).toBeGreaterThanOrEqual(25);

    await page.click('#download-csv');
    await page.click('#download-jsonl');
    const csv = await waitForFile(join(downloads, 'perplexity.csv'));
    const csvLines = csv.trim().split('\r\n');
    expect(csvLines).toHaveLength(201);
    expect(csvLines[0]).toMatch(/^index,text,perplexity,bits_per_byte/);
    const jsonl = (await waitForFile(join(downloads, 'perplexity.jsonl'))).trim().split('\n');
    expect(jsonl).toHaveLength(200);
    const parsed = jsonl.map((l) => JSON.parse(l));
    expect(parsed.map((p) => p.text)).toEqual(lines);
    expect(parsed.every((p) => p.ensemble.perplexity > 1)).toBe(true);

    await page.screenshot({ path: join(SCREENSHOT_DIR, 'playground-batch.png') });
    expect(await axeViolations(page)).toEqual([]);
    expectCleanRun(watch);
    await page.close();
  }, 120_000);

  it('can be used with the keyboard alone', async () => {
    const { page, watch } = await open({ key: null });
    await tabTo(page, '#api-key');
    await page.keyboard.type(stack.key);
    await tabTo(page, '#single-text');
    await page.keyboard.type('The captain stood on the deck and watched the coast.');
    await tabTo(page, '#single-form button[type=submit]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#single-result .heatmap .run', { timeout: 30_000 });
    await tabTo(page, '#single-result .heatmap .run');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const focused = await page.evaluate(
      () => (document.activeElement as HTMLElement).dataset.start,
    );
    expect(Number(focused)).toBeGreaterThan(0);
    const detail = await page.$eval('#single-result .run-detail', (el) => el.textContent ?? '');
    expect(detail).toMatch(/bits\/char/);
    for (const model of stack.models) expect(detail).toContain(model);
    // The tabs follow the arrow keys.
    await tabTo(page, '#tab-single');
    await page.keyboard.press('ArrowRight');
    expect(await page.$eval('#panel-compare', (el) => (el as HTMLElement).hidden)).toBe(false);
    expectCleanRun(watch);
    await page.close();
  }, 60_000);

  it('fits a phone screen in the dark theme, without axe violations', async () => {
    const { page, watch } = await open({ width: 390, height: 844, mobile: true, dark: true });
    await page.click('#single-example');
    await page.click('#single-form button[type=submit]');
    await page.waitForSelector('#single-result .heatmap .run', { timeout: 30_000 });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(21, 24, 28)');
    await page.screenshot({
      path: join(SCREENSHOT_DIR, 'playground-phone-dark.png'),
      fullPage: true,
    });
    expect(await axeViolations(page)).toEqual([]);
    expectCleanRun(watch);
    await page.close();
  }, 60_000);

  it('says in plain words that a key was refused, and lets the user remember a key on purpose', async () => {
    const { page, watch } = await open({ key: 'ep_not_a_real_key' });
    await page.click('#single-example');
    await page.click('#single-form button[type=submit]');
    await page.waitForFunction(
      () => (document.querySelector('#single-status [role=alert]')?.textContent ?? '') !== '',
      { timeout: 15_000 },
    );
    const alert = await page.$eval('#single-status [role=alert]', (el) => el.textContent ?? '');
    expect(alert).toMatch(/API key was not accepted/);
    expect(alert).toMatch(/The server said/);
    expect(watch.failedRequests).toEqual([`401 ${stack.url}/v1/perplexity`]);
    watch.failedRequests.length = 0;

    await page.click('#forget-key');
    await page.type('#api-key', stack.key);
    await page.click('#remember-key');
    expect(await page.evaluate(() => localStorage.getItem('ep.apiKey'))).toBe(stack.key);
    await page.click('#remember-key');
    expect(await page.evaluate(() => localStorage.getItem('ep.apiKey'))).toBeNull();
    expectCleanRun(watch);
    await page.close();
  }, 60_000);
});

/**
 * A downloaded file's text once Chromium has finished writing it: the file can exist, empty or partly written,
 * before the download completes, so its text counts only when it is not empty and the same on two reads 100 ms
 * apart.
 */
async function waitForFile(path: string, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  let last: string | undefined;
  for (;;) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    if (text && text === last) return text;
    if (Date.now() > until)
      throw new Error(`${path} was still empty or changing after ${timeoutMs} ms`);
    last = text;
    await new Promise((r) => setTimeout(r, 100));
  }
}
