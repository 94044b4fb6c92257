/**
 * @module
 * Public surface of local-lm: vLLM's HTTP API in front of a pluggable model engine: small real n-gram language
 * models on CPU (the default), `instant` (answers at almost no cost, for overhead benchmarks) or `scripted`
 * (predictable bytes for tests).
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
export type { ModelEngine, PositionScore } from './engines/model-engine.ts';
export { instantEngine, type InstantEngine, type InstantEngineOptions } from './engines/instant.ts';
export {
  scriptedEngine,
  scriptedLogprob,
  scriptedTokenIds,
  SCRIPTED_ALTERNATIVE,
  SCRIPTED_BOS,
  SCRIPTED_EOS,
  type ScriptedEngineOptions,
} from './engines/scripted.ts';
export { getTokenizer, TOKENIZER_IDS, type Tokenizer, type TokenizerId } from './tokenizers.ts';
export {
  startLocalLm,
  type LocalLmOptions,
  type LocalLmServer,
  type LocalLmStats,
} from './server/local-lm-server.ts';
export type { ReleaseQuirks } from './server/release-quirks.ts';
export type { CompletionExchange } from './server/routes.ts';
export { startLocalFleet, type LocalFleet, type LocalFleetOptions } from './fleet.ts';
export {
  FAULT_KINDS,
  type FaultControls,
  type FaultKind,
  type FaultSpec,
} from './server/faults.ts';
export {
  TIMING_PROFILES,
  fixedLatency,
  resolveTimingProfile,
  timingForFamily,
  type ModelFamily,
  type TimingProfile,
} from './server/timing-profiles.ts';
export { planCall, stepMs } from './server/gpu-emulator.ts';
export { HELD_OUT_SENTENCES } from './held-out.ts';
