import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalLm, trainModel, type LocalLmServer } from '../../../images/local-lm/index.ts';
import { get, post } from './helpers.ts';

const model = trainModel({
  name: 'tiny',
  tokenizer: 'mistral',
  order: 3,
  corpus:
    'The cat sat on the mat.\n\nThe dog sat on the log.\n\nA bird sang in the tree by the river.',
});
const scoring = {
  prompt: 'The cat sat',
  max_tokens: 0,
  echo: true,
  prompt_logprobs: 1,
  return_token_ids: true,
};
let server: LocalLmServer;

beforeAll(async () => {
  server = await startLocalLm({ model, controls: true });
});
afterEach(async () => {
  await server.faults.clear();
});
afterAll(async () => {
  await server?.close();
});

/** Polls a condition (bounded) instead of sleeping a fixed time. */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connectError(err: unknown): string | undefined {
  return ((err as { cause?: { code?: string } }).cause ?? {}).code;
}

describe('fault injection', () => {
  it('refuse closes the port and re-listens on the same one when cleared', async () => {
    const port = server.port;
    await server.faults.set('refuse');
    const err = await get(server.url, '/health', 2_000).catch((e: unknown) => e);
    expect(connectError(err)).toBe('ECONNREFUSED');
    await server.faults.clear();
    expect(server.port).toBe(port);
    expect((await get(server.url, '/health')).status).toBe(200);
  });

  it('hang never answers; an aborting client counts as cancelled', async () => {
    await server.faults.set({ kind: 'hang', onlyFor: ['/v1/completions'] });
    const before = server.stats();
    const ac = new AbortController();
    const pending = fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify(scoring),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await until(() => server.stats().received > before.received);
    expect((await get(server.url, '/health')).status).toBe(200); // other paths unaffected
    ac.abort();
    await pending;
    await until(() => server.stats().cancelled === before.cancelled + 1);
    expect(server.stats().completed).toBe(before.completed + 1); // only the /health call
  });

  it('hung requests are answered once the fault is cleared', async () => {
    await server.faults.set('hang');
    const received = server.stats().received;
    const pending = post(server.url, '/v1/completions', scoring);
    await until(() => server.stats().received > received);
    await server.faults.clear();
    expect((await pending).status).toBe(200);
  });

  it('status503 fails requests and health with 503 until cleared', async () => {
    await server.faults.set('status503');
    const res = await post(server.url, '/v1/completions', scoring);
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ error: { code: 503, type: 'ServiceUnavailableError' } });
    expect((await get(server.url, '/health')).status).toBe(503);
    await server.faults.clear();
    expect((await get(server.url, '/health')).status).toBe(200);
  });

  it('count limits a fault to the next N requests; onlyFor to some paths', async () => {
    await server.faults.set({ kind: 'status503', count: 1, onlyFor: ['/v1/completions'] });
    expect((await get(server.url, '/health')).status).toBe(200);
    expect((await post(server.url, '/v1/completions', scoring)).status).toBe(503);
    expect((await post(server.url, '/v1/completions', scoring)).status).toBe(200);
    expect(server.faults.current).toBeNull();
  });

  it('malformedJson answers 200 with a body that does not parse', async () => {
    await server.faults.set('malformedJson');
    const res = await post(server.url, '/v1/completions', scoring);
    expect(res.status).toBe(200);
    expect(res.json).toBeUndefined();
    expect(res.text.startsWith('{')).toBe(true);
  });

  it('dieMidResponse sends headers and part of the body, then drops the connection', async () => {
    await server.faults.set('dieMidResponse');
    const cancelled = server.stats().cancelled;
    const err = await post(server.url, '/v1/completions', scoring).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(server.stats().cancelled).toBe(cancelled); // our own drop is not a client cancel
  });

  it('negInf reports -9999.0 for the actual token at the chosen position', async () => {
    await server.faults.set({ kind: 'negInf', position: 2 });
    const res = await post(server.url, '/v1/completions', scoring);
    const c = (
      res.json as {
        choices: {
          prompt_token_ids: number[];
          prompt_logprobs: Record<string, { logprob: number }>[];
        }[];
      }
    ).choices[0]!;
    expect(c.prompt_logprobs[2]![String(c.prompt_token_ids[2])]!.logprob).toBe(-9999);
    expect(res.text).toContain('"logprob":-9999.0');
    expect(c.prompt_logprobs[1]![String(c.prompt_token_ids[1])]!.logprob).toBeGreaterThan(-9999);
  });
});

describe('HTTP controls', () => {
  it('sets, reads and clears faults over HTTP and reports stats', async () => {
    expect((await post(server.url, '/_control/faults', { kind: 'status503' })).status).toBe(200);
    await until(() => server.faults.current !== null);
    expect((await get(server.url, '/health')).status).toBe(503);
    const cleared = await fetch(`${server.url}/_control/faults`, {
      method: 'DELETE',
      signal: AbortSignal.timeout(5_000),
    });
    expect(cleared.status).toBe(200);
    expect((await get(server.url, '/health')).status).toBe(200);
    const stats = (await get(server.url, '/_control/stats')).json as Record<string, unknown>;
    expect(stats).toMatchObject({
      received: expect.any(Number),
      completed: expect.any(Number),
      cancelled: expect.any(Number),
    });
    expect((await post(server.url, '/_control/faults', { kind: 'explode' })).status).toBe(400);
  });

  it('refuse with forMs comes back by itself on the same port', async () => {
    await post(server.url, '/_control/faults', { kind: 'refuse', forMs: 200 });
    await until(() => server.faults.current?.kind === 'refuse');
    await until(() => server.faults.current === null, 3_000);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await get(server.url, '/health', 1_000).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
  });

  it('is absent unless enabled', async () => {
    const plain = await startLocalLm({ model });
    try {
      expect((await post(plain.url, '/_control/faults', { kind: 'hang' })).status).toBe(404);
    } finally {
      await plain.close();
    }
  });

  it('close() ends hanging requests instead of leaking them', async () => {
    const s = await startLocalLm({ model });
    await s.faults.set('hang');
    const pending = post(s.url, '/v1/completions', scoring).catch((e: unknown) => e);
    await until(() => s.stats().received === 1);
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
