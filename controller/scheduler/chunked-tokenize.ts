/**
 * @module
 * Tokenizing a text longer than the context in pieces, for backends whose `/tokenize` refuses such texts (newer
 * vLLM releases may bound it by `max_model_len`). Pieces are cut at single spaces between words, where every
 * tokenizer family we know starts a new token, and joined by the rule the tokenizer itself shows on probes:
 * byte-level BPE (GPT-2, cl100k) keeps the space at the start of the next piece; sentencepiece (Llama, Mistral)
 * drops it, because its dummy prefix puts it back. A tokenizer that follows neither rule is not split.
 */
/** How a text cut at a space is tokenized so that the pieces' tokens equal the whole text's. */
export type JoinRule = 'keep-space' | 'drop-space';

type Tokenize = (text: string) => Promise<number[]>;

/** Word pairs split at the space between them; the rule must hold for every one. */
const PROBES: ReadonlyArray<readonly [string, string]> = [
  ['alpha', 'beta gamma'],
  ['Hello,', 'world. And more'],
  ['x  y', 'z 42'],
];

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((t, i) => b[i] === t);

/** Learns the join rule from the tokenizer, or null when neither rule reproduces the whole-text tokens. */
export async function learnJoinRule(tokenize: Tokenize): Promise<JoinRule | null> {
  let keep = true;
  let drop = true;
  for (const [left, right] of PROBES) {
    const whole = await tokenize(`${left} ${right}`);
    const head = await tokenize(left);
    if (keep) keep = same(whole, [...head, ...(await tokenize(` ${right}`))]);
    if (drop) drop = same(whole, [...head, ...(await tokenize(right))]);
  }
  return keep ? 'keep-space' : drop ? 'drop-space' : null;
}

/**
 * Cuts `text` into pieces of at most `maxBytes` UTF-8 bytes at single spaces between non-space characters. A
 * run with no such space (one enormous word) is cut at a code-point boundary: the only place where the pieces'
 * tokens may differ from the whole text's.
 */
export function splitAtSpaces(text: string, maxBytes: number, rule: JoinRule): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let bytes = 0;
    let i = start;
    let lastCut = -1;
    while (i < text.length) {
      const cp = text.codePointAt(i) as number;
      const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      // Always take one code point, so a budget smaller than a character still makes progress.
      if (bytes + size > maxBytes && i > start) break;
      bytes += size;
      i += cp > 0xffff ? 2 : 1;
      if (text[i] === ' ' && !isSpace(text[i - 1]) && !isSpace(text[i + 1])) lastCut = i;
    }
    if (i >= text.length) {
      pieces.push(text.slice(start));
      break;
    }
    const cut = lastCut > start ? lastCut : i;
    pieces.push(text.slice(start, cut));
    // At a word boundary the space either opens the next piece or is left to the tokenizer's dummy prefix.
    start = cut === lastCut && rule === 'drop-space' ? cut + 1 : cut;
  }
  return pieces;
}

function isSpace(ch: string | undefined): boolean {
  return ch === undefined || /\s/.test(ch);
}
