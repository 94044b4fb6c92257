/**
 * Done-when of the detection work on the real path: four local-lm models behind a controller, a calibration
 * made by scoring the reference corpus through them, then a suffix appended to a long natural text.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReferenceCorpus } from '../../controller/calibration/reference-corpus.ts';
import type { RunningController } from '../../controller/main.ts';
import { startLocalFleet } from '../../images/local-lm/index.ts';
import type { LocalFleet } from '../../images/local-lm/index.ts';
import { optimizedSuffix } from '../../scripts/lib/detect-cases.ts';
import { calibrationInForce } from '../../scripts/lib/local-calibration.ts';
import { seededRandom } from '../../scripts/lib/seeded-random.ts';
import { postJson, startTestController } from '../helpers/controller.ts';

/**
 * An optimized-looking suffix of 20 tokens (subwords, punctuation, code) from the detection benchmark's generator.
 * The published GCG suffix (arXiv:2307.15043) is mostly English words, which these n-gram models find ordinary.
 */
const SUFFIX = optimizedSuffix(seededRandom(2));

describe('detection on the local stack', () => {
  let fleet: LocalFleet;
  let controller: RunningController;
  const dir = mkdtempSync(join(tmpdir(), 'ep-detect-'));
  const calibrationPath = join(dir, 'calibration.json');
  // A long held-out natural text (≥ 300 words): never used to fit the calibration.
  const natural = loadReferenceCorpus().texts.find(
    (t) => t.split === 'held_out' && t.text.split(/\s+/).length >= 300,
  )?.text as string;

  beforeAll(async () => {
    fleet = await startLocalFleet({ host: '127.0.0.1' });
    controller = await startTestController({
      models: fleet.servers.map((s) => ({ name: s.servedName, backends: [s.url] })),
      // Part of the fit split keeps the test short; each length bucket still gets enough texts.
      calibration: { path: calibrationPath, makeIfMissing: true, maxTexts: 700 },
    });
    expect(await calibrationInForce(controller)).toBe('made');
  }, 600_000);
  afterAll(async () => {
    await controller?.close();
    await fleet?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the calibration in force for exactly these models', async () => {
    const res = await fetch(`${controller.url}/v1/calibration`);
    const body = (await res.json()) as any;
    expect(body.state).toBe('loaded');
    expect(body.calibration.corpus.name).toBe('ep-reference-en');
    expect(body.calibration.models.map((m: any) => m.name).sort()).toEqual(
      fleet.servers.map((s) => s.servedName).sort(),
    );
    expect(body.calibration.thresholds.length).toBeGreaterThan(0);
  });

  it('flags the suffix at flag_fpr 0.01 with the max window on it, and not the text without it', async () => {
    const attacked = `${natural} ${SUFFIX}`;
    const { status, json } = await postJson(`${controller.url}/v1/perplexity`, {
      texts: [natural, attacked],
      flag_fpr: 0.01,
      details: ['spans'],
    });
    expect(status).toBe(200);
    const [plain, withSuffix] = json.results;
    expect(plain.ensemble.flagged).toBe(false);
    expect(plain.ensemble.flag_reasons).toEqual([]);
    expect(plain.ensemble.spans).toEqual([]);

    expect(withSuffix.ensemble.flagged).toBe(true);
    expect(withSuffix.ensemble.flag_reasons).toContain('window');
    const suffixStart = natural.length + 1;
    const w = withSuffix.ensemble.max_window;
    // The window covers (most of) the suffix: it overlaps it by at least half the window.
    const overlap = Math.min(w.end, attacked.length) - Math.max(w.start, suffixStart);
    expect(overlap).toBeGreaterThanOrEqual((w.end - w.start) / 2);
    expect(w.percentile).toBeGreaterThan(99);
    const span = withSuffix.ensemble.spans.find((s: any) => s.end > suffixStart);
    expect(span).toBeDefined();
    for (const m of Object.values(withSuffix.models) as any[]) {
      expect(m.percentile).toBeGreaterThanOrEqual(0);
      expect(m.max_window_bits_per_byte).toBeGreaterThan(m.bits_per_byte);
      expect(m.token_details).toBeUndefined();
    }
  });
});
