import { afterEach, describe, expect, it } from 'vitest';
import {
  planCall,
  resolveTimingProfile,
  startLocalLm,
  timingForFamily,
  trainModel,
  type LocalLmServer,
  type TimingProfile,
} from '../../../images/local-lm/index.ts';
import { get, post } from './helpers.ts';

const prompts = (n: number, tokens = 50) => Array<number>(n).fill(tokens);

describe('timing model (pure)', () => {
  // Expected values: the table in images/local-lm/README.md, "Timing: the L4 cost model" (seconds).
  it.each([
    [1, 0.378],
    [10, 0.478],
    [100, 2.23],
    [1000, 19.47],
  ])('seed profile reproduces the seed table: %i prompts ≈ %f s', (n, seconds) => {
    const { ms, steps } = planCall(prompts(n), resolveTimingProfile('seed-v0.4.1'));
    expect(ms / 1000).toBeCloseTo(seconds, 1);
    expect(steps).toHaveLength(Math.ceil(n / 16)); // 16 sequences per step binds before 2048 tokens
  });

  it.each([
    [1, 0.072],
    [10, 0.14],
    [100, 1.28],
    [1000, 12.74],
  ])('goal-bf16 profile: %i prompts ≈ %f s', (n, seconds) => {
    expect(planCall(prompts(n), resolveTimingProfile('l4-goal-bf16')).ms / 1000).toBeCloseTo(
      seconds,
      1,
    );
  });

  it('chunked prefill splits prompts across steps; V0 keeps them whole', () => {
    const chunked = planCall([1500, 1500], resolveTimingProfile('l4-goal-bf16-llama'));
    expect(chunked.steps.map((s) => s.tokens)).toEqual([2048, 952]);
    const whole = planCall([1500, 1500], resolveTimingProfile('seed-v0.4.1-llama'));
    expect(whole.steps.map((s) => s.tokens)).toEqual([1500, 1500]);
  });

  it('rejects unknown profile names, listing the known ones', () => {
    expect(() => resolveTimingProfile('h100')).toThrow(
      /unknown timing profile h100; use one of .*l4-goal-bf16/,
    );
  });
});

describe('timing model (live server)', () => {
  const model = trainModel({
    name: 'tiny',
    tokenizer: 'gpt2',
    order: 2,
    corpus: 'a b c d e f g. a b c.',
  });
  let server: LocalLmServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  const slow: TimingProfile = {
    name: 'test-slow',
    callMs: 20,
    stepMs: 60,
    tokenMs: 0,
    floorMs: 0,
    maxSeqs: 1,
    maxTokens: 2048,
    chunkedPrefill: true,
  };

  it('a call takes about the modelled time and drives the running/waiting gauges', async () => {
    const profile = { ...slow, stepMs: 150 };
    server = await startLocalLm({ model, timing: profile });
    const s = server;
    const body = { prompt: ['a b', 'c d', 'e f'], max_tokens: 0, echo: true, prompt_logprobs: 0 };
    const modelled = planCall([2, 2, 2], profile).ms; // 20 + 3 × 150
    const t0 = performance.now();
    let finished = false;
    const pending = post(s.url, '/v1/completions', body).finally(() => (finished = true));
    // One prompt per step: while the first runs, the others wait (a window of ~300 ms).
    let metrics = '';
    while (!finished && !metrics) {
      const st = s.stats();
      if (st.running === 1 && st.waiting >= 1) metrics = (await get(s.url, '/metrics')).text;
      else await new Promise((r) => setTimeout(r, 5));
    }
    expect((await pending).status).toBe(200);
    const elapsed = performance.now() - t0;
    expect(metrics).toMatch(/^vllm:num_requests_running\{[^}]*\} 1\.0$/m);
    expect(metrics).toMatch(/^vllm:num_requests_waiting\{[^}]*\} [12]\.0$/m);
    expect(elapsed).toBeGreaterThanOrEqual(modelled - 2); // timers may fire a hair early
    expect(elapsed).toBeLessThan(modelled + 1_000);
    expect(s.stats()).toMatchObject({ running: 0, waiting: 0 });
  });

  it('a client that gives up leaves the queue and counts as cancelled', async () => {
    server = await startLocalLm({ model, timing: { ...slow, stepMs: 500 } });
    const ac = new AbortController();
    const pending = fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: ['a', 'b', 'c'], max_tokens: 0, echo: true }),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    const s = server;
    const end = Date.now() + 3_000;
    while (s.stats().waiting === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(s.stats().waiting).toBeGreaterThan(0);
    ac.abort();
    await pending;
    while (s.stats().cancelled === 0 && Date.now() < end)
      await new Promise((r) => setTimeout(r, 5));
    expect(s.stats()).toMatchObject({ cancelled: 1, waiting: 0, running: 0 });
  });
});

describe('per-model timing rows', () => {
  it('a short profile name picks the row of the model family', () => {
    expect(timingForFamily('l4-goal-bf16', 'phi2').name).toBe('l4-goal-bf16-phi2');
    expect(timingForFamily('seed-v0.4.1', 'llama').tokenMs).toBe(0.275);
    expect(timingForFamily('l4-goal-fp8-mistral', 'phi2').name).toBe('l4-goal-fp8-mistral');
  });
});
