/**
 * @module
 * Model-independent facts about a text: its UTF-8 bytes and whitespace-separated words, the denominators of
 * bits-per-byte and word perplexity (the same for every model, which is what makes them comparable).
 */

/** UTF-8 byte length. Texts reaching here are well-formed Unicode (the API rejects lone surrogates). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Whitespace-separated words, ignoring leading and trailing whitespace. */
export function wordCount(text: string): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isWhitespace(text.charCodeAt(i));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

function isWhitespace(code: number): boolean {
  // Same set as JavaScript's \s: ASCII space/controls, NBSP, BOM and the Unicode space separators.
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
