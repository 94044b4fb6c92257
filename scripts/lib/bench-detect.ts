/**
 * @module
 * `npm run bench -- --detect`: how well the scores find inserted junk, and whether calibration holds.
 *
 * 1. Calibrates the endpoint's models on the fit split of the reference corpus.
 * 2. Measures the false-positive rate of `flag_fpr` 0.01 and 0.05 on the held-out split (natural texts).
 * 3. Makes attacked texts from held-out short prompts (≤ 30 words) and long texts (≥ 300 words) with a seeded
 *    generator (suffix, random-character span, base64 payload) and reports AUROC and TPR at 1 % FPR against
 *    the same texts unattacked, for: whole-text scores (geometric-mean perplexity, the calibrated ensemble
 *    position, each model), the max-window ensemble score at each calibrated window length, and the flags.
 */
import { Calibration } from '../../controller/calibration/calibration.ts';
import {
  DEFAULT_WINDOW_CHARS,
  detectText,
} from '../../controller/calibration/detection-figures.ts';
import { loadReferenceCorpus } from '../../controller/calibration/reference-corpus.ts';
import { maxWindow } from '../../controller/scoring/surprisal-windows.ts';
import { textSurprisal } from '../../controller/scoring/text-surprisal.ts';
import { startLocalStack } from './bench-stack.ts';
import { CALIBRATED_WINDOW_CHARS, calibrate } from './calibrate-run.ts';
import { ATTACK_KINDS, makeAttack } from './detect-cases.ts';
import type { AttackCase, AttackKind } from './detect-cases.ts';
import { scoreForDetection } from './detection-scoring.ts';
import type { Endpoint, ScoredText } from './detection-scoring.ts';
import { auroc, tprAtFpr } from './roc.ts';
import { seededRandom } from './seeded-random.ts';

export interface DetectBenchOptions {
  readonly url?: string;
  readonly apiKey?: string;
  /** @default 13 */
  readonly seed?: number;
  /** Short held-out prompts to attack. @default 400 */
  readonly maxShort?: number;
  /** Long held-out texts to attack. @default all */
  readonly maxLong?: number;
  readonly log?: (line: string) => void;
}

type Group = 'short' | 'long';
const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
const groupOf = (t: string): Group | null =>
  words(t) <= 30 ? 'short' : words(t) >= 300 ? 'long' : null;

/** Every score of one text, computed once. */
interface TextScores {
  /** exp(weighted mean of log-perplexities): the uncalibrated whole-text ensemble. */
  geometric_ppl: number;
  /** The calibrated ensemble position (z). */
  ensemble_z: number;
  /** Each model's whole-text z. */
  models: Record<string, number>;
  /** Max-window ensemble z per calibrated window length. */
  window_z: Record<number, number>;
  /** Max window (default length) and its flags at 0.01. */
  window: { start: number; end: number };
  flagged_001: boolean;
  flagged_005: boolean;
}

function scoresOf(s: ScoredText, cal: Calibration): TextScores {
  const bytes = Buffer.byteLength(s.text, 'utf8');
  const surprisal = textSurprisal(s.text, s.models);
  let logPpl = 0;
  let weights = 0;
  const models: Record<string, number> = {};
  for (const m of s.models) {
    const nll = m.run.logprobs.reduce((sum, lp) => sum - lp, 0);
    logPpl += m.weight * (nll / m.run.logprobs.length);
    weights += m.weight;
    models[m.name] = cal.modelText(m.name, bytes, m.bits_per_byte)?.z ?? NaN;
  }
  const window_z: Record<number, number> = {};
  for (const w of CALIBRATED_WINDOW_CHARS) {
    window_z[w] =
      cal.ensembleWindow(bytes, w, maxWindow(surprisal.ensemble, w).bits_per_byte)?.z ?? NaN;
  }
  const at = (fpr: number) =>
    detectText(
      s.text,
      s.models,
      { windowChars: DEFAULT_WINDOW_CHARS, spans: false, flagFpr: fpr },
      cal,
    );
  const d1 = at(0.01);
  return {
    geometric_ppl: Math.exp(logPpl / weights),
    ensemble_z: cal.ensembleText(bytes, s.models)?.z ?? NaN,
    models,
    window_z,
    window: { start: d1.ensemble.max_window.start, end: d1.ensemble.max_window.end },
    flagged_001: d1.ensemble.flagged === true,
    flagged_005: at(0.05).ensemble.flagged === true,
  };
}

export interface MetricRow {
  score: string;
  /** Per attack kind: AUROC and TPR at 1 % FPR (flags: TPR at their own FPR). */
  kinds: Record<AttackKind, { auroc: number | null; tpr_at_1pct_fpr: number }>;
}

export interface DetectBenchResult {
  kind: 'detect';
  seed: number;
  models: string[];
  calibration: { fit_texts: number; seconds: number };
  held_out_fpr: {
    texts: number;
    by_group: Record<string, { texts: number; fpr_001: number; fpr_005: number }>;
  };
  cases: Record<Group, { natural: number; attacked_per_kind: number }>;
  metrics: Record<Group, MetricRow[]>;
  /** Share of attacked long texts whose max window (default length) overlaps the inserted characters. */
  window_hits_inserted: Record<AttackKind, number>;
  default_window_chars: number;
  seconds: number;
}

export async function runDetectBench(options: DetectBenchOptions = {}): Promise<DetectBenchResult> {
  const started = performance.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const seed = options.seed ?? 13;
  // Patient health checks: on a busy machine a slow probe must not eject a CPU model in the middle of the run.
  const stack = options.url
    ? undefined
    : await startLocalStack({
        controller: { health: { probeTimeoutMs: 15_000, failuresToEject: 20 } },
      });
  const endpoint: Endpoint = {
    url: options.url ?? (stack as { url: string }).url,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  };
  try {
    log('detect: calibrating on the fit split…');
    const t0 = performance.now();
    const { file } = await calibrate(endpoint, {});
    const calSeconds = (performance.now() - t0) / 1000;
    const cal = new Calibration(file);
    const weights = new Map(file.models.map((m) => [m.name, m.weight]));
    const full = (s: ScoredText) => s.models.length === file.models.length;

    log('detect: scoring the held-out split…');
    const heldOut = loadReferenceCorpus().texts.filter((t) => t.split === 'held_out');
    const natural = (
      await scoreForDetection(
        endpoint,
        heldOut.map((t) => t.text),
        { weights },
      )
    ).filter(full);
    const naturalScores = natural.map((s) => ({ text: s.text, scores: scoresOf(s, cal) }));
    const byGroup: DetectBenchResult['held_out_fpr']['by_group'] = {};
    const tally = (name: string, list: typeof naturalScores) => {
      byGroup[name] = {
        texts: list.length,
        fpr_001: list.filter((x) => x.scores.flagged_001).length / list.length,
        fpr_005: list.filter((x) => x.scores.flagged_005).length / list.length,
      };
    };
    tally('all', naturalScores);
    tally(
      'short (≤30 words)',
      naturalScores.filter((x) => groupOf(x.text) === 'short'),
    );
    tally(
      'medium',
      naturalScores.filter((x) => groupOf(x.text) === null),
    );
    tally(
      'long (≥300 words)',
      naturalScores.filter((x) => groupOf(x.text) === 'long'),
    );

    const rng = seededRandom(seed);
    const bases: Record<Group, typeof naturalScores> = {
      short: naturalScores
        .filter((x) => groupOf(x.text) === 'short')
        .slice(0, options.maxShort ?? 400),
      long: naturalScores.filter((x) => groupOf(x.text) === 'long').slice(0, options.maxLong),
    };
    const attacks: (AttackCase & { group: Group })[] = [];
    for (const group of ['short', 'long'] as const)
      for (const base of bases[group])
        for (const kind of ATTACK_KINDS)
          attacks.push({ ...makeAttack(kind, base.text, rng), group });
    log(`detect: scoring ${attacks.length} attacked texts…`);
    const attacked = await scoreForDetection(
      endpoint,
      attacks.map((a) => a.text),
      { weights },
    );
    const attackScores = attacked
      .map((s, i) => ({ attack: attacks[i] as AttackCase & { group: Group }, s }))
      .filter((x) => full(x.s))
      .map((x) => ({ ...x.attack, scores: scoresOf(x.s, cal) }));

    const scoreFns: [string, (t: TextScores) => number][] = [
      ['whole text: geometric-mean perplexity (uncalibrated)', (t) => t.geometric_ppl],
      ['whole text: ensemble percentile (calibrated position)', (t) => t.ensemble_z],
      ...file.models.map((m): [string, (t: TextScores) => number] => [
        `whole text: ${m.name} alone`,
        (t) => t.models[m.name] ?? NaN,
      ]),
      ...CALIBRATED_WINDOW_CHARS.map((w): [string, (t: TextScores) => number] => [
        `max window ${w} chars: ensemble`,
        (t) => t.window_z[w] ?? NaN,
      ]),
    ];
    const metrics = {} as Record<Group, MetricRow[]>;
    for (const group of ['short', 'long'] as const) {
      const neg = bases[group].map((b) => b.scores);
      const rows: MetricRow[] = scoreFns.map(([score, fn]) => {
        const kinds = {} as MetricRow['kinds'];
        for (const kind of ATTACK_KINDS) {
          const pos = attackScores
            .filter((a) => a.group === group && a.kind === kind)
            .map((a) => fn(a.scores));
          const negs = neg.map(fn);
          kinds[kind] = { auroc: auroc(negs, pos), tpr_at_1pct_fpr: tprAtFpr(negs, pos, 0.01) };
        }
        return { score, kinds };
      });
      for (const [label, key] of [
        ['flags at flag_fpr 0.01', 'flagged_001'],
        ['flags at flag_fpr 0.05', 'flagged_005'],
      ] as const) {
        const kinds = {} as MetricRow['kinds'];
        for (const kind of ATTACK_KINDS) {
          const pos = attackScores.filter((a) => a.group === group && a.kind === kind);
          kinds[kind] = {
            auroc: null,
            tpr_at_1pct_fpr: pos.filter((a) => a.scores[key]).length / pos.length,
          };
        }
        rows.push({
          score: `${label} (TPR; FPR on these natural texts: ${((100 * neg.filter((n) => n[key]).length) / neg.length).toFixed(1)} %)`,
          kinds,
        });
      }
      metrics[group] = rows;
    }
    const window_hits_inserted = {} as Record<AttackKind, number>;
    for (const kind of ATTACK_KINDS) {
      const list = attackScores.filter((a) => a.group === 'long' && a.kind === kind);
      window_hits_inserted[kind] =
        list.filter((a) => a.scores.window.start < a.end && a.scores.window.end > a.start).length /
        list.length;
    }
    return {
      kind: 'detect',
      seed,
      models: file.models.map((m) => m.name),
      calibration: { fit_texts: file.corpus.texts, seconds: calSeconds },
      held_out_fpr: { texts: naturalScores.length, by_group: byGroup },
      cases: {
        short: { natural: bases.short.length, attacked_per_kind: bases.short.length },
        long: { natural: bases.long.length, attacked_per_kind: bases.long.length },
      },
      metrics,
      window_hits_inserted,
      default_window_chars: DEFAULT_WINDOW_CHARS,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await stack?.close();
  }
}

const pct = (x: number | null) => (x === null ? '–' : x.toFixed(3));

export function formatDetectBench(r: DetectBenchResult): string {
  const lines: string[] = [];
  lines.push(
    `Calibration: ${r.calibration.fit_texts} fit texts, ${r.calibration.seconds.toFixed(0)} s. Models: ${r.models.join(', ')}. Seed ${r.seed}. Default window ${r.default_window_chars} chars.`,
  );
  lines.push(
    '',
    '| held-out natural texts | texts | FPR at flag_fpr 0.01 | FPR at flag_fpr 0.05 |',
    '| --- | ---: | ---: | ---: |',
  );
  for (const [name, g] of Object.entries(r.held_out_fpr.by_group))
    lines.push(
      `| ${name} | ${g.texts} | ${(100 * g.fpr_001).toFixed(2)} % | ${(100 * g.fpr_005).toFixed(2)} % |`,
    );
  for (const group of ['short', 'long'] as const) {
    lines.push(
      '',
      `**${group === 'short' ? 'Short prompts (≤ 30 words)' : 'Long texts (≥ 300 words)'}**: ${r.cases[group].natural} natural texts, ${r.cases[group].attacked_per_kind} attacked per kind. AUROC / TPR at 1 % FPR.`,
      '',
    );
    lines.push('| score | suffix | random span | base64 |', '| --- | --- | --- | --- |');
    for (const row of r.metrics[group]) {
      const cell = (k: AttackKind) => {
        const m = row.kinds[k];
        return m.auroc === null
          ? `TPR ${pct(m.tpr_at_1pct_fpr)}`
          : `${pct(m.auroc)} / ${pct(m.tpr_at_1pct_fpr)}`;
      };
      lines.push(
        `| ${row.score} | ${cell('suffix')} | ${cell('random_span')} | ${cell('base64')} |`,
      );
    }
  }
  lines.push(
    '',
    `Max window (${r.default_window_chars} chars) overlaps the inserted characters in long texts: suffix ${(100 * r.window_hits_inserted.suffix).toFixed(1)} %, random span ${(100 * r.window_hits_inserted.random_span).toFixed(1)} %, base64 ${(100 * r.window_hits_inserted.base64).toFixed(1)} %.`,
  );
  lines.push(`Run time ${r.seconds.toFixed(0)} s.`);
  return lines.join('\n');
}
