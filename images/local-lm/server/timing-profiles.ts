/**
 * @module
 * Named timing profiles for the GPU-engine emulator; where each number comes from is in images/local-lm/README.md
 * ("Timing: the L4 cost model"): per step `a + max(m, b × tokens)`, at most `c` sequences and `d` tokens
 * per step, plus `A` per call. "seed" reproduces the seed's vLLM 0.4.1 (whole prompts per step, no chunked
 * prefill); "l4-goal" is current vLLM V1 on an L4 (chunked prefill); "floor" is the datasheet bound.
 */

export interface TimingProfile {
  name: string;
  /** A: fixed cost per HTTP call, in ms (the table gives seconds). */
  callMs: number;
  /** a: fixed cost per engine step, in ms. */
  stepMs: number;
  /** b: cost per token in a step, in ms. */
  tokenMs: number;
  /** m: least time of a step (one pass over the weights), in ms. */
  floorMs: number;
  /** c: most sequences in one step. */
  maxSeqs: number;
  /** d: most tokens in one step. */
  maxTokens: number;
  /** Chunked prefill (V1): a prompt may be split across steps. Off (V0): whole prompts only. */
  chunkedPrefill: boolean;
}

type Row = [
  name: string,
  A: number,
  a: number,
  b: number,
  m: number,
  c: number,
  d: number,
  chunked: boolean,
];

// prettier-ignore
const ROWS: Row[] = [
  // seed-v0.4.1-eager: least-squares fit to the seed's published table (Mistral), FLOP-scaled for the others.
  ['seed-v0.4.1-mistral',  0.26,  70, 0.296, 48,   16, 2048, false],
  ['seed-v0.4.1-llama',    0.26,  70, 0.275, 45,   16, 2048, false],
  ['seed-v0.4.1-phi2',     0.26,  70, 0.114, 18.5, 16, 2048, false],
  // goal-bf16 (vLLM V1 on an L4, 58 TFLOP/s for 7B, 50 for phi-2).
  ['l4-goal-bf16-mistral', 0.005, 10, 0.250, 57,  256, 2048, true],
  ['l4-goal-bf16-llama',   0.005, 10, 0.232, 53,  256, 2048, true],
  ['l4-goal-bf16-phi2',    0.005, 10, 0.111, 22,  256, 2048, true],
  // goal-fp8 (W8A8, 1.5× bf16 on prefill GEMMs).
  ['l4-goal-fp8-mistral',  0.005, 10, 0.167, 28,  256, 2048, true],
  ['l4-goal-fp8-llama',    0.005, 10, 0.155, 26,  256, 2048, true],
  ['l4-goal-fp8-phi2',     0.005, 10, 0.074, 11,  256, 2048, true],
  // floor-bf16: datasheet peak (121 TFLOP/s, 300 GB/s), no overheads, unbounded steps.
  ['floor-bf16-mistral',   0,      0, 0.120, 48,  Infinity, Infinity, true],
  ['floor-bf16-llama',     0,      0, 0.111, 45,  Infinity, Infinity, true],
  ['floor-bf16-phi2',      0,      0, 0.046, 18.5, Infinity, Infinity, true],
];

export const TIMING_PROFILES: Readonly<Record<string, TimingProfile>> = Object.fromEntries(
  ROWS.map(([name, A, a, b, m, c, d, chunked]) => [
    name,
    {
      name,
      callMs: A * 1000,
      stepMs: a,
      tokenMs: b,
      floorMs: m,
      maxSeqs: c,
      maxTokens: d,
      chunkedPrefill: chunked,
    },
  ]),
);

/** Short names map to the Mistral rows: the slowest model bounds a four-model call. */
const ALIASES: Record<string, string> = {
  'seed-v0.4.1': 'seed-v0.4.1-mistral',
  'l4-goal-bf16': 'l4-goal-bf16-mistral',
  'l4-goal-fp8': 'l4-goal-fp8-mistral',
  'floor-bf16': 'floor-bf16-mistral',
};

/** Resolves a profile name (or passes a profile through); throws listing the known names. */
export function resolveTimingProfile(p: TimingProfile | string): TimingProfile {
  if (typeof p !== 'string') return p;
  const found = TIMING_PROFILES[ALIASES[p] ?? p];
  if (!found) {
    const names = [...Object.keys(ALIASES), ...Object.keys(TIMING_PROFILES)].join(', ');
    throw new Error(`unknown timing profile ${p}; use one of ${names}`);
  }
  return found;
}

export type ModelFamily = 'mistral' | 'llama' | 'phi2';

/**
 * The row of a profile family for one model family: `('l4-goal-bf16', 'phi2')` → `l4-goal-bf16-phi2`. Full
 * names and profile objects pass through unchanged.
 */
export function timingForFamily(p: TimingProfile | string, family: ModelFamily): TimingProfile {
  if (typeof p === 'string' && ALIASES[p]) return resolveTimingProfile(`${p}-${family}`);
  return resolveTimingProfile(p);
}

/** A profile in which every call takes `ms` and the steps take no time: a plain fixed response delay. */
export function fixedLatency(ms: number): TimingProfile {
  if (!(ms >= 0)) throw new Error(`a fixed latency must be ≥ 0 ms, got ${ms}`);
  return {
    name: `fixed-${ms}ms`,
    callMs: ms,
    stepMs: 0,
    tokenMs: 0,
    floorMs: 0,
    maxSeqs: Infinity,
    maxTokens: Infinity,
    chunkedPrefill: true,
  };
}
