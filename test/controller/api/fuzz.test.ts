/**
 * Property-based fuzzing of the scoring routes through `app.request()` (the app, without a socket of its own): thousands of generated bodies (wrong types, huge
 * arrays, deep nesting, invalid UTF-8, lone surrogates, unknown and missing fields, non-JSON, odd content
 * types) must each get a 4xx JSON error `{error: {type, message, param?}}` or a well-formed 2xx, never a 5xx
 * (except a 504 the caller asked for with a tiny `timeout_ms`), and the server must still answer afterwards.
 * The seed is fixed so runs are reproducible; set FUZZ_SEED to explore others.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyAuth } from '../../../controller/api/middleware/api-key-auth.ts';
import { AuthFailureThrottle } from '../../../controller/auth/auth-failure-throttle.ts';
import { generateKey } from '../../../controller/auth/key-format.ts';
import { KeyRing } from '../../../controller/auth/key-ring.ts';
import { KeyRateLimiter } from '../../../controller/auth/rate-limiter.ts';
import type { AssembledController } from '../../../controller/api/server.ts';
import { startTestApp } from '../../helpers/controller.ts';
import { startFakeVllm, type FakeVllm } from '../../helpers/fake-vllm.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const MAX_TEXTS = 16;
const MAX_CHARS = 2_000;
const MODELS = ['alpha', 'beta'];
const MAX_BODY_BYTES = 64 * 1024;

interface FuzzRequest {
  /** Raw body bytes as sent. */
  body: Uint8Array;
  contentType: string | undefined;
  /** Query string (legacy route: model_names). */
  query: string;
}

const encoder = new TextEncoder();
const bytes = (s: string) => encoder.encode(s);

// ---- generators -------------------------------------------------------------------------------------------

const weirdText = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\ud800',
  'a\udc00b',
  '\udbff\udfff',
  '\uffff\ufffe',
  '🙂👍🏽',
  'e\u0301',
  '\r\n\t',
  '<|endoftext|>',
  '</s><s>',
  'x'.repeat(MAX_CHARS),
  'y'.repeat(MAX_CHARS + 1),
);
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: weirdText },
);
const junk = fc.jsonValue({ maxDepth: 3 });
const textList = fc.oneof(
  { weight: 6, arbitrary: fc.array(text, { minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constant('a'), { minLength: MAX_TEXTS + 1, maxLength: 3_000 }),
  },
  { weight: 1, arbitrary: fc.array(junk, { minLength: 1, maxLength: 4 }) },
  { weight: 1, arbitrary: junk },
);
const modelName = fc.oneof(fc.constantFrom(...MODELS), fc.string({ maxLength: 10 }));
const unknownFields = fc.dictionary(
  fc
    .string({ minLength: 1, maxLength: 8 })
    .filter((k) => !['texts', 'prompts', '__proto__'].includes(k)),
  junk,
  { maxKeys: 3 },
);

/** An object that is often nearly valid, with each field sometimes missing, mistyped or out of range. */
const perplexityObject = fc
  .tuple(
    fc.record(
      {
        texts: textList,
        models: fc.oneof(fc.array(modelName, { maxLength: 3 }), junk),
        min_models: fc.oneof(fc.integer({ min: -2, max: 4 }), junk),
        weights: fc.oneof(fc.dictionary(modelName, fc.double(), { maxKeys: 3 }), junk),
        details: fc.oneof(fc.constantFrom('none', 'tokens', 'TOKENS'), junk),
        timeout_ms: fc.oneof(fc.integer({ min: -1, max: 120_000 }), fc.double(), junk),
      },
      { requiredKeys: [] },
    ),
    unknownFields,
    fc.boolean(),
  )
  .map(([obj, extra, addExtra]) => (addExtra ? { ...obj, ...extra } : obj));

/** Valid requests with odd but legal texts, so the 2xx path is exercised too. */
const validPerplexityObject = fc.record(
  {
    texts: fc.array(text, { minLength: 1, maxLength: 6 }),
    models: fc.shuffledSubarray(MODELS, { minLength: 1 }),
    details: fc.constantFrom('none', 'tokens'),
  },
  { requiredKeys: ['texts'] },
);

const legacyObject = fc.oneof(
  fc.record({ prompts: textList, model_names: junk }, { requiredKeys: [] }),
  fc.record({ prompts: fc.array(text, { minLength: 1, maxLength: 6 }) }),
);

/** Raw bodies that are not (valid) JSON objects. */
const rawBody = fc.oneof(
  fc.string({ maxLength: 40 }).map(bytes),
  fc.uint8Array({ maxLength: 64 }),
  fc.constant(new Uint8Array()),
  // Deeply nested arrays, as the whole body or as the texts.
  fc.integer({ min: 1, max: 20_000 }).map((n) => bytes('['.repeat(n) + ']'.repeat(n))),
  fc
    .tuple(fc.constantFrom('texts', 'prompts'), fc.integer({ min: 1, max: 20_000 }))
    .map(([field, n]) => bytes(`{"${field}":${'['.repeat(n)}"a"${']'.repeat(n)}}`)),
  fc.integer({ min: 1, max: 5_000 }).map((n) => bytes(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`)),
  // Over the body limit (64 KiB here): 413.
  fc
    .integer({ min: 64 * 1024, max: 256 * 1024 })
    .map((n) => bytes(`{"texts":["${'a'.repeat(n)}"],"prompts":["b"]}`)),
  // Invalid UTF-8 inside a JSON string: stray continuation, overlong, truncated sequence, surrogate as UTF-8.
  fc
    .tuple(
      fc.constantFrom('texts', 'prompts'),
      fc.constantFrom(
        [0xff],
        [0x80],
        [0xc0, 0xaf],
        [0xe2, 0x82],
        [0xed, 0xa0, 0x80],
        [0xf4, 0x90, 0x80, 0x80],
      ),
    )
    .map(([field, bad]) =>
      Uint8Array.from([...bytes(`{"${field}":["ok `), ...bad, ...bytes(' end"]}')]),
    ),
  // JSON escapes of lone surrogates.
  fc.constantFrom('texts', 'prompts').map((field) => bytes(`{"${field}":["\\ud800","\\udfff x"]}`)),
  // Duplicate keys, numbers out of range, prototype keys, trailing garbage, truncation.
  fc
    .constantFrom(
      '{"texts":["a"],"texts":5}',
      '{"texts":["a"],"min_models":1e400}',
      '{"texts":["a"],"timeout_ms":1e308}',
      '{"__proto__":{"texts":["a"]}}',
      '{"texts":["a"],"constructor":{"prototype":{}}}',
      '{"texts":["a"]} trailing',
      '{"texts":["a"',
      '{"prompts":["a"]}{"prompts":["b"]}',
      'null',
      '"texts"',
      '[{"texts":["a"]}]',
      '\ufeff{"texts":["a"]}',
    )
    .map(bytes),
);

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'application/json; charset=latin1',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/vnd.api+json',
      'APPLICATION/JSON',
    ),
  },
);

const jsonBody = (arb: fc.Arbitrary<unknown>) => arb.map((v) => bytes(JSON.stringify(v) ?? ''));

function requests(route: 'perplexity' | 'legacy'): fc.Arbitrary<FuzzRequest> {
  const structured =
    route === 'perplexity' ? fc.oneof(perplexityObject, validPerplexityObject) : legacyObject;
  const body = fc.oneof(
    { weight: 6, arbitrary: jsonBody(structured) },
    { weight: 2, arbitrary: jsonBody(junk) },
    { weight: 3, arbitrary: rawBody },
  );
  const query =
    route === 'legacy'
      ? fc.oneof(
          fc.constant(''),
          fc
            .constantFrom(...MODELS, 'alpha,beta', 'nope', ',,', 'alpha,alpha')
            .map((m) => `?model_names=${encodeURIComponent(m)}`),
          fc.string({ maxLength: 10 }).map((m) => `?model_names=${encodeURIComponent(m)}`),
        )
      : fc.constant('');
  return fc.record({ body, contentType, query });
}

// ---- checks -----------------------------------------------------------------------------------------------

/** What the server should have seen, if the body decodes to an object (lenient UTF-8, as servers decode). */
function decoded(body: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function checkResponse(
  route: 'perplexity' | 'legacy',
  req: FuzzRequest,
  status: number,
  contentTypeHeader: string | null,
  text: string,
): void {
  const sent = decoded(req.body);
  const askedForTinyDeadline = typeof sent?.timeout_ms === 'number' && sent.timeout_ms < 5_000;
  if (status === 504 && askedForTinyDeadline) return;
  expect(status, `status for ${describeRequest(req)}: ${text.slice(0, 300)}`).toBeLessThan(500);
  expect(contentTypeHeader ?? '').toMatch(/^application\/json/);
  const json = JSON.parse(text) as Record<string, unknown>;
  if (status >= 400) {
    expect(status).toBeGreaterThanOrEqual(400);
    const error = json.error as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['error']);
    expect(typeof error.type).toBe('string');
    expect(typeof error.message).toBe('string');
    if ('param' in error) expect(typeof error.param).toBe('string');
    for (const k of Object.keys(error)) expect(['type', 'message', 'param']).toContain(k);
    return;
  }
  expect(status, `unexpected status for ${describeRequest(req)}`).toBe(200);
  if (route === 'perplexity') {
    const texts = sent?.texts as unknown[];
    const results = json.results as Array<{ index: number }>;
    expect(results).toHaveLength(texts.length);
    results.forEach((r, i) => expect(r.index).toBe(i));
  } else {
    const prompts = sent?.prompts as unknown[];
    for (const values of Object.values(json)) expect(values).toHaveLength(prompts.length);
  }
}

function describeRequest(req: FuzzRequest): string {
  const preview = Buffer.from(req.body.slice(0, 200)).toString('latin1');
  return `${req.contentType ?? '(no content-type)'} ${req.query} ${JSON.stringify(preview)}${req.body.length > 200 ? `… (${req.body.length} bytes)` : ''}`;
}

// ---- the suite --------------------------------------------------------------------------------------------

describe('fuzzing the scoring routes', () => {
  const key = generateKey();
  let alpha: FakeVllm;
  let beta: FakeVllm;
  let ring: KeyRing;
  let controller: AssembledController;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    alpha = await startFakeVllm({ servedName: 'alpha', addsBos: true, maxModelLen: 256 });
    beta = await startFakeVllm({ servedName: 'beta', addsBos: false, maxModelLen: 128 });
    ring = new KeyRing({
      store: {
        description: 'memory:fuzz',
        load: async () => ({
          version: 1,
          keys: [{ id: key.id, name: 'fuzz', hash: key.hash, createdAt: new Date().toISOString() }],
        }),
        save: async () => undefined,
      },
    });
    await ring.start();
    controller = await startTestApp(
      {
        models: [
          { name: 'alpha', backends: [alpha.url] },
          { name: 'beta', backends: [beta.url] },
        ],
        limits: {
          maxTextsPerRequest: MAX_TEXTS,
          maxCharsPerText: MAX_CHARS,
          maxTotalTextBytes: 16_384,
          maxBodyBytes: MAX_BODY_BYTES,
        },
      },
      {
        authenticate: apiKeyAuth({
          keyRing: ring,
          limiter: new KeyRateLimiter({ requestsPerMinute: 1e9, tokensPerMinute: 1e12 }),
          authThrottle: new AuthFailureThrottle({ maxFailures: 1e9 }),
        }),
      },
    );
  });
  afterAll(async () => {
    ring?.stop();
    await controller?.close();
    await alpha?.close();
    await beta?.close();
    console.info(`fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  });

  const send = async (path: string, req: FuzzRequest, auth = `Bearer ${key.key}`) => {
    // Content-Length as an HTTP client sends it: the app checks the declared size before reading the body.
    const headers: Record<string, string> = {
      authorization: auth,
      'content-length': String(req.body.length),
    };
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    const res = await controller.app.request(`${path}${req.query}`, {
      method: 'POST',
      headers,
      body: req.body,
    });
    const body = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return { status: res.status, contentType: res.headers.get('content-type'), body };
  };

  for (const [route, path] of [
    ['perplexity', '/v1/perplexity'],
    ['legacy', '/ensemble_perplexity'],
  ] as const) {
    it(`POST ${path}: every generated body gets a 4xx JSON error or a correct 2xx, never a 5xx`, async () => {
      await fc.assert(
        fc.asyncProperty(requests(route), async (req) => {
          const res = await send(path, req);
          checkResponse(route, req, res.status, res.contentType, res.body);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // Still alive and still scoring.
      expect((await controller.app.request('/healthz')).status).toBe(200);
      const ok = await send(path, {
        body: bytes(
          JSON.stringify(
            route === 'perplexity' ? { texts: ['still here'] } : { prompts: ['still here'] },
          ),
        ),
        contentType: 'application/json',
        query: '',
      });
      expect(ok.status).toBe(200);
    }, 180_000);
  }

  it('fuzzed Authorization headers get 401 JSON errors, never a 2xx or 5xx', async () => {
    const forged = `${key.key.slice(0, 16)}${'A'.repeat(43)}AAAAAA`;
    const header = fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 80 }),
      fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => `Bearer ${s}`),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        `Bearer ${key.key}x`,
        `Bearer ${forged}`,
        `Basic ${key.key}`,
        `Bearer ${key.key.toUpperCase()}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(header, async (auth) => {
        const res = await send(
          '/v1/perplexity',
          { body: bytes('{"texts":["a"]}'), contentType: 'application/json', query: '' },
          auth,
        );
        expect(res.status, `Authorization: ${JSON.stringify(auth)}`).toBe(401);
        expect(JSON.parse(res.body)).toEqual({
          error: { type: 'unauthorized', message: expect.any(String) },
        });
      }),
      { numRuns: 300, seed: SEED },
    );
  }, 60_000);
});
