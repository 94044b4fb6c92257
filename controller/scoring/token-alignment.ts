/**
 * @module
 * Places a model's scored tokens on the characters of their text, and spreads each token's surprisal over the
 * characters it covers. vLLM returns each token decoded on its own and no offsets, so tokens are aligned
 * greedily: a token whose decoded text is found at (or within a few characters after) the cursor is placed
 * there. A token that cannot be placed (a byte-fallback or partial UTF-8 piece decoded as "" or "�", a
 * normalised character) gets offset `null`, and the characters between its placed neighbours are its share of
 * the text. Every search is bounded, so aligning a text costs O(its length) per model.
 */

/** The two facts alignment needs about one scored token. */
export interface TokenPiece {
  /** Natural-log probability of the token (≤ 0). */
  readonly logprob: number;
  /** The token decoded alone, as the backend returned it (null or "" when it has no text of its own). */
  readonly text: string | null;
}

/** Characters (whitespace, usually) that may lie between two placed tokens. */
const MAX_GAP = 2;
/** Extra reach after unplaced tokens: each may stand for up to this many UTF-16 units (one astral character). */
const SLACK_PER_UNPLACED = 2;
/** Bound on the extra reach, which keeps alignment linear in the text length. */
const MAX_SLACK = 32;

/**
 * Character offset (UTF-16 index) of each token in `text`, or null where it cannot be placed. The same
 * offsets as `token_details[].offset`.
 */
export function alignTokenOffsets(
  text: string,
  tokenTexts: readonly (string | null)[],
): (number | null)[] {
  return placeTokens(text, tokenTexts).offsets;
}

interface Placement {
  offsets: (number | null)[];
  /** End (exclusive) of each placed token; meaningless where the offset is null. */
  ends: Int32Array;
}

function placeTokens(text: string, tokenTexts: readonly (string | null)[]): Placement {
  const offsets: (number | null)[] = new Array<number | null>(tokenTexts.length);
  const ends = new Int32Array(tokenTexts.length);
  let cursor = 0;
  let slack = 0;
  for (let k = 0; k < tokenTexts.length; k++) {
    const raw = tokenTexts[k];
    const piece = raw ? normalisePiece(raw) : '';
    const reach = MAX_GAP + Math.min(slack, MAX_SLACK);
    let at = piece && !piece.includes('\uFFFD') ? findNear(text, piece, cursor, reach) : -1;
    let length = piece.length;
    if (at < 0 && piece) {
      const trimmed = piece.trimStart();
      if (trimmed && trimmed !== piece) {
        at = findNear(text, trimmed, cursor, reach);
        length = trimmed.length;
      }
    }
    if (at < 0) {
      offsets[k] = null;
      slack += Math.max(SLACK_PER_UNPLACED, piece.length);
      continue;
    }
    offsets[k] = at;
    ends[k] = at + length;
    cursor = at + length;
    slack = 0;
  }
  return { offsets, ends };
}

/** First index in [from, from + reach] where `piece` starts, or −1; costs O(reach · piece length). */
function findNear(text: string, piece: string, from: number, reach: number): number {
  const last = Math.min(from + reach, text.length - piece.length);
  for (let at = from; at <= last; at++) if (text.startsWith(piece, at)) return at;
  return -1;
}

const MARKERS = /[\u2581\u0120\u010a]/;

/** Undoes the space markers of sentencepiece (▁) and byte-level BPE (Ġ, Ċ) when a backend returns raw pieces. */
function normalisePiece(piece: string): string {
  if (!MARKERS.test(piece)) return piece;
  return piece
    .replace(/\u2581/g, ' ')
    .replace(/\u0120/g, ' ')
    .replace(/\u010a/g, '\n');
}

/**
 * Surprisal of each character (UTF-16 unit) of `text` in nats: each token's −logprob spread evenly over the
 * characters it covers. Coverage partitions the text:
 * - a placed token covers its own characters, plus the gap before it when no unplaced token claims that gap;
 * - unplaced tokens between two placed ones share the gap between them, or, when there is none (the bytes of
 *   a character whose last byte token decodes to the whole character), join the next placed token;
 * - characters after the last placed token go to the trailing unplaced tokens, else to the last token.
 * So the sum over characters equals the sum of the tokens' surprisals (the model's `nll`) up to rounding.
 * @returns one value per UTF-16 unit (empty for an empty text)
 */
export function charSurprisal(text: string, tokens: readonly TokenPiece[]): Float64Array {
  const n = text.length;
  const out = new Float64Array(n);
  if (n === 0 || tokens.length === 0) return out;
  const { offsets, ends } = placeTokens(
    text,
    tokens.map((t) => t.text),
  );
  // The open group: characters [groupStart, groupEnd) that share `groupNll`; flushed when the next one opens.
  let groupStart = 0;
  let groupEnd = 0;
  let groupNll = 0;
  let pendingNll = 0;
  let pending = false;
  const flush = () => {
    if (groupEnd > groupStart) {
      const each = groupNll / (groupEnd - groupStart);
      for (let i = groupStart; i < groupEnd; i++) out[i] = each;
    }
  };
  for (let k = 0; k < tokens.length; k++) {
    const nll = -(tokens[k] as TokenPiece).logprob;
    const at = offsets[k];
    if (at === null || at === undefined) {
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
  return out;
}

/** UTF-8 bytes of each UTF-16 unit: a surrogate pair's 4 bytes are split 2 + 2. */
export function charBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[i] = c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return out;
}

/** One model's per-character surprisal and its ensemble weight. */
export interface WeightedSurprisal {
  readonly surprisal: Float64Array;
  readonly weight: number;
}

/** A character's ensemble surprisal: the weighted mean over the models that answered. */
export function ensembleSurprisal(models: readonly WeightedSurprisal[]): Float64Array {
  const first = models[0];
  if (!first) throw new RangeError('the ensemble needs at least one model');
  // One model: its own values are the ensemble's (callers do not modify them).
  if (models.length === 1 && first.weight > 0) return first.surprisal;
  const out = new Float64Array(first.surprisal.length);
  let weights = 0;
  for (const { surprisal, weight } of models) {
    weights += weight;
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + weight * (surprisal[i] ?? 0);
  }
  if (!(weights > 0)) throw new RangeError('the ensemble needs a positive total weight');
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / weights;
  return out;
}
