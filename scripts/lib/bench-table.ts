/**
 * @module
 * The seed table: for each size (1, 10, 100, 1000 prompts of ~50 tokens), time one `POST /v1/perplexity` call
 * scoring every prompt with every model, end to end through the API, `repeats` times on fresh prompts. Reports
 * the median and best time, texts/s and tokens/s, next to the seed's published times and, when asked, the L4
 * cost model's prediction.
 */
import type { EnsembledPerplexityClient } from '../../clients/typescript/src/index.ts';
import { benchPrompts } from './bench-prompts.ts';

export interface SeedTableOptions {
  readonly client: EnsembledPerplexityClient;
  /** Prompts per call, one row each. @default [1, 10, 100, 1000] */
  readonly sizes?: readonly number[];
  /** Timed calls per row (each on new prompts). @default 3 */
  readonly repeats?: number;
  /**
   * Untimed one-text calls before the table, {@link WARMUP_CONCURRENCY} at a time. A freshly started
   * controller runs its first few hundred texts before V8 has compiled its hot path: on emulated L4s the
   * 1-prompt row measured ~150 ms for the first call, ~79 ms over the next twenty, and ~77 ms after 400
   * texts of warm-up. A server in service is warm, so the table measures one. @default 256
   */
  readonly warmup?: number;
  /** Models to use. @default - all the server has */
  readonly models?: readonly string[];
  /** Called as each row completes (live output). @default - nothing */
  readonly onRow?: (row: SeedTableRow) => void;
}

export interface SeedTableRow {
  prompts: number;
  /** Seconds of each timed call. */
  runs: number[];
  medianSeconds: number;
  bestSeconds: number;
  textsPerSecond: number;
  /** Tokens scored per call over all models, divided by prompts and models: the real prompt length. */
  tokensPerPrompt: number;
  /** Tokens scored per second over all models (median call). */
  tokensPerSecond: number;
  models: string[];
}

/** Warm-up calls in flight at once. */
export const WARMUP_CONCURRENCY = 16;

export async function runSeedTable(options: SeedTableOptions): Promise<SeedTableRow[]> {
  const { client } = options;
  const sizes = options.sizes ?? [1, 10, 100, 1000];
  const repeats = options.repeats ?? 3;
  const models = options.models ? { models: [...options.models] } : {};
  // A tag per process run: prompts never repeat across runs, so the result cache cannot help.
  const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const warmup = options.warmup ?? 256;
  for (let w = 0; w < warmup; w += WARMUP_CONCURRENCY) {
    const calls = Math.min(WARMUP_CONCURRENCY, warmup - w);
    await Promise.all(
      Array.from({ length: calls }, (_, k) =>
        client.perplexity({ texts: benchPrompts(1, `${runTag}w${w + k}`), ...models }),
      ),
    );
  }
  const rows: SeedTableRow[] = [];
  for (const size of sizes) {
    const runs: number[] = [];
    let tokens = 0;
    let used: string[] = [];
    for (let r = 0; r < repeats; r++) {
      const texts = benchPrompts(size, `${runTag}s${size}r${r}`, size * 1000 + r);
      const start = performance.now();
      const response = await client.perplexity({ texts, ...models });
      runs.push((performance.now() - start) / 1000);
      const failed = response.results.filter((x) => !x.ensemble);
      if (failed.length > 0) {
        throw new Error(
          `${failed.length} of ${size} prompts failed: ${JSON.stringify(failed[0]?.error)}`,
        );
      }
      tokens = response.usage.tokens;
      used = response.models_used;
    }
    const sorted = [...runs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    const row: SeedTableRow = {
      prompts: size,
      runs,
      medianSeconds: median,
      bestSeconds: sorted[0] as number,
      textsPerSecond: size / median,
      tokensPerPrompt: tokens / size / Math.max(1, used.length),
      tokensPerSecond: tokens / median,
      models: used,
    };
    rows.push(row);
    options.onRow?.(row);
  }
  return rows;
}

export interface TableColumn {
  title: string;
  /** Seconds for a row's size, or undefined for "–". */
  seconds(prompts: number): number | undefined;
}

/** The table as Markdown: measured columns, then any reference columns (seed, cost model). */
export function formatSeedTable(
  rows: readonly SeedTableRow[],
  references: readonly TableColumn[] = [],
  measuredTitle = 'measured',
): string {
  const head = [
    'prompts',
    `${measuredTitle} median (s)`,
    'best (s)',
    'texts/s',
    'tokens/prompt',
    'tokens/s (all models)',
    ...references.map((r) => r.title),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`];
  for (const row of rows) {
    const refs = references.map((r) => {
      const s = r.seconds(row.prompts);
      return s === undefined ? '–' : s.toFixed(s < 1 ? 3 : 2);
    });
    lines.push(
      `| ${[
        row.prompts,
        row.medianSeconds.toFixed(row.medianSeconds < 1 ? 3 : 2),
        row.bestSeconds.toFixed(row.bestSeconds < 1 ? 3 : 2),
        row.textsPerSecond.toFixed(0),
        row.tokensPerPrompt.toFixed(1),
        row.tokensPerSecond.toFixed(0),
        ...refs,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}
