import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bootTimeline } from '../../infra/boot-timeline.ts';
import { fleetCost, GPU_INSTANCE_TYPES, parseSettings, SettingsError } from '../../infra/config.ts';
import { loadSettings, readRawContext, REPO_ROOT } from '../../infra/context.ts';
import { tempDir } from '../helpers/temp-dir.ts';

describe('deployment settings', () => {
  it('defaults reproduce the reference workload', () => {
    const s = parseSettings({});
    expect(s).toMatchObject({
      name: 'ensembled-perplexity',
      region: 'us-east-1',
      instanceType: 'g6.12xlarge',
      minHosts: 1,
      maxHosts: 1,
      minModels: 2,
      allowedCidrs: ['0.0.0.0/0', '::/0'],
    });
    expect(s.models.map((m) => [m.hfId, m.gpus])).toEqual([
      ['lmsys/vicuna-7b-v1.5', 1],
      ['meta-llama/Llama-2-7b-hf', 1],
      ['microsoft/phi-2', 1],
      ['mistralai/Mistral-7B-v0.1', 1],
    ]);
    expect(s.vllmImage).toMatch(/^vllm\/vllm-openai:v\d+\.\d+\.\d+$/);
  });

  it('the committed cdktf.json context is valid and equals the defaults where it sets values', () => {
    const fromFile = loadSettings({}, join(REPO_ROOT, 'cdktf.json'));
    expect(fromFile).toEqual(parseSettings({}));
  });

  it('fails naming every bad field, including unknown (misspelled) keys', () => {
    let message = '';
    try {
      parseSettings({ hostcount: 2, region: 'mars', instanceType: 'p5.48xlarge', models: [] });
    } catch (err) {
      expect(err).toBeInstanceOf(SettingsError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/region: use an AWS region/);
    expect(message).toMatch(/instanceType:/);
    expect(message).toMatch(/models:/);
    expect(message).toMatch(/hostcount/);
  });

  it('fails if the GPU layout does not fit, naming each model', () => {
    expect(() =>
      parseSettings({
        instanceType: 'g6.12xlarge',
        models: [
          { hfId: 'org/a', servedName: 'a', gpus: 2 },
          { hfId: 'org/b', servedName: 'b', gpus: 4 },
        ],
      }),
    ).toThrow('models: models need 6 GPUs (a: 2, b: 4) but g6.12xlarge has 4');
  });

  it('fails if served names repeat or a domain has no zone', () => {
    expect(() =>
      parseSettings({
        models: [
          { hfId: 'org/a', servedName: 'x' },
          { hfId: 'org/b', servedName: 'x' },
        ],
      }),
    ).toThrow(/servedName must be unique/);
    expect(() => parseSettings({ domain: { name: 'api.example.com' } })).toThrow(
      /hostedZoneId or hostedZoneName/,
    );
  });

  it('fails on a malformed client network or too many of them (each takes security group rules)', () => {
    expect(() => parseSettings({ allowedCidrs: ['not-a-cidr'] })).toThrow(/allowedCidrs/);
    const many = Array.from({ length: 26 }, (_, i) => `10.${i}.0.0/16`);
    expect(() => parseSettings({ allowedCidrs: many })).toThrow(/allowedCidrs/);
  });

  it('sizes the grace period from the boot steps, above the expected boot time', () => {
    const s = parseSettings({});
    const t = bootTimeline(s);
    expect(t.steps.map((x) => x.step)).toHaveLength(4);
    expect(s.healthCheckGraceSeconds).toBe(t.graceSeconds);
    expect(t.graceSeconds).toBeGreaterThanOrEqual(t.totalSeconds * 1.5);
    // More model weights take longer: the grace period grows with them.
    const big = parseSettings({
      instanceType: 'g6.48xlarge',
      models: Array.from({ length: 8 }, (_, i) => ({ hfId: `org/m${i}`, servedName: `m${i}` })),
    });
    expect(big.healthCheckGraceSeconds).toBeGreaterThan(s.healthCheckGraceSeconds);
    expect(parseSettings({ healthCheckGraceSeconds: 3600 }).healthCheckGraceSeconds).toBe(3600);
  });

  it('defaults the readiness quorum to a majority of the models, and bounds it by their number', () => {
    expect(parseSettings({}).minModels).toBe(2);
    expect(parseSettings({ minModels: 4 }).minModels).toBe(4);
    expect(() => parseSettings({ minModels: 5 })).toThrow(/minModels: 5 exceeds the 4 models/);
  });

  it('prices the fleet from the table', () => {
    expect(GPU_INSTANCE_TYPES['g6.12xlarge']).toMatchObject({
      gpus: 4,
      vcpus: 48,
      usdPerHour: 4.6016,
    });
    const cost = fleetCost({ instanceType: 'g6.12xlarge' }, 2);
    expect(cost.usdPerHour).toBeCloseTo(9.2032, 6);
    expect(cost.usdPerMonth).toBeCloseTo(6718.336, 3);
  });

  it('reads the context from CDKTF_CONTEXT_JSON and drops cdktf keys', () => {
    const env = {
      CDKTF_CONTEXT_JSON: JSON.stringify({
        hostCount: 2,
        cdktfRelativeModules: [],
        cdktfStaticModuleAssetHash: 'x',
      }),
    };
    expect(readRawContext(env)).toEqual({ hostCount: 2 });
    expect(loadSettings(env)).toMatchObject({ minHosts: 2, maxHosts: 2 });
  });

  it('reads cdktf.json when run outside the cdktf CLI', () => {
    const dir = tempDir('ep-ctx-');
    const file = join(dir, 'cdktf.json');
    writeFileSync(file, JSON.stringify({ app: 'x', context: { hostCount: 3 } }));
    expect(loadSettings({}, file).maxHosts).toBe(3);
    expect(() => loadSettings({}, join(dir, 'missing.json'))).toThrow(/cannot read/);
  });
});
