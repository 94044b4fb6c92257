import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { get } from './helpers.ts';

describe('CLI entry (container command)', () => {
  it('serves one model on the given port and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'images/local-lm/main.ts',
        '--host',
        '127.0.0.1',
        '--model',
        'mistral-moby',
        '--port',
        '0',
        '--max-model-len',
        '256',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /serving mistral-moby at (http:\/\/\S+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
      const models = (await get(url, '/v1/models')).json as {
        data: { id: string; max_model_len: number }[];
      };
      expect(models.data[0]).toMatchObject({ id: 'mistral-moby', max_model_len: 256 });
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }, 30_000);
});
