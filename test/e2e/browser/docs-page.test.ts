/**
 * The docs page in a real browser with no network beyond loopback: Swagger UI comes from the controller, so the
 * operations and the Authorize button render offline, under a CSP that allows no other origin.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import type { RunningController } from '../../../controller/main.ts';
import { launchBrowser, SCREENSHOT_DIR, runBrowserSuite, watchPage } from './browser.ts';
import { startTestController } from '../../helpers/controller.ts';
import { startFakeVllm } from '../../helpers/fake-vllm.ts';
import type { FakeVllm } from '../../helpers/fake-vllm.ts';

describe.runIf(runBrowserSuite)('docs page in chromium, offline', () => {
  let browser: Browser;
  let backend: FakeVllm;
  let controller: RunningController;

  beforeAll(async () => {
    browser = await launchBrowser();
    backend = await startFakeVllm();
    controller = await startTestController({ models: [{ name: 'm', backends: [backend.url] }] });
  });
  afterAll(async () => {
    await browser?.close();
    await controller?.close();
    await backend?.close();
  });

  it('renders the operations and the Authorize button from local assets only', async () => {
    const page = await browser.newPage();
    const watch = await watchPage(page);
    const res = await page.goto(`${controller.url}/`, { waitUntil: 'networkidle0' });
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    await page.waitForSelector('.opblock-summary', { timeout: 15_000 });
    const operations = await page.$$eval('.opblock-summary', (els) =>
      els.map((el) => el.textContent?.replace(/\s+/g, ' ').trim() ?? ''),
    );
    expect(operations.some((o) => /POST\s*\/v1\/perplexity/.test(o))).toBe(true);
    expect(operations.some((o) => /GET\s*\/v1\/models/.test(o))).toBe(true);
    const authorize = await page.waitForSelector('button.authorize', { visible: true });
    expect(await authorize?.evaluate((b) => b.textContent)).toMatch(/Authorize/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'docs.png'), fullPage: false });

    // Opening an operation (schemas, highlighted examples) and the Authorize dialog stays within the CSP.
    await page.click('.opblock-post .opblock-summary');
    await page.waitForSelector('.opblock-post .opblock-body', { visible: true });
    await authorize?.click();
    await page.waitForSelector('.modal-ux input', { visible: true });
    expect(await page.$eval('.modal-ux', (el) => el.textContent)).toMatch(/apiKey/);
    await page.click('.modal-ux .close-modal');

    // The playground is one link away.
    await Promise.all([page.waitForNavigation(), page.click('a[href="playground"]')]);
    expect(new URL(page.url()).pathname).toBe('/playground');

    expect(watch.offLoopback).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.errors).toEqual([]);
    expect(watch.failedRequests).toEqual([]);
    await page.close();
  }, 60_000);
});
