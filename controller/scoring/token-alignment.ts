/**
 * @module
 * Places a model's scored tokens on the characters of their text, and spreads each token's surprisal over the
 * characters it covers. vLLM returns each token decoded on its own and no offsets, so tokens are aligned
 * greedily: a token whose decoded text is found at (or within a few characters after) the cursor is placed
 * there. A token that cannot be placed (a byte-fallback or partial UTF-8 piece decoded as "" or "�", a
 * normalised character) is left unplaced (offset −1, `null` on the wire), and the characters between its placed
 * neighbours are its share of the text. Every search is bounded, so aligning a text costs O(its length) per model.
 */
import type { TokenTexts } from './token-texts.ts';
import { FRESH_ARRAYS } from './scratch.ts';
import type { ArraySource } from './scratch.ts';
import type { TokenRun } from './token-run.ts';

/** Characters (whitespace, usually) that may lie between two placed tokens. */
const MAX_GAP = 2;
/** Extra reach after unplaced tokens: each may stand for up to this many UTF-16 units (one astral character). */
const SLACK_PER_UNPLACED = 2;
/** Bound on the extra reach, which keeps alignment linear in the text length. */
const MAX_SLACK = 32;

/** Where each token of a run lies in its text: `offsets[k]` (−1 when it cannot be placed) to `ends[k]`. */
export interface TokenPlacement {
  readonly offsets: Int32Array;
  /** End (exclusive) of each placed token; meaningless where the offset is −1. */
  readonly ends: Int32Array;
}

/**
 * Character offset (UTF-16 index) of each token in `text`, or −1 where it cannot be placed: the offsets of
 * `token_details[].offset` (null there). Reads the token texts in place: no string is made per token.
 */
export function placeTokens(
  text: string,
  texts: TokenTexts,
  arrays: ArraySource = FRESH_ARRAYS,
): TokenPlacement {
  const n = texts.starts.length - 1;
  const offsets = arrays.int32(n);
  const ends = arrays.int32(n);
  const { joined, starts, missing } = texts;
  let cursor = 0;
  let slack = 0;
  for (let k = 0; k < n; k++) {
    const a = starts[k] as number;
    const b = starts[k + 1] as number;
    const length = missing?.[k] ? 0 : b - a;
    let at = -1;
    let placedLength = length;
    if (length > 0) {
      const reach = MAX_GAP + Math.min(slack, MAX_SLACK);
      if (!hasReplacement(joined, a, b)) at = findNear(text, joined, a, b, cursor, reach);
      if (at < 0) {
        // The piece without its leading whitespace (a space the text does not have there).
        let trimmed = a;
        while (trimmed < b && isWhitespace(pieceChar(joined, trimmed))) trimmed++;
        if (trimmed > a && trimmed < b) {
          at = findNear(text, joined, trimmed, b, cursor, reach);
          placedLength = b - trimmed;
        }
      }
    }
    if (at < 0) {
      offsets[k] = -1;
      slack += Math.max(SLACK_PER_UNPLACED, length);
      continue;
    }
    offsets[k] = at;
    ends[k] = at + placedLength;
    cursor = at + placedLength;
    slack = 0;
  }
  return { offsets, ends };
}

/**
 * First index in [from, from + reach] where `joined[a, b)` (space markers read as what they stand for)
 * starts in `text`, or −1; costs O(reach · piece length).
 */
function findNear(
  text: string,
  joined: string,
  a: number,
  b: number,
  from: number,
  reach: number,
): number {
  const length = b - a;
  const last = Math.min(from + reach, text.length - length);
  for (let at = from; at <= last; at++) {
    let k = 0;
    while (k < length && text.charCodeAt(at + k) === pieceChar(joined, a + k)) k++;
    if (k === length) return at;
  }
  return -1;
}

/**
 * A piece's character with the space markers of sentencepiece (▁) and byte-level BPE (Ġ, Ċ) undone, for a
 * backend that returns raw pieces.
 */
function pieceChar(joined: string, i: number): number {
  const c = joined.charCodeAt(i);
  return c === 0x2581 || c === 0x0120 ? 0x20 : c === 0x010a ? 0x0a : c;
}

/** Whether the piece holds U+FFFD: the decoding of a partial UTF-8 byte sequence, never in the text as such. */
function hasReplacement(joined: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (joined.charCodeAt(i) === 0xfffd) return true;
  return false;
}

/** The characters `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator). */
function isWhitespace(c: number): boolean {
  return (
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x20 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * The running sum of each character's surprisal in nats: entry i is the surprisal of characters (UTF-16 units)
 * [0, i), length n + 1, which answers the sum over any range in O(1). Each token's −logprob is spread evenly
 * over the characters it covers, and coverage partitions the text:
 * - a placed token covers its own characters, plus the gap before it when no unplaced token claims that gap;
 * - unplaced tokens between two placed ones share the gap between them, or, when there is none (the bytes of
 *   a character whose last byte token decodes to the whole character), join the next placed token;
 * - characters after the last placed token go to the trailing unplaced tokens, else to the last token.
 * So the last entry equals the sum of the tokens' surprisals (the model's `nll`) up to rounding.
 */
export function cumulativeSurprisal(
  text: string,
  run: TokenRun,
  placement: TokenPlacement = placeTokens(text, run.texts),
  arrays: ArraySource = FRESH_ARRAYS,
): Float64Array {
  const out = arrays.float64(text.length + 1);
  spreadSurprisal(text.length, run.logprobs, placement, out);
  let sum = 0;
  for (let i = 1; i < out.length; i++) out[i] = sum += out[i] as number;
  return out;
}

/** Writes the surprisal of character i of a text of `n` characters to `out[i + 1]`. */
function spreadSurprisal(
  n: number,
  logprobs: Float64Array,
  placement: TokenPlacement,
  out: Float64Array,
): void {
  if (n === 0 || logprobs.length === 0) return;
  const { offsets, ends } = placement;
  // The open group: characters [groupStart, groupEnd) that share `groupNll`; flushed when the next one opens.
  let groupStart = 0;
  let groupEnd = 0;
  let groupNll = 0;
  let pendingNll = 0;
  let pending = false;
  const flush = () => {
    if (groupEnd > groupStart) {
      const each = groupNll / (groupEnd - groupStart);
      out.fill(each, 1 + groupStart, 1 + groupEnd);
    }
  };
  for (let k = 0; k < logprobs.length; k++) {
    const nll = -(logprobs[k] as number);
    const at = offsets[k] as number;
    if (at < 0) {
      pendingNll += nll;
      pending = true;
      continue;
    }
    const end = ends[k] as number;
    if (pending && at > groupEnd) {
      // Unplaced tokens take the gap; this token opens its own group.
      flush();
      groupStart = groupEnd;
      groupEnd = at;
      groupNll = pendingNll;
      flush();
      groupStart = at;
      groupNll = nll;
    } else {
      // Also covers the gap before it (the space a sentencepiece token leaves out), or joins the byte tokens
      // before it that had no gap of their own.
      flush();
      groupStart = groupEnd;
      groupNll = nll + pendingNll;
    }
    groupEnd = end;
    pendingNll = 0;
    pending = false;
  }
  if (pending && groupEnd < n) {
    flush();
    groupStart = groupEnd;
    groupNll = pendingNll;
  } else {
    groupNll += pendingNll;
  }
  // With no token placed at all, the open group is still [0, 0): the whole text becomes one group.
  groupEnd = n;
  flush();
}

/** UTF-8 bytes of a UTF-16 unit: a surrogate pair's 4 bytes are split 2 + 2. */
function unitBytes(c: number): number {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
}

/**
 * UTF-8 bytes of the text's first characters: entry i is the bytes of UTF-16 units [0, i) (length n + 1), a
 * surrogate pair's 4 bytes split 2 + 2.
 */
export function cumulativeBytes(text: string, arrays: ArraySource = FRESH_ARRAYS): Float64Array {
  const out = arrays.float64(text.length + 1);
  let sum = 0;
  for (let i = 0; i < text.length; i++) out[i + 1] = sum += unitBytes(text.charCodeAt(i));
  return out;
}

/** One model's per-character surprisal and its ensemble weight. */
export interface WeightedSurprisal {
  readonly surprisal: Float64Array;
  readonly weight: number;
}

/**
 * The ensemble's surprisal: the weighted mean over the models that answered, entry by entry. It serves
 * per-character values and their running sums alike (a mean of sums is the sum of means).
 */
export function ensembleSurprisal(
  models: readonly WeightedSurprisal[],
  arrays: ArraySource = FRESH_ARRAYS,
): Float64Array {
  const first = models[0];
  if (!first) throw new RangeError('the ensemble needs at least one model');
  // One model: its own values are the ensemble's (callers do not modify them).
  if (models.length === 1 && first.weight > 0) return first.surprisal;
  const out = arrays.float64(first.surprisal.length);
  let weights = 0;
  for (const { surprisal, weight } of models) {
    weights += weight;
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + weight * (surprisal[i] ?? 0);
  }
  if (!(weights > 0)) throw new RangeError('the ensemble needs a positive total weight');
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / weights;
  return out;
}
