/**
 * A backend's error message may quote the input it failed on, and that input is a caller's text: the controller
 * keeps only the status, vLLM's error type and param, never the message's words.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, describeBackendRefusal } from '../../../controller/backends/errors.ts';
import { VllmClient } from '../../../controller/backends/vllm-client.ts';

const MARKER = '<|im_start|>secret-marker-7f3a';

describe('backend refusals', () => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const prompt = (JSON.parse(body) as { prompt: string }).prompt;
      const status = prompt.startsWith('500') ? 500 : 400;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message: `cannot tokenize '${prompt}': unknown special token ${prompt}`,
            type: 'BadRequestError',
            param: 'prompt',
          },
        }),
      );
    });
  });
  let client: VllmClient;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new VllmClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    });
  });
  afterAll(async () => {
    await client.close();
    await new Promise((r) => server.close(r));
  });

  it.each(['400', '500'])('keeps no fragment of the text from a %s answer', async (status) => {
    const err = await client.tokenize('m', `${status} ${MARKER}`, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    const message = (err as BackendError).message;
    expect(message).not.toContain('secret-marker');
    expect(message).not.toContain('im_start');
    expect(message).toContain(status);
    expect(message).toContain('BadRequestError');
  });

  it("keeps the model's context length, and drops a type or param that is not a plain name", () => {
    expect(
      describeBackendRefusal(400, {
        message: "This model's maximum context length is 4096 tokens. However, you requested 5000",
        type: 'BadRequestError',
      }),
    ).toBe("the input exceeds the model's context of 4096 tokens (400, BadRequestError)");
    const odd = describeBackendRefusal(400, { message: 'x', type: MARKER, param: 'a b <c>' });
    expect(odd).toBe('the backend refused this input (400)');
  });
});
