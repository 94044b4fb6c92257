import { describe, expect, it } from 'vitest';
import { runOverheadBench } from '../../scripts/bench-overhead.ts';

describe('npm run bench -- --overhead', () => {
  it('measures a controller child against instant local-lm backends of both tokenizer styles', async () => {
    const result = await runOverheadBench({
      models: 2,
      texts: 20,
      wordsPerText: 10,
      rounds: 1,
      warmupRounds: 0,
      textsPerRequest: [10],
      latencyRuns: 3,
      legacyRuns: 1,
      legacyPrompts: 20,
    });
    expect(result.cpu).toHaveLength(1);
    expect(result.cpu[0]!.requestsPerRound).toBe(2);
    expect(result.cpu[0]!.cpuMsPer1000Texts.median).toBeGreaterThan(0);
    expect(result.latency.map((l) => l.models)).toEqual([1, 2]);
    for (const l of result.latency) expect(l.controller.p50).toBeGreaterThan(0);
    expect(result.legacy?.prompts).toBe(20);
    expect(result.legacy?.wallMs.median).toBeGreaterThan(0);
    expect(result.legacy?.loopDelay.p99).toBeGreaterThanOrEqual(0);
    // Every goal is printed with its measured value and whether it was met.
    expect(result.goals.map((g) => g.name)).toHaveLength(6);
    for (const g of result.goals) expect(g.met).toBe(g.measured <= g.limit);
  }, 60_000);
});
