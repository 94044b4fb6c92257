import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../controller/config.ts';
import { renderHostConfig } from '../../../infra/host/host-config.ts';
import { hostSettings, TWO_BY_TWO } from './fixtures.ts';

describe('renderHostConfig', () => {
  it('passes parseConfig with one loopback backend per model, keys from Secrets Manager', () => {
    const config = parseConfig(JSON.parse(JSON.stringify(renderHostConfig(hostSettings()))));
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(8080);
    expect(config.models.map((m) => [m.name, m.servedName, m.backends])).toEqual([
      ['vicuna-7b', 'vicuna-7b', ['http://127.0.0.1:8001']],
      ['llama-2-7b', 'llama-2-7b', ['http://127.0.0.1:8002']],
      ['phi-2', 'phi-2', ['http://127.0.0.1:8003']],
      ['mistral-7b', 'mistral-7b', ['http://127.0.0.1:8004']],
    ]);
    // The legacy routes answer to each model's Hugging Face id, as the earlier service did.
    expect(config.models.map((m) => m.hfId)).toEqual([
      'lmsys/vicuna-7b-v1.5',
      'meta-llama/Llama-2-7b-hf',
      'microsoft/phi-2',
      'mistralai/Mistral-7B-v0.1',
    ]);
    expect(config.auth.store).toBe('aws:demo/api-keys');
    expect(config.auth.region).toBe('eu-west-1');
    // The controller makes its calibration when none is in force (the container names the file's path).
    expect(config.calibration).toMatchObject({ makeIfMissing: true });
    expect(config.calibration.path).toBeUndefined();
  });

  it('follows the placement of multi-GPU models and another base port', () => {
    const config = parseConfig(
      renderHostConfig(hostSettings({ models: TWO_BY_TWO, backendBasePort: 9001 })),
    );
    expect(config.models.map((m) => m.backends[0])).toEqual([
      'http://127.0.0.1:9001',
      'http://127.0.0.1:9002',
    ]);
  });

  it('fails if the controller port is a backend port', () => {
    expect(() => renderHostConfig(hostSettings({ controllerPort: 8003 }))).toThrow(
      /controllerPort 8003 .* phi-2/,
    );
  });
});
