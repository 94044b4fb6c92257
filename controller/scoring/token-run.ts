/**
 * @module
 * A model's scored tokens of one text, in typed arrays: what the detection figures and `token_details` are made
 * from. No object per token exists until a response shows them.
 */
import { concatTokenTexts, tokenTextsOf } from './token-texts.ts';
import type { TokenTexts } from './token-texts.ts';

export interface TokenRun {
  /** Token ids of the scored positions. */
  readonly ids: Int32Array;
  /** Natural-log probability of each token (≤ 0). */
  readonly logprobs: Float64Array;
  /** Each token decoded alone, as the backend returned it. */
  readonly texts: TokenTexts;
}

/** The runs of a text scored in several windows, one after the other, in an exactly sized copy. */
export function concatRuns(runs: readonly TokenRun[]): TokenRun {
  let n = 0;
  for (const r of runs) n += r.ids.length;
  const ids = new Int32Array(n);
  const logprobs = new Float64Array(n);
  let at = 0;
  for (const r of runs) {
    ids.set(r.ids, at);
    logprobs.set(r.logprobs, at);
    at += r.ids.length;
  }
  return { ids, logprobs, texts: concatTokenTexts(runs.map((r) => r.texts)) };
}

// eslint-disable-next-line no-control-regex
const ONE_BYTE = /^[\u0000-\u00ff]*$/;

/**
 * An exactly sized copy of a run that shares nothing with the answer it was read from: its arrays in one
 * buffer, and its texts in a string of their own. A run read from an answer is a set of views, and a slice of
 * the answer's joined string is, in V8, a pointer into it: kept in a cache, either would keep the whole answer
 * alive.
 */
export function compactRun(run: TokenRun): TokenRun {
  const n = run.ids.length;
  const { starts, missing } = run.texts;
  const first = starts[0] as number;
  // Float64 first, so every view is aligned.
  const buffer = new ArrayBuffer(8 * n + 4 * n + 4 * (n + 1) + (missing ? n : 0));
  const logprobs = new Float64Array(buffer, 0, n);
  logprobs.set(run.logprobs);
  const ids = new Int32Array(buffer, 8 * n, n);
  ids.set(run.ids);
  const ownStarts = new Int32Array(buffer, 12 * n, n + 1);
  for (let k = 0; k <= n; k++) ownStarts[k] = (starts[k] as number) - first;
  const sliced = run.texts.joined.slice(first, starts[n]);
  // Through bytes and back: a new flat string rather than a slice of the answer's, one byte a character when
  // every character fits in one (V8 then stores it so).
  const encoding = ONE_BYTE.test(sliced) ? 'latin1' : 'utf16le';
  const joined = Buffer.from(sliced, encoding).toString(encoding);
  if (!missing) return { ids, logprobs, texts: { joined, starts: ownStarts } };
  const ownMissing = new Uint8Array(buffer, 16 * n + 4, n);
  ownMissing.set(missing.subarray(0, n));
  return { ids, logprobs, texts: { joined, starts: ownStarts, missing: ownMissing } };
}

/** A run from one object per token (tests, and callers holding `token_details` from the wire). */
export function runOfTokens(
  tokens: readonly { logprob: number; text: string | null; id?: number }[],
): TokenRun {
  const ids = new Int32Array(tokens.length);
  const logprobs = new Float64Array(tokens.length);
  tokens.forEach((t, k) => {
    ids[k] = t.id ?? 0;
    logprobs[k] = t.logprob;
  });
  return { ids, logprobs, texts: tokenTextsOf(tokens.map((t) => t.text)) };
}
