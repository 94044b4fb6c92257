import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { get, post } from './helpers.ts';

/** Runs the container command with `args`, resolves the URL it announces, and stops it with SIGTERM. */
async function withCli(args: string[], served: string, use: (url: string) => Promise<void>) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'images/local-lm/main.ts', '--host', '127.0.0.1', '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = new RegExp(`serving ${served} at (http://\\S+)`).exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    await use(url);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('CLI entry (container command)', () => {
  it('serves one model on the given port and stops on SIGTERM', async () => {
    await withCli(
      ['--model', 'mistral-moby', '--max-model-len', '256'],
      'mistral-moby',
      async (url) => {
        const models = (await get(url, '/v1/models')).json as {
          data: { id: string; max_model_len: number }[];
        };
        expect(models.data[0]).toMatchObject({ id: 'mistral-moby', max_model_len: 256 });
      },
    );
  }, 30_000);

  it('serves the scripted engine under the --model name with --engine scripted', async () => {
    await withCli(['--engine', 'scripted', '--model', 's1'], 's1', async (url) => {
      const tokens = await post(url, '/tokenize', { prompt: 'A' });
      expect(tokens.json).toMatchObject({ tokens: [1, 'A'.charCodeAt(0) + 3] });
    });
  }, 30_000);
});
