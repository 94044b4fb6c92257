import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs `npm start`'s script the way a user does and drives it with the curl it prints. */
describe('npm start', () => {
  it('serves a correct /v1/perplexity answer with the printed key, and stops cleanly on Ctrl-C', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      env: { ...process.env, PORT: '0', EP_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      const deadline = Date.now() + 90_000;
      while (!/Press Ctrl-C/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`npm start did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      const key = /API key\s+(ep_\S+)/.exec(out)?.[1];
      expect(url).toBeDefined();
      expect(key).toBeDefined();
      const res = await fetch(`${url}/v1/perplexity`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ texts: ['The ship sailed across the sea at dawn.'] }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as any;
      expect(Object.keys(body.results[0].models)).toHaveLength(4);
      expect(body.results[0].ensemble.perplexity).toBeGreaterThan(1);
      expect(body.results[0].ensemble.degraded).toBe(false);
      const anonymous = await fetch(`${url}/v1/perplexity`, { method: 'POST', body: '{}' });
      expect(anonymous.status).toBe(401);
      // The printed playground address serves the page.
      const playground = /Playground\s+(http:\/\/\S+)/.exec(out)?.[1];
      expect(playground).toBe(`${url}/playground`);
      expect((await fetch(playground as string)).status).toBe(200);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);
});
