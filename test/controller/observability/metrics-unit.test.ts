import { describe, expect, it } from 'vitest';
import { KeyIdLabels, OTHER_KEY_ID } from '../../../controller/observability/key-id-labels.ts';
import { ControllerMetrics } from '../../../controller/observability/metrics.ts';
import { ScoringTally } from '../../../controller/observability/scoring-tally.ts';
import { find, parsePrometheus, total } from './prom-text.ts';

const scrape = async (m: ControllerMetrics) => parsePrometheus(await m.render());

describe('ControllerMetrics as a SchedulerObserver', () => {
  it('records batches, backend calls, errors, queue depth and cache lookups', async () => {
    const m = new ControllerMetrics({ processMetrics: false });
    m.batchSent('llama', 'llama#0', 8, 400);
    m.batchSent('llama', 'llama#0', 2, 100);
    m.batchDone('llama', 'llama#0', 0.02, 'ok');
    m.batchDone('llama', 'llama#0', 1.5, 'BACKEND_SERVER_ERROR');
    m.queueDepth('llama', 17);
    m.cacheLookups('llama', 1, 0);
    m.cacheLookups('llama', 0, 2);
    const s = await scrape(m);
    expect(total(s, 'ep_batch_prompts_count', { model: 'llama' })).toBe(2);
    expect(total(s, 'ep_batch_prompts_sum', { model: 'llama' })).toBe(10);
    expect(total(s, 'ep_batch_tokens_sum', { model: 'llama' })).toBe(500);
    expect(total(s, 'ep_backend_request_duration_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(
      total(s, 'ep_backend_errors_total', { backend: 'llama#0', code: 'BACKEND_SERVER_ERROR' }),
    ).toBe(1);
    expect(total(s, 'ep_queue_depth', { model: 'llama' })).toBe(17);
    expect(total(s, 'ep_cache_lookups_total', { result: 'hit' })).toBe(1);
    expect(total(s, 'ep_cache_lookups_total', { result: 'miss' })).toBe(2);
    expect(find(s, 'process_cpu_user_seconds_total')).toHaveLength(0);
  });

  it('keeps one backend state at 1 and the others at 0', async () => {
    const m = new ControllerMetrics({ processMetrics: false });
    m.backendState('phi', 'phi#0', 'starting');
    m.backendState('phi', 'phi#0', 'healthy');
    m.backendState('phi', 'phi#0', 'unhealthy');
    const s = await scrape(m);
    expect(total(s, 'ep_backend_state', { backend: 'phi#0', state: 'unhealthy' })).toBe(1);
    expect(total(s, 'ep_backend_state', { backend: 'phi#0', state: 'healthy' })).toBe(0);
    expect(total(s, 'ep_backend_state', { backend: 'phi#0', state: 'starting' })).toBe(0);
  });

  it('gives each instance its own registry', async () => {
    const a = new ControllerMetrics();
    const b = new ControllerMetrics();
    a.queueDepth('m', 3);
    expect(find(await scrape(b), 'ep_queue_depth')).toHaveLength(0);
    expect(find(await scrape(a), 'ep_queue_depth')).toHaveLength(1);
  });

  it('folds key ids past the cap into "other"', async () => {
    const m = new ControllerMetrics({ processMetrics: false, maxKeyIds: 2 });
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k1'])
      m.textsScored(key, 1, new Map([['llama', 10]]));
    const s = await scrape(m);
    expect(total(s, 'ep_key_tokens_scored_total', { key_id: 'k1' })).toBe(20);
    expect(total(s, 'ep_key_tokens_scored_total', { key_id: 'k2' })).toBe(10);
    expect(total(s, 'ep_key_tokens_scored_total', { key_id: OTHER_KEY_ID })).toBe(20);
    expect(find(s, 'ep_key_tokens_scored_total')).toHaveLength(3);
    expect(total(s, 'ep_tokens_scored_total', { model: 'llama' })).toBe(50);
  });
});

describe('KeyIdLabels', () => {
  it('admits the first ids, then answers "other" for new ones only', () => {
    const labels = new KeyIdLabels(2);
    expect(labels.label('a')).toBe('a');
    expect(labels.label('b')).toBe('b');
    expect(labels.label('c')).toBe(OTHER_KEY_ID);
    expect(labels.label('a')).toBe('a');
    expect(labels.label(undefined)).toBe(OTHER_KEY_ID);
  });

  it('rejects a bad cap at construction', () => {
    expect(() => new KeyIdLabels(-1)).toThrow(/maxKeyIds/);
  });
});

describe('ScoringTally', () => {
  it('sums texts and tokens per model, and tells listeners only once the response streams', async () => {
    const tally = new ScoringTally();
    const seen: number[] = [];
    tally.onStreamText((t) => seen.push([...t.values()].reduce((a, b) => a + b, 0)));
    tally.addText({ a: { tokens: 3, perplexity: 2 }, b: { tokens: 4 } }, false);
    expect(seen).toEqual([]);
    const end = tally.startStream();
    // A model that failed on the text scored nothing.
    tally.addText({ a: { tokens: 5 }, b: { error: { type: 'backend_unavailable' } } }, true);
    expect(tally.texts).toBe(2);
    expect(tally.tokens).toBe(12);
    expect(tally.tokensByModel.get('a')).toBe(8);
    expect(tally.tokensByModel.get('b')).toBe(4);
    expect(tally.degraded).toBe(true);
    expect(seen).toEqual([5]);
    let finished = false;
    void tally.finished.then(() => (finished = true));
    await Promise.resolve();
    expect(finished).toBe(false);
    end('backend_unavailable');
    await tally.finished;
    expect(tally.error).toBe('backend_unavailable');
  });
});
