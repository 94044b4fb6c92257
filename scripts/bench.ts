/**
 * @module
 * `npm run bench`: the seed table (1, 10, 100, 1000 prompts of ~50 tokens, every model) through the API.
 *
 *   npm run bench                        local stack: the four local-lm models on this CPU + a controller
 *   npm run bench -- --simulate l4       local-lm emulating 4 × L4 (cost-model profiles): a PROJECTION
 *   npm run bench -- --url URL           any running endpoint (key from $EP_API_KEY or --key)
 *   npm run bench -- --overhead          controller overhead vs. direct backend calls (scripts/bench-overhead.ts)
 *   npm run bench -- --stream-rss        controller memory for streamed jobs of 1k / 10k / 100k texts
 *   npm run bench -- --memory            controller RSS and CPU under full load (8 × 100 texts in flight, 90 s)
 *   npm run bench -- --memory --long     the same at GPU rates (L4 emulator) for 10 minutes: RSS growth
 *   npm run bench -- --score 10000       the score CLI on a 10k-line JSONL file against the local stack
 *   npm run bench -- --detect            detection: held-out false-positive rates, AUROC and TPR at 1 % FPR of
 *                                        whole-text vs max-window scores on seeded attacks (scripts/lib/bench-detect.ts)
 *
 * Options: --sizes 1,10,100,1000  --repeats 3  --models a,b  --seconds N (--memory)  --json PATH (default bench-results/<date>-<mode>.json).
 * Prints a Markdown table and writes the results, machine and exact command as JSON.
 */
import { isMainModule } from './lib/main-module.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { EnsembledPerplexityClient } from '../clients/typescript/src/index.ts';
import { SEED_PUBLISHED, modelledSeconds } from './lib/bench-cost-model.ts';
import { machineInfo } from './lib/bench-machine.ts';
import { startLocalStack } from './lib/bench-stack.ts';
import { formatSeedTable, runSeedTable } from './lib/bench-table.ts';
import type { SeedTableRow, TableColumn } from './lib/bench-table.ts';
import { formatGoals, goal } from './lib/bench-goals.ts';
import type { Goal } from './lib/bench-goals.ts';

/** `--simulate` names → local-lm timing profiles (per-model rows picked by the fleet). */
const SIMULATIONS: Record<string, string> = {
  l4: 'l4-goal-bf16',
  'l4-fp8': 'l4-goal-fp8',
  seed: 'seed-v0.4.1',
};

export interface BenchOptions {
  /** Endpoint to measure. @default - a local stack started for the run */
  readonly url?: string;
  readonly apiKey?: string;
  /** Emulate a GPU (`l4`, `l4-fp8`, `seed`) on the local stack: the table is a projection. @default - none */
  readonly simulate?: string;
  /** @default [1, 10, 100, 1000] */
  readonly sizes?: readonly number[];
  /** @default 3 */
  readonly repeats?: number;
  readonly models?: readonly string[];
  /** Live lines on stderr. @default true */
  readonly verbose?: boolean;
}

export interface BenchResult {
  kind: 'seed-table';
  mode: 'endpoint' | 'local' | 'simulated';
  /** What the numbers are: a measurement, or a projection from the cost model's emulator. */
  label: string;
  simulate?: string;
  rows: SeedTableRow[];
  references: Record<string, Record<number, number>>;
  table: string;
  /** With `--simulate`: each row within 5 % (100, 1000 prompts) or 10 % (1, 10) of the cost model's ideal. */
  goals: Goal[];
  machine: ReturnType<typeof machineInfo>;
}

/** Runs the seed table on the chosen target and returns it with its reference columns. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const profile = options.simulate ? SIMULATIONS[options.simulate] : undefined;
  if (options.simulate && !profile) {
    throw new Error(
      `--simulate ${options.simulate}: use one of ${Object.keys(SIMULATIONS).join(', ')}`,
    );
  }
  if (options.url && options.simulate) throw new Error('--simulate runs a local stack; drop --url');
  // A stand-in busy with a batch answers its health probe late on a loaded machine; the benchmark measures
  // throughput, so it does not eject a model for that.
  const stack = options.url
    ? undefined
    : await startLocalStack({
        ...(profile ? { timing: profile } : {}),
        controller: { health: { probeTimeoutMs: 30_000, failuresToEject: 20 } },
      });
  const client = new EnsembledPerplexityClient({
    baseUrl: options.url ?? (stack as { url: string }).url,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    timeoutMs: 600_000,
    // A rate limit or overload must show in the numbers, not be waited out inside them.
    retry: { retries: 0 },
  });
  const sizes = options.sizes ?? [1, 10, 100, 1000];
  try {
    const rows = await runSeedTable({
      client,
      sizes,
      repeats: options.repeats ?? 3,
      ...(options.models ? { models: options.models } : {}),
      onRow: (row) => {
        if (options.verbose !== false) {
          console.error(
            `bench: ${row.prompts} prompts: median ${row.medianSeconds.toFixed(3)} s (runs ${row.runs.map((r) => r.toFixed(3)).join(', ')})`,
          );
        }
      },
    });
    const references: Record<string, Record<number, number>> = {
      'seed published (4×L4)': SEED_PUBLISHED,
    };
    let goals: Goal[] = [];
    if (profile) {
      // The ideal of each row plans the prompts the models really counted, plus their prefix token.
      const positions = (n: number) =>
        (rows.find((r) => r.prompts === n)?.tokensPerPrompt ?? 49) + 1;
      const modelled = (p: string) =>
        Object.fromEntries(sizes.map((n) => [n, modelledSeconds(p, n, positions(n))]));
      const ideal = modelled(profile);
      references[`cost model ${profile} (ideal, measured positions)`] = ideal;
      references['cost model floor-bf16'] = modelled('floor-bf16');
      goals = rows.map((row) => {
        const limit = row.prompts >= 100 ? 5 : 10;
        const over = (row.medianSeconds / (ideal[row.prompts] as number) - 1) * 100;
        return goal(
          `${row.prompts} prompts: projected over the ideal`,
          limit,
          '%',
          Math.round(over * 10) / 10,
        );
      });
    }
    const columns: TableColumn[] = Object.entries(references).map(([title, values]) => ({
      title,
      seconds: (n) => values[n],
    }));
    const mode = options.url ? 'endpoint' : profile ? 'simulated' : 'local';
    const label =
      mode === 'simulated'
        ? `PROJECTION for 4 × L4 (${profile} emulator profiles on local-lm; not measured on a GPU)`
        : mode === 'local'
          ? 'measured: local-lm CPU models on this machine (not GPU numbers)'
          : `measured: ${options.url}`;
    const table = formatSeedTable(rows, columns, mode === 'simulated' ? 'projected' : 'measured');
    return {
      kind: 'seed-table',
      mode,
      label,
      ...(options.simulate ? { simulate: options.simulate } : {}),
      rows,
      references,
      table,
      goals,
      machine: machineInfo(),
    };
  } finally {
    await client.close();
    await stack?.close();
  }
}

async function writeJson(path: string | undefined, mode: string, value: unknown): Promise<string> {
  const file =
    path ?? join('bench-results', `${new Date().toISOString().replace(/[:.]/g, '-')}-${mode}.json`);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      simulate: { type: 'string' },
      sizes: { type: 'string' },
      repeats: { type: 'string' },
      models: { type: 'string' },
      json: { type: 'string' },
      overhead: { type: 'boolean', default: false },
      'stream-rss': { type: 'boolean', default: false },
      score: { type: 'string' },
      memory: { type: 'boolean', default: false },
      long: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      detect: { type: 'boolean', default: false },
      seed: { type: 'string' },
    },
  });
  if (values.memory) {
    const { runMemoryBench, formatMemoryBench } = await import('./lib/bench-memory.ts');
    const result = await runMemoryBench({
      long: values.long,
      ...(values.seconds ? { seconds: Number(values.seconds) } : {}),
    });
    console.log(formatMemoryBench(result));
    const m = machineInfo();
    console.log(`load average ${m.loadAverage}; ${m.date}`);
    const file = await writeJson(values.json, values.long ? 'memory-long' : 'memory', {
      kind: 'memory',
      result,
      machine: m,
    });
    console.error(`bench: wrote ${file}`);
    return;
  }
  if (values.detect) {
    const { runDetectBench, formatDetectBench } = await import('./lib/bench-detect.ts');
    const apiKey = values.key ?? process.env.EP_API_KEY;
    const result = await runDetectBench({
      ...(values.url ? { url: values.url } : {}),
      ...(apiKey ? { apiKey } : {}),
      ...(values.seed ? { seed: Number(values.seed) } : {}),
    });
    console.log(formatDetectBench(result));
    const file = await writeJson(values.json, 'detect', { ...result, machine: machineInfo() });
    console.error(`bench: wrote ${file}`);
    return;
  }
  if (values.overhead) {
    const modulePath = './bench-overhead.ts';
    let mod: {
      runOverheadBench?: (opts?: Record<string, unknown>) => Promise<unknown>;
      formatOverhead?: (result: never) => string;
    };
    try {
      mod = (await import(modulePath)) as typeof mod;
    } catch (err) {
      throw new Error(`--overhead needs scripts/bench-overhead.ts (${(err as Error).message})`);
    }
    if (!mod.runOverheadBench)
      throw new Error('scripts/bench-overhead.ts does not export runOverheadBench');
    const result = await mod.runOverheadBench({});
    console.log(
      mod.formatOverhead ? mod.formatOverhead(result as never) : JSON.stringify(result, null, 2),
    );
    const file = await writeJson(values.json, 'overhead', {
      kind: 'overhead',
      result,
      machine: machineInfo(),
    });
    console.error(`bench: wrote ${file}`);
    return;
  }
  if (values.score) {
    const { benchScoreCli } = await import('./lib/bench-score.ts');
    const result = await benchScoreCli(Number(values.score));
    console.log(
      `score CLI: ${result.lines} lines through ${result.models.length} local models in ${result.seconds.toFixed(2)} s (${result.linesPerSecond.toFixed(0)} lines/s)`,
    );
    const file = await writeJson(values.json, 'score', {
      kind: 'score-cli',
      result,
      machine: machineInfo(),
    });
    console.error(`bench: wrote ${file}`);
    return;
  }
  if (values['stream-rss']) {
    const { measureStreamMemory, formatStreamMemory } = await import('./lib/bench-stream-rss.ts');
    const sizes = values.sizes ? values.sizes.split(',').map(Number) : undefined;
    const result = await measureStreamMemory(sizes ? { sizes } : {});
    console.log(formatStreamMemory(result));
    const { measureStreamHeap, formatStreamHeap } = await import('./lib/bench-stream-heap.ts');
    const heap = await measureStreamHeap(sizes ?? [1000, 10000]);
    console.log(`\n${formatStreamHeap(heap)}`);
    const file = await writeJson(values.json, 'stream-rss', {
      kind: 'stream-rss',
      result,
      heap,
      machine: machineInfo(),
    });
    console.error(`bench: wrote ${file}`);
    return;
  }
  const apiKey = values.key ?? process.env.EP_API_KEY;
  const result = await runBench({
    ...(values.url ? { url: values.url } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(values.simulate ? { simulate: values.simulate } : {}),
    ...(values.sizes ? { sizes: values.sizes.split(',').map(Number) } : {}),
    ...(values.repeats ? { repeats: Number(values.repeats) } : {}),
    ...(values.models ? { models: values.models.split(',') } : {}),
  });
  console.log(`\n${result.label}\n\n${result.table}\n`);
  if (result.goals.length > 0) console.log(`goals:\n${formatGoals(result.goals).join('\n')}\n`);
  const m = result.machine;
  console.log(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}; load average ${m.loadAverage}; ${m.date}`,
  );
  console.log(`command: ${m.command}`);
  const file = await writeJson(values.json, result.mode, result);
  console.error(`bench: wrote ${file}`);
}

const invokedDirectly = isMainModule(import.meta.url);
if (invokedDirectly) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
