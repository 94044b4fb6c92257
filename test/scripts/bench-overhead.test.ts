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
    });
    expect(result.cpu).toHaveLength(1);
    expect(result.cpu[0]!.requestsPerRound).toBe(2);
    expect(result.cpu[0]!.cpuMsPer1000Texts.median).toBeGreaterThan(0);
    expect(result.latency.map((l) => l.models)).toEqual([1, 2]);
    for (const l of result.latency) expect(l.controller.p50).toBeGreaterThan(0);
  }, 60_000);
});
