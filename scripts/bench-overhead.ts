/**
 * @module
 * Controller overhead benchmark: what the controller itself costs, with backends that answer instantly.
 *
 * - CPU: the controller runs in a child process; its `process.cpuUsage()` before and after scoring rounds of
 *   distinct texts (no cache hits) against N models gives CPU ms per 1000 texts × N models, for batched
 *   requests and for one text per request.
 * - Latency: one text at a time, through the controller vs. the same completion request straight to a backend;
 *   the difference of the percentiles is the added latency (one model, and all models at once).
 *
 * Run: `npx tsx scripts/bench-overhead.ts [--texts 1000] [--rounds 5] [--json]`, or from `npm run bench --
 * --overhead`, which calls `runOverheadBench`.
 */
import { isMainModule } from './lib/main-module.ts';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { ControllerChild } from './lib/controller-child.ts';
import type { LoopDelay } from './lib/controller-child.ts';
import { formatGoals, goal } from './lib/bench-goals.ts';
import type { Goal } from './lib/bench-goals.ts';
import {
  instantEngine,
  startLocalLm,
  type InstantEngine,
  type LocalLmServer,
} from '../images/local-lm/index.ts';

export interface OverheadOptions {
  /** Models (instant backends, alternating Llama-style and GPT-2-style tokenizers). @default 4 */
  readonly models?: number;
  /** Texts per measured round. @default 1000 */
  readonly texts?: number;
  /** Words (≈ tokens) per text. @default 50 */
  readonly wordsPerText?: number;
  /** Measured rounds per scenario (the median is reported). @default 5 */
  readonly rounds?: number;
  /** Unmeasured rounds first, for the JIT. @default 3 */
  readonly warmupRounds?: number;
  /** Texts per request of each CPU scenario. @default [100, 1] */
  readonly textsPerRequest?: readonly number[];
  /** Requests in flight at once in the CPU scenarios. @default 16 */
  readonly concurrency?: number;
  /** Sequential single-text calls per latency series. @default 500 */
  readonly latencyRuns?: number;
  /** Run the controller with its Prometheus metrics, as in production. @default true */
  readonly metrics?: boolean;
  /** Timed 1000-prompt calls on the legacy route (`POST /ensemble_perplexity`). @default 7 */
  readonly legacyRuns?: number;
  /** Prompts per legacy call. @default 1000 */
  readonly legacyPrompts?: number;
}

/** One call of many prompts on the legacy route, all models: wall time and the controller's event-loop delay. */
export interface LegacyScenario {
  prompts: number;
  /** Wall ms per call: median, min, max over the timed calls. */
  wallMs: { median: number; min: number; max: number };
  /** Event-loop delay of the controller during the calls (ms; p99 is the worst call's). */
  loopDelay: LoopDelay;
}

export interface CpuScenario {
  textsPerRequest: number;
  requestsPerRound: number;
  /** Controller CPU (user + system) per 1000 texts × all models, ms: median, min and max over rounds. */
  cpuMsPer1000Texts: { median: number; min: number; max: number };
  /** Wall time of a round, ms (median). */
  wallMsPerRound: number;
}

export interface LatencySeries {
  p50: number;
  p99: number;
}

export interface LatencyComparison {
  models: number;
  direct: LatencySeries;
  controller: LatencySeries;
  /** controller − direct, per percentile (ms). */
  added: LatencySeries;
}

export interface OverheadResult {
  models: number;
  textsPerRound: number;
  wordsPerText: number;
  cpu: CpuScenario[];
  latency: LatencyComparison[];
  legacy: LegacyScenario | undefined;
  /** Each goal with its measured value and whether it was met. */
  goals: Goal[];
  node: string;
}

/**
 * Batched CPU (instant backends), one-text requests, added latency of one text through one model, the legacy
 * 1000-prompt call (the earlier Python server's figure with instant engines on this machine: ~50 ms) and the
 * controller's event-loop delay during it.
 */
export const OVERHEAD_GOALS = {
  batchedCpuMsPer1000Texts: 120,
  oneTextCpuMsPer1000Texts: 180,
  addedP50Ms: 1,
  addedP99Ms: 5,
  legacyWallMs: 55,
  loopDelayP99Ms: 10,
};

const VOCAB = Array.from({ length: 4096 }, (_, i) => `w${(i * 2654435761) % 99991}`);

/** Distinct texts of `words` words; `tag` keeps rounds apart so nothing is a cache hit. */
function makeTexts(n: number, words: number, tag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let t = `${tag}-${i}`;
    for (let w = 1; w < words; w++) t += ` ${VOCAB[(i * 7919 + w * 104729) % VOCAB.length]}`;
    out.push(t);
  }
  return out;
}

function percentile(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function series(samples: number[]): LatencySeries {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const median = (xs: readonly number[]) => series([...xs]).p50;
const round2 = (x: number) => Math.round(x * 100) / 100;

async function postJson(pool: Pool, path: string, body: unknown): Promise<void> {
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
}

/** Rendered choices each instant backend keeps: more than one round's texts. */
const ROUND_CACHE = 4096;

/** The scoring request the controller sends for text prompts (see controller/scheduler/prompt-batcher.ts). */
const scoringBody = (model: string, prompt: string[]) => ({
  model,
  prompt,
  max_tokens: 0,
  echo: true,
  prompt_logprobs: 0,
  return_token_ids: true,
  temperature: 0,
});

/**
 * Readies the backends for a round of `texts` outside the measurement: each tokenizes them ahead and answers
 * them once, so during the round it serves the rendered choices from memory and costs almost nothing.
 */
async function prepareRound(
  backends: readonly LocalLmServer[],
  engines: readonly InstantEngine[],
  texts: readonly string[],
): Promise<void> {
  await Promise.all(
    backends.map(async (backend, i) => {
      const engine = engines[i] as InstantEngine;
      engine.forget();
      engine.prepare(texts);
      const pool = new Pool(backend.url, { connections: 1 });
      try {
        const prompts = texts.map((t) => engine.promptFor(t));
        for (let at = 0; at < prompts.length; at += 1024) {
          const body = scoringBody(engine.name, prompts.slice(at, at + 1024));
          await postJson(pool, '/v1/completions', body);
        }
      } finally {
        await pool.close();
      }
    }),
  );
}

/** Runs `tasks` with at most `limit` in flight. */
async function bounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await (tasks[next++] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

export async function runOverheadBench(options: OverheadOptions = {}): Promise<OverheadResult> {
  const nModels = options.models ?? 4;
  const nTexts = options.texts ?? 1000;
  const words = options.wordsPerText ?? 50;
  const rounds = options.rounds ?? 5;
  const warmup = options.warmupRounds ?? 3;
  const perRequest = options.textsPerRequest ?? [100, 1];
  const concurrency = options.concurrency ?? 16;
  const latencyRuns = options.latencyRuns ?? 500;

  const engines: InstantEngine[] = [];
  const backends: LocalLmServer[] = [];
  for (let m = 0; m < nModels; m++) {
    const engine = instantEngine({ name: `m${m}`, addsBos: m % 2 === 0 });
    engines.push(engine);
    backends.push(
      await startLocalLm({ model: engine, maxModelLen: 4096, choiceCacheSize: ROUND_CACHE }),
    );
  }
  const names = engines.map((e) => e.name);
  const controller = await ControllerChild.start(
    { models: backends.map((b) => ({ name: b.servedName, backends: [b.url] })) },
    { metrics: options.metrics ?? true },
  );
  const toController = new Pool(controller.url, { connections: concurrency });
  const toBackend = new Pool((backends[0] as LocalLmServer).url, { connections: 1 });
  try {
    const cpu: CpuScenario[] = [];
    let tagCounter = 0;
    for (const k of perRequest) {
      const samples: number[] = [];
      const walls: number[] = [];
      for (let r = 0; r < warmup + rounds; r++) {
        const texts = makeTexts(nTexts, words, `r${tagCounter++}`);
        await prepareRound(backends, engines, texts);
        const tasks: (() => Promise<void>)[] = [];
        for (let i = 0; i < texts.length; i += k) {
          const slice = texts.slice(i, i + k);
          tasks.push(() => postJson(toController, '/v1/perplexity', { texts: slice }));
        }
        const before = await controller.cpuMs();
        const started = performance.now();
        await bounded(tasks, concurrency);
        const wall = performance.now() - started;
        const used = (await controller.cpuMs()) - before;
        if (r >= warmup) {
          samples.push((used * 1000) / nTexts);
          walls.push(wall);
        }
      }
      cpu.push({
        textsPerRequest: k,
        requestsPerRound: Math.ceil(nTexts / k),
        cpuMsPer1000Texts: {
          median: round2(median(samples)),
          min: round2(Math.min(...samples)),
          max: round2(Math.max(...samples)),
        },
        wallMsPerRound: round2(median(walls)),
      });
    }

    const legacy = await measureLegacy(
      controller,
      toController,
      backends,
      engines,
      options.legacyPrompts ?? 1000,
      options.legacyRuns ?? 7,
      words,
      warmup,
    );

    const latency: LatencyComparison[] = [];
    for (const models of latencyRuns > 0 ? [[names[0] as string], names] : []) {
      const texts = makeTexts(latencyRuns + 50, words, `lat${models.length}`);
      await prepareRound(backends, engines, texts);
      const direct: number[] = [];
      const through: number[] = [];
      const engine0 = engines[0] as InstantEngine;
      for (let i = 0; i < texts.length; i++) {
        const text = texts[i] as string;
        // Interleaved, so that machine noise hits both series alike.
        let t0 = performance.now();
        await postJson(
          toBackend,
          '/v1/completions',
          scoringBody(engine0.name, [engine0.promptFor(text)]),
        );
        const d = performance.now() - t0;
        t0 = performance.now();
        await postJson(toController, '/v1/perplexity', { texts: [text], models });
        const c = performance.now() - t0;
        if (i >= 50) {
          direct.push(d);
          through.push(c);
        }
      }
      const ds = series(direct);
      const cs = series(through);
      latency.push({
        models: models.length,
        direct: { p50: round2(ds.p50), p99: round2(ds.p99) },
        controller: { p50: round2(cs.p50), p99: round2(cs.p99) },
        added: { p50: round2(cs.p50 - ds.p50), p99: round2(cs.p99 - ds.p99) },
      });
    }

    const G = OVERHEAD_GOALS;
    const cpuOf = (k: number) =>
      cpu.find((s) => s.textsPerRequest === k)?.cpuMsPer1000Texts.median ?? NaN;
    const one = latency[0];
    const goals: Goal[] = [
      goal(
        'controller CPU per 1000 texts × all models, 100 texts/request',
        G.batchedCpuMsPer1000Texts,
        'ms',
        cpuOf(100),
      ),
      goal(
        'controller CPU per 1000 one-text requests × all models',
        G.oneTextCpuMsPer1000Texts,
        'ms',
        cpuOf(1),
      ),
      goal('added latency p50, one text, one model', G.addedP50Ms, 'ms', one?.added.p50 ?? NaN),
      goal('added latency p99, one text, one model', G.addedP99Ms, 'ms', one?.added.p99 ?? NaN),
      goal(
        `legacy call of ${legacy.prompts} prompts, wall (median)`,
        G.legacyWallMs,
        'ms',
        legacy.wallMs.median,
      ),
      goal(
        `event-loop delay p99 during a ${legacy.prompts}-prompt call`,
        G.loopDelayP99Ms,
        'ms',
        legacy.loopDelay.p99,
      ),
    ];
    return {
      models: nModels,
      textsPerRound: nTexts,
      wordsPerText: words,
      cpu,
      latency,
      legacy,
      goals,
      node: process.version,
    };
  } finally {
    await toController.close();
    await toBackend.close();
    await controller.close();
    await Promise.all(backends.map((b) => b.close()));
  }
}

/** Legacy-route calls of `prompts` new prompts each, every model: wall time and event-loop delay per call. */
async function measureLegacy(
  controller: ControllerChild,
  pool: Pool,
  backends: readonly LocalLmServer[],
  engines: readonly InstantEngine[],
  prompts: number,
  runs: number,
  words: number,
  warmup: number,
): Promise<LegacyScenario> {
  const walls: number[] = [];
  const p99s: number[] = [];
  const p50s: number[] = [];
  let max = 0;
  for (let r = 0; r < warmup + runs; r++) {
    const texts = makeTexts(prompts, words, `legacy${r}`);
    await prepareRound(backends, engines, texts);
    await controller.resetLoopDelay();
    const started = performance.now();
    await postJson(pool, '/ensemble_perplexity', { prompts: texts });
    const wall = performance.now() - started;
    const delay = await controller.loopDelay();
    if (r >= warmup) {
      walls.push(wall);
      p99s.push(delay.p99);
      p50s.push(delay.p50);
      max = Math.max(max, delay.max);
    }
  }
  return {
    prompts,
    wallMs: {
      median: round2(median(walls)),
      min: round2(Math.min(...walls)),
      max: round2(Math.max(...walls)),
    },
    loopDelay: { p50: median(p50s), p99: Math.max(...p99s), max },
  };
}

/** Human-readable summary. */
export function formatOverhead(r: OverheadResult): string {
  const lines = [
    `controller overhead, ${r.models} models, ${r.textsPerRound} texts × ~${r.wordsPerText} tokens per round (node ${r.node})`,
    '',
    'CPU of the controller process per 1000 texts × all models (median [min–max]):',
  ];
  for (const s of r.cpu) {
    lines.push(
      `  ${String(s.textsPerRequest).padStart(4)} text(s)/request: ${s.cpuMsPer1000Texts.median} ms [${s.cpuMsPer1000Texts.min}–${s.cpuMsPer1000Texts.max}], round wall ${s.wallMsPerRound} ms`,
    );
  }
  lines.push('', 'latency of one text (ms): direct to a backend vs. through the controller');
  for (const l of r.latency) {
    lines.push(
      `  ${l.models} model(s): direct p50 ${l.direct.p50} p99 ${l.direct.p99} | controller p50 ${l.controller.p50} p99 ${l.controller.p99} | added p50 ${l.added.p50} p99 ${l.added.p99}`,
    );
  }
  if (r.legacy) {
    const l = r.legacy;
    lines.push(
      '',
      `legacy route, ${l.prompts} prompts × ${r.models} models per call: wall median ${l.wallMs.median} ms [${l.wallMs.min}–${l.wallMs.max}]; controller event-loop delay p50 ${l.loopDelay.p50} ms, p99 ${l.loopDelay.p99} ms, max ${l.loopDelay.max} ms`,
    );
  }
  lines.push('', 'goals:', ...formatGoals(r.goals));
  return lines.join('\n');
}

const invokedDirectly = isMainModule(import.meta.url);
if (invokedDirectly) {
  const { values } = parseArgs({
    options: {
      texts: { type: 'string' },
      rounds: { type: 'string' },
      models: { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-metrics': { type: 'boolean', default: false },
    },
  });
  runOverheadBench({
    ...(values.texts ? { texts: Number(values.texts) } : {}),
    ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    ...(values.models ? { models: Number(values.models) } : {}),
    metrics: !values['no-metrics'],
  }).then(
    (r) => console.log(values.json ? JSON.stringify(r, null, 2) : formatOverhead(r)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
