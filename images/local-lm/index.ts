/**
 * @module
 * Public surface of local-lm: small real n-gram language models on CPU behind vLLM's HTTP API.
 *
 * @example
 * ```ts
 * const server = await startLocalLm({ model: 'llama-sotu', maxModelLen: 64, controls: true });
 * await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'Hi', max_tokens: 0, echo: true, prompt_logprobs: 1 }) });
 * await server.faults.set({ kind: 'status503', count: 1 });
 * await server.close();
 * ```
 */
export { DEFAULT_MODEL_NAMES, DEFAULT_MODEL_SPECS, type ModelSpec } from './model-specs.ts';
export {
  loadModel,
  trainModel,
  defaultCacheDir,
  type LocalModel,
  type LoadModelOptions,
  type TrainModelOptions,
} from './models.ts';
export { getTokenizer, TOKENIZER_IDS, type Tokenizer, type TokenizerId } from './tokenizers.ts';
export {
  startLocalLm,
  type LocalLmOptions,
  type LocalLmServer,
  type LocalLmStats,
} from './server/local-lm-server.ts';
export { startLocalFleet, type LocalFleet, type LocalFleetOptions } from './fleet.ts';
export {
  FAULT_KINDS,
  type FaultControls,
  type FaultKind,
  type FaultSpec,
} from './server/faults.ts';
export {
  TIMING_PROFILES,
  resolveTimingProfile,
  timingForFamily,
  type ModelFamily,
  type TimingProfile,
} from './server/timing-profiles.ts';
export { planCall, stepMs } from './server/engine.ts';
export { HELD_OUT_SENTENCES } from './held-out.ts';
