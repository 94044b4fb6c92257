/**
 * @module
 * Reference numbers for the seed table: the seed's published times (4 × L4, vLLM 0.4.1) and what the L4 cost
 * model (images/local-lm/README.md, "Timing: the L4 cost model") predicts for one call of N prompts, computed
 * with local-lm's own step planner so the projection and the emulator cannot disagree. Four models run in
 * parallel, so a call takes as long as its slowest model (Mistral).
 */
import { planCall } from '../../images/local-lm/index.ts';
import { timingForFamily } from '../../images/local-lm/server/timing-profiles.ts';
import type { ModelFamily } from '../../images/local-lm/server/timing-profiles.ts';

/** Seconds for 1, 10, 100 and 1000 prompts of 50 tokens, from the seed's README (haizelabs/ensembled-perplexity). */
export const SEED_PUBLISHED: Readonly<Record<number, number>> = {
  1: 0.38,
  10: 0.48,
  100: 2.16,
  1000: 19.95,
};

/** The reference ensemble's models by cost family: Mistral-7B, Llama-2-7B, vicuna-7B (Llama shape), phi-2. */
const REFERENCE_FAMILIES: readonly ModelFamily[] = ['mistral', 'llama', 'llama', 'phi2'];

/**
 * Positions per prompt in the cost model's own table, so its published predictions are reproduced. Real
 * prompts carry their prefix token too (BOS, or GPT-2's end-of-text): pass the measured length instead.
 */
export const TABLE_POSITIONS_PER_PROMPT = 50;

/**
 * Prompt lengths whose mean is `positions` (a mix of ⌊positions⌋ and ⌈positions⌉, spread evenly), so a
 * fractional measured mean such as 50.5 is planned as it is rather than rounded.
 */
export function promptLengths(prompts: number, positions: number): number[] {
  const low = Math.floor(positions);
  const extra = Math.round((positions - low) * prompts);
  return Array.from({ length: prompts }, (_, i) =>
    Math.floor(((i + 1) * extra) / prompts) > Math.floor((i * extra) / prompts) ? low + 1 : low,
  );
}

/**
 * Modelled seconds of one call of `prompts` prompts on 4 × L4, one model per GPU.
 * @param profile a short profile name: `l4-goal-bf16` (current vLLM on an L4), `l4-goal-fp8`, `floor-bf16`, `seed-v0.4.1`
 * @param positions prompt positions per prompt, prefix token included (may be fractional: a mean)
 */
export function modelledSeconds(
  profile: string,
  prompts: number,
  positions = TABLE_POSITIONS_PER_PROMPT,
): number {
  const lengths = promptLengths(prompts, positions);
  let slowest = 0;
  for (const family of REFERENCE_FAMILIES) {
    slowest = Math.max(slowest, planCall(lengths, timingForFamily(profile, family)).ms);
  }
  return slowest / 1000;
}
