/**
 * @module
 * Character offsets of scored tokens in their text, for highlighting. vLLM returns each token decoded on its own
 * and no offsets, so tokens are aligned greedily against the text; a token that cannot be placed (a partial
 * UTF-8 piece decoded as "", a normalised character) gets `null` and alignment continues after it.
 */

/** Up to this many characters (whitespace, usually) may lie between two aligned tokens. */
const MAX_GAP = 2;

export function alignTokenOffsets(
  text: string,
  tokenTexts: readonly (string | null)[],
): (number | null)[] {
  const offsets: (number | null)[] = [];
  let cursor = 0;
  for (const raw of tokenTexts) {
    const piece = raw ? normalisePiece(raw) : '';
    if (piece.length === 0) {
      offsets.push(null);
      continue;
    }
    let at = text.indexOf(piece, cursor);
    let length = piece.length;
    if (at < 0 || at - cursor > MAX_GAP) {
      const trimmed = piece.trimStart();
      at = trimmed ? text.indexOf(trimmed, cursor) : -1;
      length = trimmed.length;
    }
    if (at < 0 || at - cursor > MAX_GAP) {
      offsets.push(null);
      continue;
    }
    offsets.push(at);
    cursor = at + length;
  }
  return offsets;
}

/** Undoes the space markers of sentencepiece (▁) and byte-level BPE (Ġ, Ċ) when a backend returns raw pieces. */
function normalisePiece(piece: string): string {
  return piece
    .replace(/\u2581/g, ' ')
    .replace(/\u0120/g, ' ')
    .replace(/\u010a/g, '\n');
}
