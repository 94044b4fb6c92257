/**
 * @module
 * Per-character surprisal from each model's tokens, aligned across tokenizers. A token's surprisal (−logprob,
 * nats) is spread evenly over the characters it covers (from its offset to the next token's); a character's
 * ensemble surprisal is the weighted mean over the models that scored it. Tokens the server could not place
 * (offset null) count towards the token before them, so no surprisal is lost.
 */
import type { TokenDetail } from './api-types.ts';

/** One model's view of one stretch of text: the token(s) covering it and their summed surprisal. */
export interface TokenPiece {
  readonly start: number;
  readonly end: number;
  /** The tokens as the model decoded them, joined (null parts are skipped). */
  readonly tokenText: string;
  /** Surprisal of the whole piece, in bits. */
  readonly bits: number;
}

export interface ModelTokens {
  readonly model: string;
  readonly weight: number;
  readonly tokens: readonly TokenDetail[];
}

/** A run of characters inside one token of every model, so every figure is constant over it. */
export interface CharRun {
  readonly start: number;
  readonly end: number;
  /** Ensemble surprisal per character, in bits. */
  readonly bitsPerChar: number;
  /** For each model, the piece that covers this run. */
  readonly pieces: ReadonlyMap<string, TokenPiece>;
}

export interface TextSurprisal {
  readonly runs: readonly CharRun[];
  /** Ensemble bits of each UTF-16 index of the text (the two halves of a surrogate pair share a run). */
  readonly perChar: Float64Array;
}

/** Pieces covering the whole text, in order, each a run of characters with its tokens' summed surprisal. */
export function tokenPieces(text: string, tokens: readonly TokenDetail[]): TokenPiece[] {
  if (text.length === 0) return [];
  const starts: number[] = [];
  const bits: number[] = [];
  const texts: string[] = [];
  let leadingBits = 0;
  let leadingText = '';
  for (const token of tokens) {
    const tokenBits = -token.logprob / Math.LN2;
    const at = placeable(text, token.offset);
    const last = starts.length - 1;
    if (at !== undefined && (last < 0 || at > (starts[last] as number))) {
      starts.push(at);
      bits.push(tokenBits + leadingBits);
      texts.push(leadingText + (token.text ?? ''));
      leadingBits = 0;
      leadingText = '';
    } else if (last >= 0) {
      bits[last] = (bits[last] as number) + tokenBits;
      texts[last] = (texts[last] as string) + (token.text ?? '');
    } else {
      leadingBits += tokenBits;
      leadingText += token.text ?? '';
    }
  }
  if (starts.length === 0)
    return [{ start: 0, end: text.length, tokenText: leadingText, bits: leadingBits }];
  // Characters before the first placed token belong to it: every character gets a figure.
  starts[0] = 0;
  return starts.map((start, i) => ({
    start,
    end: starts[i + 1] ?? text.length,
    tokenText: texts[i] as string,
    bits: bits[i] as number,
  }));
}

/** Ensemble surprisal of every character, and the runs over which no model's token changes. */
export function characterSurprisal(text: string, models: readonly ModelTokens[]): TextSurprisal {
  const perChar = new Float64Array(text.length).fill(Number.NaN);
  const piecesByModel = models.map((m) => ({ ...m, pieces: tokenPieces(text, m.tokens) }));
  const cuts = new Set<number>([0, text.length]);
  for (const m of piecesByModel) for (const p of m.pieces) cuts.add(p.start);
  const bounds = [...cuts].sort((a, b) => a - b);

  const cursor = piecesByModel.map(() => 0);
  const runs: CharRun[] = [];
  for (let b = 0; b + 1 < bounds.length; b++) {
    const start = bounds[b] as number;
    const end = bounds[b + 1] as number;
    const pieces = new Map<string, TokenPiece>();
    let weighted = 0;
    let weights = 0;
    piecesByModel.forEach((m, i) => {
      let k = cursor[i] as number;
      while (k < m.pieces.length && (m.pieces[k] as TokenPiece).end <= start) k++;
      cursor[i] = k;
      const piece = m.pieces[k];
      if (!piece || piece.start > start) return;
      pieces.set(m.model, piece);
      weighted += (m.weight * piece.bits) / (piece.end - piece.start);
      weights += m.weight;
    });
    const bitsPerChar = weights > 0 ? weighted / weights : Number.NaN;
    perChar.fill(bitsPerChar, start, end);
    runs.push({ start, end, bitsPerChar, pieces });
  }
  return { runs, perChar };
}

/** Splits runs at the given indices (the edges of outlined windows), keeping their figures. */
export function splitRuns(runs: readonly CharRun[], at: Iterable<number>): CharRun[] {
  const cuts = [...new Set(at)].sort((a, b) => a - b);
  const out: CharRun[] = [];
  let c = 0;
  for (const run of runs) {
    let start = run.start;
    while (c < cuts.length && (cuts[c] as number) <= start) c++;
    while (c < cuts.length && (cuts[c] as number) < run.end) {
      out.push({ ...run, start, end: cuts[c] as number });
      start = cuts[c] as number;
      c++;
    }
    out.push({ ...run, start });
  }
  return out;
}

/**
 * A token offset usable as a piece start: an index inside the text, moved off the second half of a surrogate
 * pair; undefined for an offset the server could not give (null) or a malformed one.
 */
function placeable(text: string, at: number | null): number | undefined {
  if (at === null || !Number.isInteger(at) || at < 0 || at >= text.length) return undefined;
  const code = text.charCodeAt(at);
  return code >= 0xdc00 && code <= 0xdfff && at > 0 ? at - 1 : at;
}
