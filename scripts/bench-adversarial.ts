/**
 * @module
 * `npm run bench -- --adversarial [--scenarios a,b]`: attacks and failures against a controller on loopback, each
 * a scenario in `scripts/lib/adversarial/` (the list is `ADVERSARIAL_SCENARIOS`). Every scenario starts its own
 * controller process in front of local instant backends, is bounded in time and count, and reports figures.
 * Linux only (RSS and descriptors are read from /proc).
 */
import { instantEngine, startLocalLm, type LocalLmServer } from '../images/local-lm/index.ts';
import { ADVERSARIAL_SCENARIOS } from './lib/adversarial/index.ts';
import type { Figure } from './lib/adversarial/scenario.ts';
import { startTarget, type ModelEntries } from './lib/adversarial/target.ts';
import { isMainModule } from './lib/main-module.ts';

export interface AdversarialOptions {
  /** Scenario ids to run. @default - all */
  readonly scenarios?: readonly string[];
  /** Progress on stderr. @default true */
  readonly verbose?: boolean;
}

export interface ScenarioReport {
  id: string;
  title: string;
  seconds: number;
  figures: Figure[];
  error?: string;
}

export async function runAdversarialBench(
  options: AdversarialOptions = {},
): Promise<ScenarioReport[]> {
  if (process.platform !== 'linux') throw new Error('--adversarial reads /proc: Linux only');
  const wanted = options.scenarios;
  const unknown = wanted?.filter((id) => !ADVERSARIAL_SCENARIOS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(', ')}; known: ${ADVERSARIAL_SCENARIOS.map((s) => s.id).join(', ')}`,
    );
  }
  const log = (message: string) => {
    if (options.verbose ?? true) process.stderr.write(`${message}\n`);
  };
  const backends: LocalLmServer[] = [];
  for (let m = 0; m < 2; m++) {
    backends.push(
      await startLocalLm({
        model: instantEngine({ name: `m${m}`, addsBos: m % 2 === 0 }),
        maxModelLen: 4096,
      }),
    );
  }
  const models: ModelEntries = backends.map((b) => ({ name: b.servedName, backends: [b.url] }));
  const reports: ScenarioReport[] = [];
  try {
    for (const scenario of ADVERSARIAL_SCENARIOS) {
      if (wanted && !wanted.includes(scenario.id)) continue;
      log(`adversarial: ${scenario.id}: ${scenario.title}`);
      const started = performance.now();
      try {
        const figures = await scenario.run({
          startTarget: (targetOptions) => startTarget(models, targetOptions),
          log,
        });
        reports.push({ ...scenario, seconds: (performance.now() - started) / 1000, figures });
      } catch (err) {
        reports.push({
          id: scenario.id,
          title: scenario.title,
          seconds: (performance.now() - started) / 1000,
          figures: [],
          error: (err as Error).message,
        });
      }
    }
  } finally {
    for (const b of backends) await b.close();
  }
  return reports;
}

/** A Markdown table per scenario. */
export function formatAdversarial(reports: readonly ScenarioReport[]): string {
  return reports
    .map((r) => {
      const head = `### ${r.id}: ${r.title} (${r.seconds.toFixed(1)} s)\n`;
      if (r.error) return `${head}\nFAILED: ${r.error}\n`;
      const rows = r.figures.map((f) => `| ${f.name} | ${f.value} ${f.unit} | ${f.note ?? ''} |`);
      return `${head}\n| figure | value | note |\n|---|---|---|\n${rows.join('\n')}\n`;
    })
    .join('\n');
}

if (isMainModule(import.meta.url)) {
  runAdversarialBench().then(
    (reports) => {
      console.log(formatAdversarial(reports));
      process.exit(reports.some((r) => r.error) ? 1 : 0);
    },
    (err: unknown) => {
      console.error(`bench-adversarial: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
