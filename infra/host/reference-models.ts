/**
 * @module
 * The reference workload, the seed project's four models (https://github.com/haizelabs/ensembled-perplexity),
 * one per L4 of a g6.12xlarge. The stack's defaults (infra/config.ts) and images/compose.yaml both start from
 * this list.
 */
import type { ModelDeployment } from './types.ts';

export const REFERENCE_MODELS: readonly ModelDeployment[] = [
  { hfId: 'lmsys/vicuna-7b-v1.5', servedName: 'vicuna-7b', gpus: 1, maxModelLen: 4096 },
  { hfId: 'meta-llama/Llama-2-7b-hf', servedName: 'llama-2-7b', gpus: 1, maxModelLen: 4096 },
  // phi-2 has 2048 positions; vLLM refuses a larger --max-model-len.
  { hfId: 'microsoft/phi-2', servedName: 'phi-2', gpus: 1, maxModelLen: 2048 },
  { hfId: 'mistralai/Mistral-7B-v0.1', servedName: 'mistral-7b', gpus: 1, maxModelLen: 4096 },
];
