/**
 * @module
 * Controller memory and CPU under full load: the controller runs as its own process (request log at info level
 * and Prometheus metrics on, as in production) in front of the four local-lm models, while `concurrency`
 * requests of `textsPerRequest` new texts each are kept in flight. Its RSS is sampled from /proc; at the end a
 * full GC shows what is really kept. The long mode runs the same load against the L4 emulator (GPU rates,
 * ~75 texts/s) for ten minutes and fits the RSS growth per minute.
 */
import { readFile } from 'node:fs/promises';
import { Pool } from 'undici';
import { startLocalFleet } from '../../images/local-lm/index.ts';
import { ControllerChild } from './controller-child.ts';
import { startProcessFleet } from './process-fleet.ts';
import { benchPrompts } from './bench-prompts.ts';
import { formatGoals, goal } from './bench-goals.ts';
import type { Goal } from './bench-goals.ts';

export interface MemoryBenchOptions {
  /** Seconds of load. @default 90 (600 in long mode) */
  readonly seconds?: number;
  /** GPU rates: the local models emulate L4 timing (`l4-goal-bf16`), for the no-growth check. @default false */
  readonly long?: boolean;
  /** Requests in flight. @default 8 */
  readonly concurrency?: number;
  /** @default 100 */
  readonly textsPerRequest?: number;
  /** RSS sampling period, ms. @default 250 */
  readonly sampleMs?: number;
  /** Controller config beyond the models (e.g. `{ cache: { maxBytes: 0 } }`). @default {} */
  readonly controller?: Record<string, unknown>;
  /** Live progress on stderr. @default true */
  readonly verbose?: boolean;
}

export interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  rssMiB: number;
}

export interface MemoryBenchResult {
  mode: 'full-load' | 'gpu-rate';
  seconds: number;
  concurrency: number;
  textsPerRequest: number;
  texts: number;
  textsPerSecond: number;
  rssIdleMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  /** After a full GC at the end of the load. */
  rssAfterGcMiB: number;
  heapAfterGcMiB: number;
  /** V8 heap reserved after the GC (used + free pages kept), and memory outside it (Buffers). */
  heapTotalAfterGcMiB: number;
  externalAfterGcMiB: number;
  /** Least-squares slope of RSS over the second half of the run, MiB per minute. */
  growthMiBPerMinute: number;
  /** Controller CPU (user + system) per 1000 texts × all models, ms. */
  cpuMsPer1000Texts: number;
  samples: MemorySample[];
  goals: Goal[];
}

export const MEMORY_GOALS = {
  rssEndMiB: 200,
  rssPeakMiB: 250,
  cpuMsPer1000Texts: 80,
  /** "No growth" at GPU rates: what a fitted slope may show from noise alone. */
  growthMiBPerMinute: 1,
};

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round((Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024) * 10) / 10;
}

/** Slope (per minute) of the least-squares line through the samples at t ≥ from. */
function slopePerMinute(samples: readonly MemorySample[], from: number): number {
  const xs = samples.filter((s) => s.t >= from);
  if (xs.length < 2) return NaN;
  const mx = xs.reduce((a, s) => a + s.t, 0) / xs.length;
  const my = xs.reduce((a, s) => a + s.rssMiB, 0) / xs.length;
  let num = 0;
  let den = 0;
  for (const s of xs) {
    num += (s.t - mx) * (s.rssMiB - my);
    den += (s.t - mx) ** 2;
  }
  return den > 0 ? Math.round((num / den) * 60 * 100) / 100 : NaN;
}

export async function runMemoryBench(options: MemoryBenchOptions = {}): Promise<MemoryBenchResult> {
  if (process.platform !== 'linux') throw new Error('--memory reads /proc: Linux only');
  const long = options.long ?? false;
  const seconds = options.seconds ?? (long ? 600 : 90);
  const concurrency = options.concurrency ?? 8;
  const perRequest = options.textsPerRequest ?? 100;
  const sampleMs = options.sampleMs ?? 250;
  const say = (line: string) => options.verbose !== false && console.error(`bench: ${line}`);
  // At GPU rates each emulated GPU keeps its own clock in its own process.
  const fleet: { servers: { servedName: string; url: string }[]; close(): Promise<void> } = long
    ? await startProcessFleet({ timing: 'l4-goal-bf16' })
    : await startLocalFleet({ host: '127.0.0.1' });
  const controller = await ControllerChild.start(
    {
      ...options.controller,
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
    },
    { metrics: true, logLevel: 'info' },
  );
  const pool = new Pool(controller.url, { connections: concurrency });
  const tag = `${Date.now().toString(36)}m`;
  let sent = 0;
  let texts = 0;
  const post = async (): Promise<void> => {
    const prompts = benchPrompts(perRequest, `${tag}${sent}`, ++sent);
    const res = await pool.request({
      method: 'POST',
      path: '/v1/perplexity',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: prompts }),
    });
    const body = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(`/v1/perplexity answered ${res.statusCode}: ${body.slice(0, 200)}`);
    texts += perRequest;
  };
  try {
    await post(); // warm-up: connections, JIT, model discovery
    texts = 0;
    const rssIdle = await rssMiB(controller.pid);
    const samples: MemorySample[] = [];
    const cpuBefore = await controller.cpuMs();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    let lastSay = started;
    const sampler = setInterval(() => {
      void rssMiB(controller.pid).then((rss) => {
        const t = (performance.now() - started) / 1000;
        samples.push({ t: Math.round(t * 100) / 100, rssMiB: rss });
        if (performance.now() - lastSay > 10_000) {
          lastSay = performance.now();
          say(`${t.toFixed(0)} s: RSS ${rss} MiB, ${texts} texts`);
        }
      });
    }, sampleMs);
    const worker = async () => {
      while (performance.now() < deadline) await post();
    };
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      clearInterval(sampler);
    }
    const elapsed = (performance.now() - started) / 1000;
    const cpu = (await controller.cpuMs()) - cpuBefore;
    const rssEnd = await rssMiB(controller.pid);
    const afterGc = await controller.memoryAfterGc();
    const rssPeak = Math.max(rssEnd, ...samples.map((s) => s.rssMiB));
    const growth = slopePerMinute(samples, elapsed / 2);
    const cpuPer1000 = Math.round(((cpu * 1000) / texts) * 10) / 10;
    const G = MEMORY_GOALS;
    const goals: Goal[] = long
      ? [
          goal(
            'RSS growth over the second half at GPU rates',
            G.growthMiBPerMinute,
            'MiB/min',
            growth,
          ),
        ]
      : [
          goal('controller RSS at the end of the full-load run', G.rssEndMiB, 'MiB', rssEnd),
          goal('controller RSS peak during the full-load run', G.rssPeakMiB, 'MiB', rssPeak),
          goal(
            'controller CPU per 1000 texts × 4 models under full load',
            G.cpuMsPer1000Texts,
            'ms',
            cpuPer1000,
          ),
        ];
    return {
      mode: long ? 'gpu-rate' : 'full-load',
      seconds: Math.round(elapsed * 10) / 10,
      concurrency,
      textsPerRequest: perRequest,
      texts,
      textsPerSecond: Math.round(texts / elapsed),
      rssIdleMiB: rssIdle,
      rssPeakMiB: rssPeak,
      rssEndMiB: rssEnd,
      rssAfterGcMiB: mib(afterGc.rss),
      heapAfterGcMiB: mib(afterGc.heapUsed),
      heapTotalAfterGcMiB: mib(afterGc.heapTotal),
      externalAfterGcMiB: mib(afterGc.external),
      growthMiBPerMinute: growth,
      cpuMsPer1000Texts: cpuPer1000,
      samples,
      goals,
    };
  } finally {
    await pool.close();
    await controller.close();
    await fleet.close();
  }
}

export function formatMemoryBench(r: MemoryBenchResult): string {
  return [
    `controller under ${r.mode === 'gpu-rate' ? 'GPU-rate load (L4 emulator)' : 'full load (local models)'}: ${r.concurrency} × ${r.textsPerRequest}-text requests in flight for ${r.seconds} s, ${r.texts} texts (${r.textsPerSecond}/s), four models`,
    `  RSS idle ${r.rssIdleMiB} MiB, peak ${r.rssPeakMiB} MiB, end ${r.rssEndMiB} MiB; after a full GC: RSS ${r.rssAfterGcMiB} MiB, heap ${r.heapAfterGcMiB} MiB used of ${r.heapTotalAfterGcMiB} MiB, external ${r.externalAfterGcMiB} MiB`,
    `  RSS growth over the second half: ${r.growthMiBPerMinute} MiB/min; controller CPU ${r.cpuMsPer1000Texts} ms per 1000 texts × 4 models`,
    'goals:',
    ...formatGoals(r.goals),
  ].join('\n');
}
