import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startTestController } from '../../helpers/controller.ts';
import { startFakeVllm, type FakeVllmOptions } from '../../helpers/fake-vllm.ts';
import { collectLogLines, type CollectedLogLines } from '../../helpers/log-lines.ts';

interface LoggedStack {
  readonly url: string;
  close(): Promise<void>;
}

/** A controller in front of a fake model `m`, writing its log to `log`. */
async function startLoggedStack(
  log: CollectedLogLines,
  backend: FakeVllmOptions = {},
): Promise<LoggedStack> {
  const fake = await startFakeVllm({ servedName: 'm', ...backend });
  const controller = await startTestController(
    { models: [{ name: 'm', backends: [fake.url] }] },
    { logDestination: log.destination },
  );
  return {
    url: controller.url,
    async close() {
      await controller.close();
      await fake.close();
    },
  };
}

describe('request log lines', () => {
  const log = collectLogLines();
  const { lines } = log;
  const entries = () => log.entries().filter((e) => e.msg !== undefined);
  let stack: LoggedStack;
  beforeAll(async () => {
    stack = await startLoggedStack(log);
  });
  afterAll(() => stack?.close());

  it('logs id, route, status, duration, key id, texts and tokens, never a text', async () => {
    const secretText = 'a very private sentence about the merger';
    const res = await postJson(
      `${stack.url}/v1/perplexity`,
      { texts: [secretText, 'second'] },
      { 'x-request-id': 'req-123' },
    );
    expect(res.status).toBe(200);
    const entry = entries().find((e) => e.requestId === 'req-123');
    expect(entry).toMatchObject({
      msg: 'request',
      method: 'POST',
      route: '/v1/perplexity',
      status: 200,
      keyId: 'anonymous',
      textCount: 2,
      tokens: res.json.usage.tokens,
      tokensByModel: { m: res.json.usage.tokens },
      degraded: false,
    });
    expect(typeof entry?.ms).toBe('number');
    expect(lines.join('\n')).not.toContain('private sentence');
  });

  it('logs a stream once, when its last line is written, with its counts', async () => {
    const res = await fetch(`${stack.url}/v1/perplexity`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-stream' },
      body: JSON.stringify({ texts: ['one', 'two', 'three'], stream: true }),
    });
    await res.text();
    // The log line is written right after the last chunk; give the event loop a moment.
    for (let i = 0; i < 50 && !entries().some((e) => e.requestId === 'req-stream'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const logged = entries().filter((e) => e.requestId === 'req-stream');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ stream: true, textCount: 3, status: 200 });
  });

  it('labels unknown paths by "unmatched" and does not echo them', async () => {
    await fetch(`${stack.url}/secret-probe-path`, { headers: { 'x-request-id': 'req-404' } });
    const entry = entries().find((e) => e.requestId === 'req-404');
    expect(entry).toMatchObject({ route: 'unmatched', status: 404 });
    expect(entry).not.toHaveProperty('textCount');
  });
});

describe('a client that goes away', () => {
  const log = collectLogLines();
  const { lines, entries } = log;
  let stack: LoggedStack;
  beforeAll(async () => {
    stack = await startLoggedStack(log, { delayMs: 1_500 });
  });
  afterAll(() => stack?.close());
  const waitFor = async (id: string) => {
    for (let i = 0; i < 300 && !entries().some((e) => e.requestId === id); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return entries().filter((e) => e.requestId === id);
  };

  it.each([
    ['req-gone', false],
    ['req-gone-stream', true],
  ])(
    '%s is logged once as client-closed (499) at info level, with no error or stack',
    async (id, stream) => {
      const before = lines.length;
      const abort = new AbortController();
      const sent = fetch(`${stack.url}/v1/perplexity`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': id,
          ...(stream ? { accept: 'application/x-ndjson' } : {}),
        },
        body: JSON.stringify({ texts: ['one', 'two'], stream }),
        signal: abort.signal,
      }).then(async (res) => res.text());
      setTimeout(() => abort.abort(), 300);
      await expect(sent).rejects.toThrow();
      const logged = await waitFor(id);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 30, status: 499 });
      expect(logged[0]).not.toHaveProperty('streamError');
      const later = entries().slice(before);
      expect(later.filter((e) => e.level >= 40).map((e) => e.msg)).toEqual([]);
    },
  );
});
