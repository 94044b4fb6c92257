/** What Node's parser refuses still gets the API's JSON error shape, and the server keeps serving. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawConnection, rawJsonBody, rawStatus } from '../../../helpers/raw-http.ts';
import { startKeyedController, type KeyedController } from '../../../helpers/keyed-controller.ts';

describe('requests the HTTP parser refuses', () => {
  let running: KeyedController;
  beforeAll(async () => {
    running = await startKeyedController();
  });
  afterAll(() => running.close());

  const send = async (bytes: string) => {
    const conn = await rawConnection(running.port);
    conn.write(bytes);
    const response = await conn.waitFor('}', 3_000);
    await conn.closed(3_000);
    return { status: rawStatus(response), body: rawJsonBody(response), response };
  };

  it.each([
    ['a malformed header line', 'GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
    [
      'a bad chunk size',
      'POST /v1/perplexity HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      400,
    ],
    [
      'headers over the size limit',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    [
      'an unsupported Expect',
      'POST /v1/perplexity HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}',
      417,
    ],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
  ])('answers %s with a JSON error (%i)', async (_what, bytes, status) => {
    const res = await send(bytes);
    expect(res.status).toBe(status);
    expect(res.response).toMatch(/content-type: application\/json/i);
    expect(typeof res.body.error.type).toBe('string');
    expect(typeof res.body.error.message).toBe('string');
    const health = await fetch(`${running.controller.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
