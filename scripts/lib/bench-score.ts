/**
 * @module
 * Times the score CLI end to end on the local stack: a JSONL file of N ~50-token prompts (every tenth line an
 * object with an id, as real inputs have) through `runScore` with its default batch and concurrency.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScore } from '../score.ts';
import type { ScoreSummary } from '../score.ts';
import { benchPrompts } from './bench-prompts.ts';
import { startLocalStack } from './bench-stack.ts';

export interface ScoreBenchResult {
  lines: number;
  seconds: number;
  linesPerSecond: number;
  models: string[];
  summary: ScoreSummary;
}

export async function benchScoreCli(lines: number): Promise<ScoreBenchResult> {
  const stack = await startLocalStack();
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-score-'));
  try {
    const prompts = benchPrompts(lines, `score${Date.now().toString(36)}`);
    const input = prompts
      .map((p, i) => JSON.stringify(i % 10 === 0 ? { id: `doc-${i}`, text: p } : p))
      .join('\n');
    const inPath = join(dir, 'in.jsonl');
    await writeFile(inPath, `${input}\n`);
    const summary = await runScore({
      inPath,
      outPath: join(dir, 'out.jsonl'),
      url: stack.url,
      progress: false,
    });
    return {
      lines,
      seconds: summary.seconds,
      linesPerSecond: lines / summary.seconds,
      models: stack.models,
      summary,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await stack.close();
  }
}
