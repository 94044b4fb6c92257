/**
 * @module
 * HostSettings for tests: the reference workload on a g6.12xlarge unless overridden.
 */
import { REFERENCE_MODELS } from '../../../infra/host/reference-models.ts';
import type { HostSettings } from '../../../infra/host/types.ts';

export function hostSettings(overrides: Partial<HostSettings> = {}): HostSettings {
  return {
    deploymentName: 'demo',
    region: 'eu-west-1',
    gpuCount: 4,
    models: REFERENCE_MODELS,
    vllmImage: 'vllm/vllm-openai:v0.31.0',
    nodeImage: 'node:22-slim',
    bundleS3Uri: 's3://demo-artifacts/ep/controller/ABC123/controller.mjs',
    hostConfigS3Uri: 's3://demo-artifacts/ep/host-config.json',
    calibrationS3Uri: 's3://demo-artifacts/ep/calibration/calibration.json',
    hfTokenSecretId: 'demo/hf-token',
    apiKeySecretId: 'demo/api-keys',
    logGroupName: '/ep/demo/hosts',
    controllerPort: 8080,
    ...overrides,
  };
}

export const TWO_BY_TWO = [
  { hfId: 'mistralai/Mistral-7B-v0.1', servedName: 'mistral-7b', gpus: 2, maxModelLen: 8192 },
  {
    hfId: 'meta-llama/Llama-2-7b-hf',
    servedName: 'llama-2-7b',
    gpus: 2,
    maxModelLen: 4096,
    revision: 'abc123',
  },
] as const;
