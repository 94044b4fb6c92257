import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnsembledPerplexityClient } from '../../clients/typescript/src/index.ts';
import type { RunningController } from '../../controller/main.ts';
import { runBench } from '../../scripts/bench.ts';
import {
  SEED_PUBLISHED,
  modelledSeconds,
  promptLengths,
} from '../../scripts/lib/bench-cost-model.ts';
import { formatGoals, goal } from '../../scripts/lib/bench-goals.ts';
import { machineInfo } from '../../scripts/lib/bench-machine.ts';
import { benchPrompts } from '../../scripts/lib/bench-prompts.ts';
import { formatSeedTable, runSeedTable } from '../../scripts/lib/bench-table.ts';
import { startTestController } from '../helpers/controller.ts';
import { startFakeVllm } from '../helpers/fake-vllm.ts';
import type { FakeVllm } from '../helpers/fake-vllm.ts';

describe('bench: seed table on a tiny stack', () => {
  let backends: FakeVllm[];
  let controller: RunningController;
  let client: EnsembledPerplexityClient;

  beforeAll(async () => {
    backends = await Promise.all(
      ['m1', 'm2'].map((n, i) => startFakeVllm({ servedName: n, addsBos: i === 0 })),
    );
    controller = await startTestController({
      models: backends.map((b, i) => ({ name: `m${i + 1}`, backends: [b.url] })),
    });
    client = new EnsembledPerplexityClient({ baseUrl: controller.url });
  });
  afterAll(async () => {
    await client?.close();
    await controller?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  it('times 1 and 10 prompts with every model and formats the table with reference columns', async () => {
    const rows = await runSeedTable({ client, sizes: [1, 10], repeats: 2, warmup: 1 });
    expect(rows.map((r) => r.prompts)).toEqual([1, 10]);
    for (const row of rows) {
      expect(row.runs).toHaveLength(2);
      expect(row.medianSeconds).toBeGreaterThan(0);
      expect(row.bestSeconds).toBeLessThanOrEqual(row.medianSeconds);
      expect(row.models.sort()).toEqual(['m1', 'm2']);
      // The fake tokenizer is one token per byte: the prompts are a couple of hundred bytes.
      expect(row.tokensPerPrompt).toBeGreaterThan(100);
    }
    const table = formatSeedTable(rows, [{ title: 'seed', seconds: (n) => SEED_PUBLISHED[n] }]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^\| prompts \| measured median \(s\) .*\| seed \|$/);
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatch(/^\| 10 \| .* \| 0\.480 \|$/);
  });

  it('runs end to end through runBench against an endpoint', async () => {
    const result = await runBench({
      url: controller.url,
      sizes: [1, 10],
      repeats: 1,
      verbose: false,
    });
    expect(result.mode).toBe('endpoint');
    expect(result.label).toMatch(/^measured/);
    expect(result.rows).toHaveLength(2);
    expect(result.table).toContain('seed published (4×L4)');
    expect(result.machine.node).toBe(process.version);
  });

  it('never sends the same prompt twice (the cache cannot answer a benchmark)', () => {
    const a = benchPrompts(100, 'run-a');
    expect(new Set(a).size).toBe(100);
    expect(benchPrompts(100, 'run-b').some((p) => a.includes(p))).toBe(false);
    const words = a.map((p) => p.split(' ').length);
    expect(Math.min(...words)).toBe(48);
  });

  it("reproduces the cost model's published predictions for the L4 goal profile", () => {
    // images/local-lm/README.md, timing table, goal-bf16 column: 0.072, 0.140, 1.29, 12.76 s.
    expect(modelledSeconds('l4-goal-bf16', 1)).toBeCloseTo(0.072, 2);
    expect(modelledSeconds('l4-goal-bf16', 10)).toBeCloseTo(0.14, 2);
    expect(modelledSeconds('l4-goal-bf16', 100)).toBeCloseTo(1.28, 1);
    expect(modelledSeconds('l4-goal-bf16', 1000)).toBeCloseTo(12.74, 1);
  });

  it('plans the ideal with the measured positions per prompt, fractional means included', () => {
    const lengths = promptLengths(1000, 50.5);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(50_500);
    expect(new Set(lengths)).toEqual(new Set([50, 51]));
    expect(promptLengths(10, 50)).toEqual(new Array(10).fill(50));
    // 50.5 positions cost more than the table's 50, by about the extra 1 % of tokens on the big rows.
    const ratio =
      modelledSeconds('l4-goal-bf16', 1000, 50.5) / modelledSeconds('l4-goal-bf16', 1000);
    expect(ratio).toBeGreaterThan(1.005);
    expect(ratio).toBeLessThan(1.015);
  });

  it('prints each goal with met or NOT met', () => {
    const goals = [
      goal('wall', 55, 'ms', 40),
      goal('delay', 10, 'ms', 12),
      goal('x', 1, 'ms', NaN),
    ];
    expect(goals.map((g) => g.met)).toEqual([true, false, false]);
    const lines = formatGoals(goals);
    expect(lines[0]).toMatch(/wall: 40 ms \(goal ≤ 55 ms\): met$/);
    expect(lines[1]).toMatch(/NOT met$/);
  });

  it('records the machine and the command without the API key', () => {
    const info = machineInfo([
      'node',
      'bench.ts',
      '--url',
      'http://x',
      '--key',
      'ep_secret',
      '--key=ep_other',
    ]);
    expect(info.cores).toBeGreaterThan(0);
    expect(info.command).toBe('npm run bench -- --url http://x --key *** --key=***');
  });
});
