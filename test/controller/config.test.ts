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

  it('takes the calibration file path from EP_CALIBRATION_PATH (a container names its own mount)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-config-'));
    dirs.push(dir);
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ models, calibration: { makeIfMissing: true } }));
    expect(loadConfig({ EP_CONFIG: path }).calibration).toEqual({
      reloadMs: 30_000,
      makeIfMissing: true,
    });
    expect(
      loadConfig({ EP_CONFIG: path, EP_CALIBRATION_PATH: '/var/lib/ep/calibration/c.json' })
        .calibration,
    ).toEqual({ path: '/var/lib/ep/calibration/c.json', reloadMs: 30_000, makeIfMissing: true });
    writeFileSync(path, JSON.stringify({ models }));
    expect(loadConfig({ EP_CONFIG: path }).calibration.makeIfMissing).toBe(false);
  });

  it.each(['127.0.0.1', '127.0.0.2', '::1', '[::1]', 'localhost'])(
    'allows legacy.openAccess on loopback host %s',
    (host) => {
      expect(parseConfig({ models, host, legacy: { openAccess: true } }).legacy.openAccess).toBe(
        true,
      );
    },
  );

  it.each(['0.0.0.0', '::', '10.0.0.5', 'example.com'])(
    'refuses legacy.openAccess on host %s, naming the field',
    (host) => {
      expect(() => parseConfig({ models, host, legacy: { openAccess: true } })).toThrow(
        /^ {2}legacy\.openAccess: only allowed when the controller listens on loopback/m,
      );
    },
  );

  it('refuses legacy.openAccess when HOST moves the controller off loopback', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ep-config-'));
    dirs.push(dir);
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ models, legacy: { openAccess: true } }));
    expect(loadConfig({ EP_CONFIG: path }).legacy.openAccess).toBe(true);
    expect(() => loadConfig({ EP_CONFIG: path, HOST: '0.0.0.0' })).toThrow(/legacy\.openAccess/);
  });

  it('keeps the legacy routes strict by default and names a clashing Hugging Face id or alias', () => {
    expect(parseConfig({ models }).legacy).toEqual({
      openAccess: false,
      responseNames: 'name',
      modelNamesMatch: 'exact',
    });
    const two = [
      { name: 'a', hfId: 'org/a', backends: ['http://127.0.0.1:9'] },
      { name: 'b', aliases: ['b2', 'org/a'], backends: ['http://127.0.0.1:9'] },
    ];
    expect(() => parseConfig({ models: two })).toThrow(
      /^ {2}models\.1\.aliases\.1: "org\/a" already names models\.0$/m,
    );
    expect(() => parseConfig({ models: [{ ...models[0], hfId: 'not an id' }] })).toThrow(
      /models\.0\.hfId: use a Hugging Face id/,
    );
    expect(() => parseConfig({ models, legacy: { modelNamesMatch: 'prefix' } })).toThrow(
      /legacy\.modelNamesMatch/,
    );
  });
});
