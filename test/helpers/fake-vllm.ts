/**
 * A scripted vLLM-shaped server for tests that need exact control over bytes on the wire: one token per UTF-8
 * byte (id = byte + 3), BOS = 1, EOS = 2, a deterministic logprob per (previous, actual) token pair, and the
 * top-1 alternative listed AFTER the actual token as vLLM does (so JSON.parse reorders them).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeVllmOptions {
  servedName?: string;
  maxModelLen?: number;
  /** Tokenizer adds BOS with add_special_tokens (Llama style). Else GPT-2 style: no BOS, EOS "<|endoftext|>". */
  addsBos?: boolean;
  /** Override a logprob: return a number (or a sentinel) for position j of a prompt. */
  overrideLogprob?: (ids: readonly number[], j: number) => number | undefined;
  /** Delay every completion by this many ms. */
  delayMs?: number;
  /** Mimic a release whose `/tokenize` refuses texts longer than the context. */
  refuseLongTokenize?: boolean;
  /** Mimic a release that answers `prompt_logprobs: 0` with empty position dicts (no actual token). */
  emptyDictsAtZero?: boolean;
}

export interface FakeVllm {
  url: string;
  completions: Array<{ body: Record<string, unknown>; raw: string }>;
  tokenizeCalls: number;
  /** Requests whose client went away before the answer was written. */
  cancelled: number;
  close(): Promise<void>;
}

export const BOS = 1;
export const EOS = 2;
export const tokenIds = (text: string): number[] =>
  [...Buffer.from(text, 'utf8')].map((b) => b + 3);

/** The fake model's log-probability of `id` after `prev`: deterministic, always in (−5, −0.1). */
export function fakeLogprob(prev: number, id: number): number {
  return -(((id * 31 + prev * 17) % 97) / 20) - 0.1;
}

export async function startFakeVllm(options: FakeVllmOptions = {}): Promise<FakeVllm> {
  const servedName = options.servedName ?? 'fake';
  const maxModelLen = options.maxModelLen ?? 512;
  const addsBos = options.addsBos ?? true;
  const state: FakeVllm = {
    url: '',
    completions: [],
    tokenizeCalls: 0,
    cancelled: 0,
    close: async () => {},
  };

  const tokenize = (text: string, special: boolean): number[] => {
    if (text === '<|endoftext|>' && !addsBos) return [EOS];
    const ids = tokenIds(text);
    return special && addsBos ? [BOS, ...ids] : ids;
  };
  const error = (
    res: ServerResponse,
    status: number,
    message: string,
    param: string | null = null,
  ) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message, type: 'BadRequestError', param, code: status } }));
  };

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    res.on('close', () => {
      if (!res.writableFinished) state.cancelled++;
    });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length
      ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)
      : {};
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: [{ id: servedName, object: 'model', max_model_len: maxModelLen }],
        }),
      );
      return;
    }
    if (req.url === '/health') {
      res.writeHead(200);
      res.end();
      return;
    }
    if (req.url === '/tokenize') {
      state.tokenizeCalls++;
      const tokens = tokenize(String(body.prompt), body.add_special_tokens !== false);
      if (options.refuseLongTokenize && tokens.length > maxModelLen) {
        error(
          res,
          400,
          `the prompt has ${tokens.length} tokens, more than ${maxModelLen}`,
          'max_model_len',
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          count: tokens.length,
          max_model_len: maxModelLen,
          tokens,
          token_strs: null,
        }),
      );
      return;
    }
    if (req.url === '/v1/completions') {
      const prompts = body.prompt as Array<string | number[]>;
      const special = body.add_special_tokens !== false;
      const k = Number(body.prompt_logprobs ?? 0);
      const choices: string[] = [];
      for (let i = 0; i < prompts.length; i++) {
        const p = prompts[i] as string | number[];
        const ids = typeof p === 'string' ? tokenize(p, special) : p;
        if (ids.length > maxModelLen) {
          error(
            res,
            400,
            `You passed ${ids.length} input tokens ... context length is only ${maxModelLen} tokens`,
            'input_tokens',
          );
          return;
        }
        const positions: string[] = ['null'];
        for (let j = 1; j < ids.length; j++) {
          const id = ids[j] as number;
          const lp = options.overrideLogprob?.(ids, j) ?? fakeLogprob(ids[j - 1] as number, id);
          // Actual token first, then the top-1 alternative (id 3, smaller than any text token id).
          let dict = `"${id}":{"logprob":${lp},"rank":7,"decoded_token":${JSON.stringify(String.fromCharCode(Math.max(id - 3, 32)))}}`;
          if (k >= 1 && id !== 3)
            dict += `,"3":{"logprob":-0.05,"rank":1,"decoded_token":"\\u0000"}`;
          positions.push(k === 0 && options.emptyDictsAtZero ? '{}' : `{${dict}}`);
        }
        choices.push(
          `{"index":${i},"text":"","logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_token_ids":${JSON.stringify(ids)},"prompt_logprobs":[${positions.join(',')}]}`,
        );
      }
      const raw = `{"id":"cmpl-1","object":"text_completion","created":0,"model":"${servedName}","choices":[${choices.join(',')}],"usage":{"prompt_tokens":0,"total_tokens":0,"completion_tokens":0}}`;
      state.completions.push({ body, raw });
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(raw);
      return;
    }
    error(res, 404, 'not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
