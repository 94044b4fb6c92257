/**
 * @module
 * Does a streamed job's memory grow with its size? Runs the controller as its own process (so its resident set
 * is not mixed with the client's or the backends'), streams jobs of increasing size through it from the local
 * models, and samples the controller's RSS from /proc while each job runs. Flat peaks across sizes mean the
 * results are not accumulated; what does grow is the parsed request (the texts themselves).
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startLocalFleet } from '../../images/local-lm/index.ts';

export interface StreamMemoryOptions {
  /** Texts per streamed job. @default [1000, 10000] */
  readonly sizes?: readonly number[];
  /** Local models to score with. @default ['llama-sotu', 'gpt2-brown'] */
  readonly models?: readonly string[];
  /** RSS sampling period in ms. @default 25 */
  readonly sampleMs?: number;
}

export interface StreamMemoryRow {
  texts: number;
  /** Lines received (texts + the summary). */
  lines: number;
  seconds: number;
  requestBytes: number;
  /** Controller RSS just before the job, in MiB. */
  rssBeforeMiB: number;
  /** Highest controller RSS sampled during the job, in MiB. */
  rssPeakMiB: number;
  /** Highest V8 heap in use sampled during the job (from the controller's /metrics), in MiB. */
  heapPeakMiB: number;
}

export interface StreamMemoryResult {
  models: string[];
  /** Controller RSS after start-up and a small warm-up job, in MiB. */
  rssIdleMiB: number;
  rows: StreamMemoryRow[];
}

const TEXT_WORDS = [
  'river',
  'market',
  'letter',
  'garden',
  'morning',
  'harbor',
  'village',
  'engine',
];

function text(i: number): string {
  const w = (k: number) => TEXT_WORDS[(i * 7 + k * 3) % TEXT_WORDS.length];
  return `Item ${i}: the ${w(1)} near the ${w(2)} was quiet in the ${w(3)}.`;
}

/** V8 heap in use, from the controller's own Prometheus metrics (live objects plus not-yet-collected garbage). */
async function heapMiB(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const bytes = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

export async function measureStreamMemory(
  options: StreamMemoryOptions = {},
): Promise<StreamMemoryResult> {
  if (process.platform !== 'linux') throw new Error('--stream-rss reads /proc: Linux only');
  const sizes = options.sizes ?? [1000, 10000];
  const names = options.models ?? ['llama-sotu', 'gpt2-brown'];
  const fleet = await startLocalFleet({ host: '127.0.0.1', names });
  const dir = await mkdtemp(join(tmpdir(), 'ep-stream-rss-'));
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      host: '127.0.0.1',
      port: 0,
      logLevel: 'info',
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
      limits: { maxTextsPerStream: Math.max(...sizes) },
      // Every text is new anyway; no cache keeps the measurement about the stream alone.
      cache: { maxBytes: 0 },
    }),
  );
  // Both resolved from this file, so the probe works from any working directory.
  const entry = fileURLToPath(new URL('../../controller/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), entry], {
    env: { ...process.env, EP_CONFIG: configPath, EP_KEY_STORE: 'none' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolvePort, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'controller listening' && entry.url) resolvePort(entry.url);
        } catch {
          // not a log line
        }
      });
      child.once('exit', (code) => reject(new Error(`controller exited with ${code}`)));
    });
    await waitReady(url);
    const run = async (n: number, sampleMs: number, pid: number) => {
      const body = JSON.stringify({
        texts: Array.from({ length: n }, (_, i) => text(i)),
        stream: true,
      });
      const before = await rssMiB(pid);
      let peak = before;
      let heapPeak = await heapMiB(url);
      let sampling = true;
      const sampler = (async () => {
        for (let i = 0; sampling; i++) {
          peak = Math.max(peak, await rssMiB(pid));
          // A scrape costs the controller a little CPU: every 8th sample is enough for the heap.
          if (i % 8 === 0) heapPeak = Math.max(heapPeak, await heapMiB(url));
          await new Promise((r) => setTimeout(r, sampleMs));
        }
      })();
      const start = performance.now();
      const res = await fetch(`${url}/v1/perplexity`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body,
      });
      if (res.status !== 200)
        throw new Error(`stream of ${n} texts: status ${res.status}: ${await res.text()}`);
      let lines = 0;
      const decoder = new TextDecoder();
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const s = decoder.decode(chunk, { stream: true });
        for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
      }
      const seconds = (performance.now() - start) / 1000;
      sampling = false;
      await sampler;
      return {
        texts: n,
        lines,
        seconds,
        requestBytes: body.length,
        rssBeforeMiB: before,
        rssPeakMiB: peak,
        heapPeakMiB: heapPeak,
      };
    };
    const pid = child.pid as number;
    await run(100, options.sampleMs ?? 25, pid);
    const rssIdleMiB = await rssMiB(pid);
    const rows: StreamMemoryRow[] = [];
    for (const n of sizes) rows.push(await run(n, options.sampleMs ?? 25, pid));
    return { models: [...names], rssIdleMiB, rows };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await fleet.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the controller did not become ready in 60 s');
}

export function formatStreamMemory(result: StreamMemoryResult): string {
  const lines = [
    `controller RSS while streaming (models: ${result.models.join(', ')}; idle after warm-up ${result.rssIdleMiB} MiB)`,
    '',
    '| texts | request (MiB) | lines | seconds | texts/s | RSS before (MiB) | RSS peak (MiB) | RSS peak − idle (MiB) | heap peak (MiB) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rows) {
    lines.push(
      `| ${r.texts} | ${(r.requestBytes / 2 ** 20).toFixed(2)} | ${r.lines} | ${r.seconds.toFixed(1)} | ${(r.texts / r.seconds).toFixed(0)} | ${r.rssBeforeMiB} | ${r.rssPeakMiB} | ${(r.rssPeakMiB - result.rssIdleMiB).toFixed(1)} | ${r.heapPeakMiB} |`,
    );
  }
  return lines.join('\n');
}
