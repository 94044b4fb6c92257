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
 * Positions per prompt, as in the cost model's own table, so its published predictions are reproduced.
 * A BOS token would add 2 % on the Llama and Mistral rows.
 */
const POSITIONS_PER_PROMPT = 50;

/**
 * Modelled seconds of one call of `prompts` 50-token prompts on 4 × L4, one model per GPU.
 * @param profile a short profile name: `l4-goal-bf16` (current vLLM on an L4), `l4-goal-fp8`, `floor-bf16`, `seed-v0.4.1`
 */
export function modelledSeconds(profile: string, prompts: number): number {
  const lengths = new Array<number>(prompts).fill(POSITIONS_PER_PROMPT);
  let slowest = 0;
  for (const family of REFERENCE_FAMILIES) {
    slowest = Math.max(slowest, planCall(lengths, timingForFamily(profile, family)).ms);
  }
  return slowest / 1000;
}
