/**
 * @module
 * A vLLM-shaped loopback server that answers at once, for measuring the controller's own overhead: a word-level
 * tokenizer, deterministic logprobs, and completion choices rendered once per prompt and then served from
 * memory (call `prepare` with the texts of a run, so the server does almost no work while it is measured).
 * It speaks the parts of the API the controller uses: `/v1/models`, `/tokenize`, `/health`, `/v1/completions`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InstantVllmOptions {
  /** `--served-model-name`. */
  readonly servedName: string;
  /** Llama-style (adds BOS) or GPT-2-style (no BOS; `<|endoftext|>` is its EOS). @default true */
  readonly addsBos?: boolean;
  /** @default 4096 */
  readonly maxModelLen?: number;
}

export interface InstantVllm {
  readonly url: string;
  readonly servedName: string;
  /** The prompt string the controller sends for `text` (with `<|endoftext|>` in front for GPT-2-style models). */
  promptFor(text: string): string;
  /** Renders the choices of these texts ahead of time. */
  prepare(texts: readonly string[]): void;
  /** Forgets rendered choices (keeps memory flat across rounds). */
  forget(): void;
  close(): Promise<void>;
}

const BOS = 1;
const EOS = 2;
const EOS_TEXT = '<|endoftext|>';
const WORD = /\S+/g;

/** A word's token id: a stable hash into a 32k vocabulary above the special ids. */
function wordId(word: string): number {
  let h = 2166136261;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
  return 100 + ((h >>> 0) % 32_000);
}

function words(text: string): number[] {
  const ids: number[] = [];
  for (const m of text.matchAll(WORD)) ids.push(wordId(m[0]));
  return ids;
}

/**
 * Deterministic logprob of `id` after `prev`, in (−8, −0.05], rounded to float32 as a GPU computes it, so the
 * JSON carries the same 16–17-digit numerals vLLM writes (Python's repr of a float32 widened to double).
 */
function logprob(prev: number, id: number): number {
  return Math.fround(-0.05 - ((Math.imul(prev, 31) + id * 17) % 795) / 100);
}

function renderChoiceTail(ids: readonly number[]): string {
  let positions = 'null';
  for (let j = 1; j < ids.length; j++) {
    const id = ids[j] as number;
    positions += `,{"${id}":{"logprob":${logprob(ids[j - 1] as number, id)},"rank":${1 + (id % 50)},"decoded_token":"w${id}"}}`;
  }
  // Field order as vLLM writes it: text, logprobs, finish_reason, ..., prompt_logprobs, prompt_token_ids.
  return `"text":"","logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null,"prompt_logprobs":[${positions}],"prompt_token_ids":[${ids.join(',')}]}`;
}

export async function startInstantVllm(options: InstantVllmOptions): Promise<InstantVllm> {
  const { servedName } = options;
  const addsBos = options.addsBos ?? true;
  const maxModelLen = options.maxModelLen ?? 4096;
  const rendered = new Map<string, string>();

  const tokenize = (text: string, special: boolean): number[] => {
    if (!addsBos && text.startsWith(EOS_TEXT)) return [EOS, ...words(text.slice(EOS_TEXT.length))];
    const ids = words(text);
    return special && addsBos ? [BOS, ...ids] : ids;
  };
  const promptFor = (text: string) => (addsBos ? text : EOS_TEXT + text);
  const tail = (prompt: string | number[]): string => {
    if (typeof prompt !== 'string') return renderChoiceTail(prompt);
    let t = rendered.get(prompt);
    if (t === undefined) {
      t = renderChoiceTail(tokenize(prompt, true));
      rendered.set(prompt, t);
    }
    return t;
  };

  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (url === '/health') return send(res, 200, '');
      if (url === '/v1/models') {
        return send(
          res,
          200,
          JSON.stringify({
            object: 'list',
            data: [{ id: servedName, object: 'model', max_model_len: maxModelLen }],
          }),
        );
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        prompt: string | (string | number[])[];
        add_special_tokens?: boolean;
      };
      if (url === '/tokenize') {
        const tokens = tokenize(String(body.prompt), body.add_special_tokens !== false);
        return send(
          res,
          200,
          JSON.stringify({ count: tokens.length, max_model_len: maxModelLen, tokens }),
        );
      }
      if (url === '/v1/completions') {
        const prompts = body.prompt as (string | number[])[];
        let out = `{"id":"cmpl-instant","object":"text_completion","created":0,"model":"${servedName}","choices":[`;
        for (let i = 0; i < prompts.length; i++) {
          out += `${i ? ',' : ''}{"index":${i},${tail(prompts[i] as string | number[])}`;
        }
        out += '],"usage":{"prompt_tokens":0,"total_tokens":0,"completion_tokens":0}}';
        return send(res, 200, out);
      }
      send(
        res,
        404,
        '{"error":{"message":"not found","type":"NotFoundError","param":null,"code":404}}',
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    servedName,
    promptFor,
    prepare(texts) {
      for (const t of texts) tail(promptFor(t));
    },
    forget() {
      rendered.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
