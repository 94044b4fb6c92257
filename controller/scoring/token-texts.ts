/**
 * @module
 * The decoded texts of a run of tokens without a string per token: one joined string and where each token's
 * text starts in it. A worker thread builds it for a whole scoring answer and hands it over as one string and
 * one typed array, so the main thread, which aligns tokens on characters for every text, never allocates per
 * token; a per-token string is made only when a response shows `token_details`.
 */

export interface TokenTexts {
  /** Every token's text, end to end (it may hold other answers' tokens too: read it through `starts`). */
  readonly joined: string;
  /** Token k's text is `joined` from `starts[k]` to `starts[k + 1]`; length tokens + 1. */
  readonly starts: Int32Array;
  /** 1 where the backend gave no text (`decoded_token` null or absent); absent when every token has one. */
  readonly missing?: Uint8Array;
}

/** Token k's decoded text, or null where the backend gave none. */
export function tokenText(texts: TokenTexts, k: number): string | null {
  if (texts.missing?.[k]) return null;
  return texts.joined.slice(texts.starts[k], texts.starts[k + 1]);
}

/** Texts of tokens `from` … `to − 1` (views, nothing copied). */
export function sliceTokenTexts(texts: TokenTexts, from: number, to: number): TokenTexts {
  const starts = texts.starts.subarray(from, to + 1);
  return texts.missing
    ? { joined: texts.joined, starts, missing: texts.missing.subarray(from, to) }
    : { joined: texts.joined, starts };
}

/** Texts for `count` tokens that have none (an answer read without them). */
export function noTokenTexts(count: number): TokenTexts {
  return { joined: '', starts: new Int32Array(count + 1), missing: new Uint8Array(count).fill(1) };
}

/** Builds the compact form from one string (or null) per token. */
export function tokenTextsOf(pieces: readonly (string | null | undefined)[]): TokenTexts {
  const starts = new Int32Array(pieces.length + 1);
  let missing: Uint8Array | undefined;
  let at = 0;
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k];
    if (typeof piece === 'string') at += piece.length;
    else (missing ??= new Uint8Array(pieces.length))[k] = 1;
    starts[k + 1] = at;
  }
  let joined = '';
  for (const piece of pieces) if (typeof piece === 'string') joined += piece;
  return missing ? { joined, starts, missing } : { joined, starts };
}

/**
 * The texts of several runs, one after the other, in an exactly sized copy: for a text scored in several
 * windows, and for a cache entry that must not keep a whole answer's joined string alive.
 */
export function concatTokenTexts(parts: readonly TokenTexts[]): TokenTexts {
  let count = 0;
  for (const p of parts) count += p.starts.length - 1;
  const starts = new Int32Array(count + 1);
  let missing: Uint8Array | undefined;
  let joined = '';
  let k = 0;
  for (const p of parts) {
    const n = p.starts.length - 1;
    const base = p.starts[0] as number;
    const offset = joined.length - base;
    joined += p.joined.slice(base, p.starts[n]);
    for (let j = 0; j < n; j++) {
      starts[k + j + 1] = (p.starts[j + 1] as number) + offset;
      if (p.missing?.[j]) (missing ??= new Uint8Array(count))[k + j] = 1;
    }
    k += n;
  }
  return missing ? { joined, starts, missing } : { joined, starts };
}
