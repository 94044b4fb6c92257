import { describe, expect, it } from 'vitest';
import { placeModels } from '../../../infra/host/placement.ts';
import { REFERENCE_MODELS } from '../../../infra/host/reference-models.ts';
import { TWO_BY_TWO } from './fixtures.ts';

describe('placeModels', () => {
  it('puts four single-GPU models on four GPUs, one port each', () => {
    const placed = placeModels(REFERENCE_MODELS, 4);
    expect(placed.map((p) => [p.model.servedName, p.gpuIndices, p.port, p.containerName])).toEqual([
      ['vicuna-7b', [0], 8001, 'ep-vllm-vicuna-7b'],
      ['llama-2-7b', [1], 8002, 'ep-vllm-llama-2-7b'],
      ['phi-2', [2], 8003, 'ep-vllm-phi-2'],
      ['mistral-7b', [3], 8004, 'ep-vllm-mistral-7b'],
    ]);
  });

  it('gives a two-GPU model two neighbouring GPUs', () => {
    const placed = placeModels(TWO_BY_TWO, 4);
    expect(placed.map((p) => p.gpuIndices)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(placed.map((p) => p.port)).toEqual([8001, 8002]);
  });

  it('leaves spare GPUs unused and honours another base port', () => {
    const placed = placeModels(REFERENCE_MODELS.slice(0, 2), 8, 9100);
    expect(placed.map((p) => [p.gpuIndices, p.port])).toEqual([
      [[0], 9100],
      [[1], 9101],
    ]);
  });

  it('fails if the layout does not fit, naming the models, the GPUs they need and the GPUs available', () => {
    const models = [...TWO_BY_TWO, REFERENCE_MODELS[2]!];
    expect(() => placeModels(models, 4)).toThrow(
      'models do not fit on the host: mistral-7b (2 GPUs), llama-2-7b (2 GPUs), phi-2 (1 GPU) need 5 GPUs, ' +
        'but the host has 4',
    );
  });

  it('fails on a bad GPU count, duplicate names or no models', () => {
    expect(() => placeModels([{ ...REFERENCE_MODELS[0]!, gpus: 0 }], 4)).toThrow(
      /vicuna-7b: gpus must be a positive integer, got 0/,
    );
    expect(() =>
      placeModels([REFERENCE_MODELS[0]!, { ...REFERENCE_MODELS[1]!, servedName: 'Vicuna-7B' }], 4),
    ).toThrow(/vicuna-7b and Vicuna-7B would share the container name/);
    expect(() => placeModels([], 4)).toThrow(/at least one model/);
    expect(() => placeModels(REFERENCE_MODELS, 0)).toThrow(/gpuCount must be a positive integer/);
  });
});
