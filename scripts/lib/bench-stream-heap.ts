/**
 * @module
 * The other half of the stream memory probe. RSS and heap peaks include garbage that V8 has not collected yet,
 * and they grow with a job's duration even when nothing is kept. This probe runs a stack in-process, streams a
 * job, and every tenth of the way forces a full GC and reads the live heap. A flat series means nothing is
 * accumulated per text. The heap holds the local models, the client and the controller; the models are fixed
 * in size, and the client keeps only a line count.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startLocalStack } from './bench-stack.ts';

export interface HeapSeries {
  texts: number;
  /** Live heap (MiB, after a full GC) before the job, at each tenth of it, and after it. */
  beforeMiB: number;
  duringMiB: number[];
  afterMiB: number;
}

/** A full GC on demand, without starting Node with --expose-gc. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const mib = () => Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;

export async function measureStreamHeap(sizes: readonly number[]): Promise<HeapSeries[]> {
  const gc = collector();
  const stack = await startLocalStack({
    names: ['llama-sotu', 'gpt2-brown'],
    controller: { limits: { maxTextsPerStream: Math.max(...sizes) }, cache: { maxBytes: 0 } },
  });
  try {
    const series: HeapSeries[] = [];
    for (const n of sizes) {
      gc();
      const beforeMiB = mib();
      const res = await fetch(`${stack.url}/v1/perplexity`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify({
          texts: Array.from(
            { length: n },
            (_, i) => `Item ${i}: the river near the market was quiet.`,
          ),
          stream: true,
        }),
      });
      if (res.status !== 200) throw new Error(`stream of ${n} texts: status ${res.status}`);
      const duringMiB: number[] = [];
      const step = Math.max(1, Math.floor(n / 10));
      let lines = 0;
      let next = step;
      const decoder = new TextDecoder();
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        const s = decoder.decode(chunk, { stream: true });
        for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) lines++;
        if (lines >= next && lines <= n) {
          gc();
          duringMiB.push(mib());
          next += step;
        }
      }
      gc();
      series.push({ texts: n, beforeMiB, duringMiB, afterMiB: mib() });
    }
    return series;
  } finally {
    await stack.close();
  }
}

export function formatStreamHeap(series: readonly HeapSeries[]): string {
  const lines = [
    'live heap after a full GC, in-process stack (MiB): before the job | at each tenth of it | after',
    '',
    '| texts | before | during (min–max) | after |',
    '|---:|---:|---:|---:|',
  ];
  for (const s of series) {
    lines.push(
      `| ${s.texts} | ${s.beforeMiB} | ${Math.min(...s.duringMiB)}–${Math.max(...s.duringMiB)} | ${s.afterMiB} |`,
    );
  }
  return lines.join('\n');
}
