import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStart } from '../helpers/npm-start.ts';

const KEY_FILE = resolve('.cache/dev-keys.json');

async function score(url: string, key: string): Promise<Response> {
  return fetch(`${url}/v1/perplexity`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ texts: ['The ship sailed across the sea at dawn.'] }),
  });
}

/** Runs `npm start`'s script the way a user does and drives it with the curl it prints. */
describe('npm start', () => {
  it('serves a correct /v1/perplexity answer with the printed key, and stops cleanly on Ctrl-C', async () => {
    const start = runStart({ PORT: '0' });
    try {
      const { url, key } = await start.ready();
      const res = await score(url, key);
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(Object.keys(body.results[0].models)).toHaveLength(4);
      expect(body.results[0].ensemble.perplexity).toBeGreaterThan(1);
      expect(body.results[0].ensemble.degraded).toBe(false);
      const anonymous = await fetch(`${url}/v1/perplexity`, { method: 'POST', body: '{}' });
      expect(anonymous.status).toBe(401);
      start.child.kill('SIGINT');
      expect(await start.exited).toBe(0);
      // The instance removed its own key on the way out.
      expect(readFileSync(KEY_FILE, 'utf8')).not.toContain(`(pid ${start.child.pid})`);
    } finally {
      start.kill();
    }
  }, 120_000);

  it('rejects a bad PORT before loading anything, naming PORT', async () => {
    const start = runStart({ PORT: 'abc' });
    expect(await start.exited).toBe(2);
    expect(start.output()).toMatch(/PORT must be a whole number/);
    expect(start.output()).not.toMatch(/Loading/);
  }, 30_000);

  it('a second start never breaks the first one’s key: busy port, failed start, or another port', async () => {
    const first = runStart({ PORT: '0' });
    let third: ReturnType<typeof runStart> | undefined;
    try {
      const a = await first.ready();
      const port = new URL(a.url).port;

      const busy = runStart({ PORT: port });
      expect(await busy.exited).toBe(2);
      expect(busy.output()).toMatch(new RegExp(`PORT ${port} is already in use`));
      expect(busy.output()).not.toMatch(/Loading/);

      third = runStart({ PORT: '0' });
      const c = await third.ready();
      expect(c.key).not.toBe(a.key);
      // Past the first controller's key reload (5 s): both keys work on both instances.
      await new Promise((r) => setTimeout(r, 6_000));
      expect((await score(a.url, a.key)).status).toBe(200);
      expect((await score(c.url, c.key)).status).toBe(200);
      expect((await score(a.url, c.key)).status).toBe(200);

      third.child.kill('SIGINT');
      expect(await third.exited).toBe(0);
      await new Promise((r) => setTimeout(r, 6_000));
      expect((await score(a.url, a.key)).status).toBe(200);
      expect((await score(a.url, c.key)).status).toBe(401);
    } finally {
      third?.kill();
      first.kill();
    }
  }, 180_000);
});
