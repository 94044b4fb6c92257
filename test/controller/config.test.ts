import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../controller/config.ts';

const models = [{ name: 'm', backends: ['http://127.0.0.1:9'] }];

describe('controller config', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('fills every default from a file that names only the models', () => {
    const config = parseConfig({ models });
    expect(config.limits.maxTextsPerRequest).toBe(1000);
    expect(config.auth.store).toBe('none');
    expect(config.models[0]?.weight).toBe(1);
  });

  it.each([
    [{ models, limts: {} }, /^ {2}limts: unknown setting$/m],
    [{ models, auth: { reloadMS: 1000 } }, /^ {2}auth\.reloadMS: unknown setting$/m],
    [{ models: [{ ...models[0], wieght: 2 }] }, /^ {2}models\.0\.wieght: unknown setting$/m],
    [
      { models, scheduler: { maxBatchPrompt: 8 } },
      /^ {2}scheduler\.maxBatchPrompt: unknown setting$/m,
    ],
  ])('rejects an unknown key, naming its path (%j)', (input, message) => {
    expect(() => parseConfig(input)).toThrow(ConfigError);
    expect(() => parseConfig(input)).toThrow(message);
  });

  it('names every unknown key and every bad value in one error', () => {
    const run = () => parseConfig({ models, limts: {}, cache: { maxbytes: 1 }, port: -1 });
    expect(run).toThrow(/limts: unknown setting/);
    expect(run).toThrow(/cache\.maxbytes: unknown setting/);
    expect(run).toThrow(/port: /);
  });

  it('rejects a misspelt key in the EP_CONFIG file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-config-'));
    dirs.push(dir);
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ models, auth: { reloadMS: 5 } }));
    expect(() => loadConfig({ EP_CONFIG: path })).toThrow(/auth\.reloadMS: unknown setting/);
    writeFileSync(path, JSON.stringify({ models, auth: { reloadMs: 5 } }));
    expect(loadConfig({ EP_CONFIG: path, EP_KEY_STORE: 'file:/k.json' }).auth).toMatchObject({
      reloadMs: 5,
      store: 'file:/k.json',
    });
  });
});
