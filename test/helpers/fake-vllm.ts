/**
 * A vLLM-shaped server for tests that need exact control over the bytes on the wire: local-lm with the scripted
 * engine (one token per UTF-8 byte, id = byte + 3, BOS = 1, EOS = 2, a deterministic logprob per (previous,
 * actual) token pair, and the top-1 alternative listed AFTER the actual token as vLLM does, so JSON.parse
 * reorders them), plus a log of the completions it answered.
 */
import {
  fixedLatency,
  scriptedEngine,
  scriptedLogprob,
  scriptedTokenIds,
  SCRIPTED_BOS,
  SCRIPTED_EOS,
  startLocalLm,
} from '../../images/local-lm/index.ts';

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
  /** Every completion answered: the request body and the raw response body. */
  completions: Array<{ body: Record<string, unknown>; raw: string }>;
  /** `/tokenize` requests received. */
  readonly tokenizeCalls: number;
  /** Requests whose client went away before the answer was written. */
  readonly cancelled: number;
  close(): Promise<void>;
}

export const BOS = SCRIPTED_BOS;
export const EOS = SCRIPTED_EOS;
export const tokenIds = scriptedTokenIds;
/** The fake model's log-probability of `id` after `prev`: deterministic, always in (−5, −0.1). */
export const fakeLogprob = scriptedLogprob;

export async function startFakeVllm(options: FakeVllmOptions = {}): Promise<FakeVllm> {
  const completions: FakeVllm['completions'] = [];
  const server = await startLocalLm({
    model: scriptedEngine({
      name: options.servedName ?? 'fake',
      addsBos: options.addsBos,
      overrideLogprob: options.overrideLogprob,
    }),
    maxModelLen: options.maxModelLen ?? 512,
    timing: options.delayMs ? fixedLatency(options.delayMs) : null,
    quirks: {
      tokenizeRejectsOverlong: options.refuseLongTokenize,
      emptyPromptLogprobsAtZero: options.emptyDictsAtZero,
    },
    onCompletion: ({ request, response }) => completions.push({ body: request, raw: response }),
  });
  return {
    url: server.url,
    completions,
    get tokenizeCalls() {
      return server.stats().byPath['/tokenize'] ?? 0;
    },
    get cancelled() {
      return server.stats().cancelled;
    },
    close: () => server.close(),
  };
}
