/**
 * @module
 * Reads a `/v1/completions` scoring answer straight from its text into `ScoredChoice`s: token ids and the
 * logprob of each actual token, and on request its decoded text, nothing else kept. Every other value is skipped by a small JSON scanner, so no
 * object is built per token position. Anything unexpected (a shape it does not know, malformed JSON) makes it
 * return undefined, and the caller parses with `JSON.parse` instead, which gives the exact error. The one
 * leniency: a malformed numeral such as `01` is read as a number rather than refused.
 */
import { unpackChoices } from './packed-choices.ts';
import type { PackedChoices } from './packed-choices.ts';
import type { ScoredChoice } from './scored-choice.ts';
import { tokenTextsOf } from '../scoring/token-texts.ts';
import type { TokenTexts } from '../scoring/token-texts.ts';

class Unexpected extends Error {}
const UNEXPECTED = new Unexpected('unexpected completion shape');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

const RESPONSE_KEYS = ['choices'];
const CHOICE_KEYS = ['index', 'prompt_token_ids', 'prompt_logprobs'];
const ENTRY_KEYS = ['logprob', 'decoded_token'];

/** Scratch space reused across calls: (token id, logprob) pairs of one choice, and where each position starts. */
let pairKeys = new Float64Array(4096);
let pairValues = new Float64Array(4096);
/** Where each pair's `decoded_token` string lies in the body (its quotes included), or −1 when it has none. */
let pairTextAt = new Int32Array(4096);
let pairTextEnd = new Int32Array(4096);
let positionStarts = new Int32Array(1024);
let idScratch = new Int32Array(1024);
/** Every choice's ids and logprobs of the answer being read, end to end (copied out exactly sized at the end). */
let outIds = new Int32Array(16384);
let outLogprobs = new Float64Array(16384);
/** Where the actual token's text lies in the body, per output position (−1: none). */
let outTextAt = new Int32Array(16384);
let outTextEnd = new Int32Array(16384);

/**
 * Reads the raw bytes of the answer: no UTF-8 decoding and no multi-megabyte string for the garbage
 * collector. Byte-wise scanning is exact for UTF-8: bytes of multi-byte characters are all ≥ 0x80, so they are
 * never mistaken for a quote, a backslash or punctuation.
 * @param body the response body
 * @param expected prompts sent (the answer must have exactly this many choices, indexes 0 … expected − 1)
 * @returns choices in prompt order, or undefined when the body is not what this reader knows
 */
export function parseScoredChoiceBytes(
  body: Buffer,
  expected: number,
  withTexts = false,
): ScoredChoice[] | undefined {
  const packed = parsePackedChoices(body, expected, withTexts);
  return packed && unpackChoices(packed);
}

/**
 * `parseScoredChoiceBytes` into one set of typed arrays (what a parse worker sends back): every choice's ids and
 * logprobs end to end in prompt order, with no array per choice.
 */
export function parsePackedChoices(
  body: Buffer,
  expected: number,
  withTexts = false,
): PackedChoices | undefined {
  try {
    return new Reader(body).response(expected, withTexts);
  } catch (err) {
    if (err instanceof Unexpected) return undefined;
    throw err;
  }
}

/** `parseScoredChoiceBytes` of a string (tests, callers that already hold text). */
export function parseScoredChoices(
  body: string,
  expected: number,
  withTexts = false,
): ScoredChoice[] | undefined {
  return parseScoredChoiceBytes(Buffer.from(body, 'utf8'), expected, withTexts);
}

class Reader {
  readonly #s: Buffer;
  #i = 0;
  /** Positions written to `outIds` / `outLogprobs` so far (choices in the order they came). */
  #written = 0;

  constructor(s: Buffer) {
    this.#s = s;
  }

  response(expected: number, withTexts: boolean): PackedChoices {
    // Where each choice's positions start in the scratch output, and how many it has, by index.
    const from = new Int32Array(expected).fill(-1);
    const length = new Int32Array(expected);
    let seen = 0;
    let inOrder = true;
    this.#open(LBRACE);
    if (this.#closes(RBRACE)) throw UNEXPECTED;
    do {
      if (this.#key(RESPONSE_KEYS) === 0) {
        this.#open(LBRACKET);
        if (!this.#closes(RBRACKET)) {
          do {
            const start = this.#written;
            const index = this.#choice();
            if (index >= expected || (from[index] as number) >= 0) throw UNEXPECTED;
            inOrder &&= index === seen;
            from[index] = start;
            length[index] = this.#written - start;
            seen++;
          } while (this.#next(RBRACKET));
        }
      } else {
        this.#skipValue();
      }
    } while (this.#next(RBRACE));
    this.#ws();
    if (this.#i !== this.#s.length || seen !== expected) throw UNEXPECTED;
    const total = this.#written;
    if (inOrder) {
      const starts = new Int32Array(expected + 1);
      for (let p = 0; p < expected; p++)
        starts[p + 1] = (starts[p] as number) + (length[p] as number);
      const ids = outIds.slice(0, total);
      const logprobs = outLogprobs.slice(0, total);
      if (!withTexts) return { starts, ids, logprobs };
      return { starts, ids, logprobs, texts: readTexts(this.#s, identity(total)) };
    }
    const starts = new Int32Array(expected + 1);
    const ids = new Int32Array(total);
    const logprobs = new Float64Array(total);
    // Output position → scratch position, for the token texts.
    const order = withTexts ? new Int32Array(total) : undefined;
    for (let p = 0; p < expected; p++) {
      const a = from[p] as number;
      const n = length[p] as number;
      const at = starts[p] as number;
      ids.set(outIds.subarray(a, a + n), at);
      logprobs.set(outLogprobs.subarray(a, a + n), at);
      if (order) for (let j = 0; j < n; j++) order[at + j] = a + j;
      starts[p + 1] = at + n;
    }
    if (!order) return { starts, ids, logprobs };
    return { starts, ids, logprobs, texts: readTexts(this.#s, order) };
  }

  /** One choice, appended to the scratch output; returns its index. */
  #choice(): number {
    let index = -1;
    let ids = -1;
    let positions = -1;
    this.#open(LBRACE);
    if (this.#closes(RBRACE)) throw UNEXPECTED;
    do {
      const key = this.#key(CHOICE_KEYS);
      if (key === 0) index = this.#int();
      else if (key === 1) ids = this.#intArray();
      else if (key === 2) positions = this.#logprobPositions();
      else this.#skipValue();
    } while (this.#next(RBRACE));
    if (index < 0 || ids < 0 || positions !== ids) throw UNEXPECTED;
    const at = this.#written;
    while (at + positions > outIds.length) {
      outIds = grow(outIds);
      outLogprobs = grow(outLogprobs);
      outTextAt = grow(outTextAt);
      outTextEnd = grow(outTextEnd);
    }
    for (let p = 0; p < positions; p++) {
      const id = idScratch[p] as number;
      let lp = NaN;
      let textAt = -1;
      let textEnd = -1;
      for (
        let q = positionStarts[p] as number, end = positionStarts[p + 1] as number;
        q < end;
        q++
      ) {
        if (pairKeys[q] === id) {
          lp = pairValues[q] as number;
          textAt = pairTextAt[q] as number;
          textEnd = pairTextEnd[q] as number;
          break;
        }
      }
      outIds[at + p] = id;
      outLogprobs[at + p] = lp;
      outTextAt[at + p] = textAt;
      outTextEnd[at + p] = textEnd;
    }
    this.#written = at + positions;
    return index;
  }

  /** `[null | {"<id>": {"logprob": x, ...}, ...}, ...]` into the scratch arrays; returns the position count. */
  #logprobPositions(): number {
    let pairs = 0;
    let p = 0;
    this.#open(LBRACKET);
    if (this.#closes(RBRACKET)) {
      positionStarts[0] = 0;
      return 0;
    }
    do {
      if (p + 1 >= positionStarts.length) positionStarts = grow(positionStarts);
      positionStarts[p] = pairs;
      this.#ws();
      if (byte(this.#s, this.#i) === 0x6e /* n */) {
        this.#literal('null');
      } else {
        this.#open(LBRACE);
        if (!this.#closes(RBRACE)) {
          do {
            if (pairs >= pairKeys.length) {
              pairKeys = grow(pairKeys);
              pairValues = grow(pairValues);
              pairTextAt = grow(pairTextAt);
              pairTextEnd = grow(pairTextEnd);
            }
            if (!this.#vllmEntry(pairs)) {
              pairKeys[pairs] = this.#intKey();
              pairValues[pairs] = this.#logprobEntry(pairs);
            }
            pairs++;
          } while (this.#next(RBRACE));
        }
      }
      p++;
    } while (this.#next(RBRACKET));
    positionStarts[p] = pairs;
    return p;
  }

  /**
   * `{"logprob": x, "rank": …, "decoded_token": …}` → x (NaN when absent or not a number); where its
   * decoded_token string lies goes to pair slot `slot`.
   */
  #logprobEntry(slot: number): number {
    let lp = NaN;
    pairTextAt[slot] = -1;
    pairTextEnd[slot] = -1;
    this.#open(LBRACE);
    if (this.#closes(RBRACE)) return lp;
    do {
      const key = this.#key(ENTRY_KEYS);
      this.#ws();
      const c = byte(this.#s, this.#i);
      if (key === 0 && (c === MINUS || (c >= ZERO && c <= NINE))) lp = this.#number();
      else if (key === 1 && c === QUOTE) {
        pairTextAt[slot] = this.#i;
        this.#skipString();
        pairTextEnd[slot] = this.#i;
      } else this.#skipValue();
    } while (this.#next(RBRACE));
    return lp;
  }

  /** An array of token ids (each below 2^31) into `idScratch`; returns how many. */
  #intArray(): number {
    let n = 0;
    this.#open(LBRACKET);
    if (!this.#closes(RBRACKET)) {
      do {
        if (n >= idScratch.length) idScratch = grow(idScratch);
        const id = this.#int();
        if (id > 0x7fffffff) throw UNEXPECTED;
        idScratch[n++] = id;
      } while (this.#next(RBRACKET));
    }
    return n;
  }

  /** A non-negative integer. */
  #int(): number {
    this.#ws();
    const s = this.#s;
    let i = this.#i;
    let n = 0;
    const start = i;
    for (let c = byte(s, i); c >= ZERO && c <= NINE; c = byte(s, ++i)) n = n * 10 + (c - ZERO);
    if (i === start || i - start > 15) throw UNEXPECTED;
    this.#i = i;
    return n;
  }

  /** A key that is a token id in quotes, and its colon. */
  #intKey(): number {
    this.#ws();
    if (byte(this.#s, this.#i) !== QUOTE) throw UNEXPECTED;
    this.#i++;
    const n = this.#int();
    if (byte(this.#s, this.#i) !== QUOTE) throw UNEXPECTED;
    this.#i++;
    this.#open(COLON);
    return n;
  }

  /** A JSON number, exactly as JSON.parse reads it. */
  #number(): number {
    const start = this.#i;
    const n = readNumber(this.#s, start);
    if (Number.isNaN(n)) throw UNEXPECTED;
    this.#i = numberEnd_;
    return n;
  }

  /**
   * One entry in exactly the layout vLLM writes, `"<id>":{"logprob":x,"rank":r,"decoded_token":"…"}`, read
   * with whole-string compares into pair slot `slot`. False, with nothing consumed, for any other layout.
   */
  #vllmEntry(slot: number): boolean {
    const s = this.#s;
    let i = this.#i;
    if (byte(s, i) !== QUOTE) return false;
    const idStart = ++i;
    let id = 0;
    for (let c = byte(s, i); c >= ZERO && c <= NINE; c = byte(s, ++i)) id = id * 10 + (c - ZERO);
    if (i === idStart || i - idStart > 15 || !hasBytes(s, ENTRY_HEAD, i)) return false;
    i += ENTRY_HEAD.length;
    const lp = readNumber(s, i);
    const lpEnd = numberEnd_;
    if (Number.isNaN(lp) || !hasBytes(s, ENTRY_RANK, lpEnd)) return false;
    i = lpEnd + ENTRY_RANK.length;
    if (hasBytes(s, NULL_BYTES, i)) i += 4;
    else {
      const rankEnd = numberEnd(s, i);
      if (rankEnd === i) return false;
      i = rankEnd;
    }
    if (!hasBytes(s, ENTRY_TOKEN, i)) return false;
    i += ENTRY_TOKEN.length;
    let textAt = -1;
    let textEnd = -1;
    if (hasBytes(s, NULL_BYTES, i)) i += 4;
    else {
      textAt = i;
      i = stringEnd(s, i);
      if (i < 0) return false;
      textEnd = i;
    }
    if (byte(s, i) !== RBRACE) return false;
    this.#i = i + 1;
    pairKeys[slot] = id;
    pairValues[slot] = lp;
    pairTextAt[slot] = textAt;
    pairTextEnd[slot] = textEnd;
    return true;
  }

  /** Consumes the next key and its colon; returns the position of the key in `names`, or −1. */
  #key(names: readonly string[]): number {
    this.#ws();
    const s = this.#s;
    const i = this.#i;
    if (byte(s, i) !== QUOTE) throw UNEXPECTED;
    let found = -1;
    for (let n = 0; n < names.length; n++) {
      const name = names[n] as string;
      // The key is exactly `name` when its characters follow the quote and a quote follows them.
      if (byte(s, i + name.length + 1) === QUOTE && startsWith(s, name, i + 1)) {
        found = n;
        this.#i = i + name.length + 2;
        break;
      }
    }
    if (found < 0) this.#skipString();
    this.#open(COLON);
    return found;
  }

  #skipValue(): void {
    this.#ws();
    const s = this.#s;
    const c = byte(s, this.#i);
    if (c === QUOTE) this.#skipString();
    else if (c === LBRACE) {
      this.#i++;
      if (this.#closes(RBRACE)) return;
      do {
        this.#ws();
        this.#skipString();
        this.#open(COLON);
        this.#skipValue();
      } while (this.#next(RBRACE));
    } else if (c === LBRACKET) {
      this.#i++;
      if (this.#closes(RBRACKET)) return;
      do this.#skipValue();
      while (this.#next(RBRACKET));
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) this.#number();
    else if (c === 0x6e) this.#literal('null');
    else if (c === 0x74) this.#literal('true');
    else if (c === 0x66) this.#literal('false');
    else throw UNEXPECTED;
  }

  #skipString(): void {
    const s = this.#s;
    let i = this.#i;
    if (byte(s, i) !== QUOTE) throw UNEXPECTED;
    for (i++; i < s.length; i++) {
      const c = byte(s, i);
      if (c === QUOTE) {
        this.#i = i + 1;
        return;
      }
      if (c === BACKSLASH) i++;
      else if (c < 0x20) throw UNEXPECTED; // raw control characters are not JSON
    }
    throw UNEXPECTED;
  }

  #literal(word: string): void {
    if (!startsWith(this.#s, word, this.#i)) throw UNEXPECTED;
    this.#i += word.length;
  }

  #open(code: number): void {
    this.#ws();
    if (byte(this.#s, this.#i) !== code) throw UNEXPECTED;
    this.#i++;
  }

  /** Consumes `close` if it comes next. */
  #closes(close: number): boolean {
    this.#ws();
    if (byte(this.#s, this.#i) !== close) return false;
    this.#i++;
    return true;
  }

  /** After a member: true on a comma (another follows), false on `close`. */
  #next(close: number): boolean {
    this.#ws();
    const c = byte(this.#s, this.#i++);
    if (c === COMMA) return true;
    if (c === close) return false;
    throw UNEXPECTED;
  }

  #ws(): void {
    const s = this.#s;
    let i = this.#i;
    for (
      let c = byte(s, i);
      c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
      c = byte(s, ++i)
    );
    this.#i = i;
  }
}

/** The fixed parts of vLLM's entry layout, as bytes (compared once per token position: the parser's hot path). */
const ENTRY_HEAD = Buffer.from('":{"logprob":', 'latin1');
const ENTRY_RANK = Buffer.from(',"rank":', 'latin1');
const ENTRY_TOKEN = Buffer.from(',"decoded_token":', 'latin1');
const NULL_BYTES = Buffer.from('null', 'latin1');
/** Exact powers of ten (every one up to 1e22 is a double without rounding). */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** End of the numeral starting at `i` (i itself when there is none). */
function numberEnd(s: Buffer, i: number): number {
  for (let c = byte(s, i); isNumberChar(c); c = byte(s, ++i));
  return i;
}

/** Where the numeral last read by `readNumber` ended (a second return value without an allocation). */
let numberEnd_ = 0;

/**
 * Reads the numeral at `a` in one pass, NaN when there is none; `numberEnd_` tells where it ended. Plain
 * decimals (no exponent) are read as an integer mantissa divided by a power of ten. Up to 2^53 (15–16 digits)
 * both are exact doubles and the one IEEE division rounds correctly, so the result equals JSON.parse's bit for
 * bit; the 17-digit shortest forms of float32 logprobs that vLLM writes accumulate at most a few ulps (~1e-16
 * relative), far below the jitter of GPU logprobs and ~100 ns per number cheaper than Number(). Exponents and
 * other forms go through Number().
 */
function readNumber(s: Buffer, a: number): number {
  let i = a;
  let c = byte(s, i);
  const negative = c === MINUS;
  if (negative) c = byte(s, ++i);
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  for (; c >= ZERO && c <= NINE; c = byte(s, ++i), digits++) mantissa = mantissa * 10 + (c - ZERO);
  if (c === 0x2e) {
    c = byte(s, ++i);
    for (; c >= ZERO && c <= NINE; c = byte(s, ++i), digits++, fraction++) {
      mantissa = mantissa * 10 + (c - ZERO);
    }
  }
  if (digits === 0 || isNumberChar(c) || fraction > 22 || byte(s, i - 1) === 0x2e) {
    const end = numberEnd(s, i);
    numberEnd_ = end;
    return end > a ? Number(s.toString('latin1', a, end)) : NaN;
  }
  numberEnd_ = i;
  const value = fraction === 0 ? mantissa : mantissa / (POW10[fraction] as number);
  return negative ? -value : value;
}

/** 0, 1, … n − 1. */
function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = k;
  return out;
}

/**
 * The decoded text of each output position (`order[k]`: its scratch position), as one joined string made by
 * one UTF-8 decode, with no string per token: a token's bytes are copied as they are when its JSON string has
 * no escape (each byte that does not continue a character is one UTF-16 unit, a 4-byte character two), and
 * read by JSON.parse when it has one (rare: quotes, backslashes, control characters). Bytes that are not valid
 * UTF-8 would decode to other lengths: then each token is decoded on its own instead.
 */
function readTexts(s: Buffer, order: Int32Array): TokenTexts {
  const n = order.length;
  const starts = new Int32Array(n + 1);
  let missing: Uint8Array | undefined;
  // An escape never decodes to more bytes than it takes, so the raw lengths bound the output.
  let bound = 0;
  for (let k = 0; k < n; k++) {
    const q = order[k] as number;
    const a = outTextAt[q] as number;
    if (a >= 0) bound += (outTextEnd[q] as number) - a - 2;
  }
  const out = Buffer.allocUnsafe(bound);
  let written = 0;
  let units = 0;
  for (let k = 0; k < n; k++) {
    const q = order[k] as number;
    const a = outTextAt[q] as number;
    if (a < 0) {
      (missing ??= new Uint8Array(n))[k] = 1;
      starts[k + 1] = units;
      continue;
    }
    const b = (outTextEnd[q] as number) - 1;
    let escaped = false;
    for (let i = a + 1; i < b; i++) {
      const c = s[i] as number;
      if (c === BACKSLASH) {
        escaped = true;
        break;
      }
      if ((c & 0xc0) !== 0x80) units += c >= 0xf0 ? 2 : 1;
    }
    if (escaped) {
      const piece = JSON.parse(s.toString('utf8', a, b + 1)) as string;
      written += out.write(piece, written, 'utf8');
      // Recounted from the start of this token: the loop above may have counted part of it.
      units = (starts[k] as number) + piece.length;
    } else {
      // Byte by byte: a token is a few bytes, less than a native copy costs to call.
      for (let i = a + 1; i < b; i++) out[written++] = s[i] as number;
    }
    starts[k + 1] = units;
  }
  const joined = out.toString('utf8', 0, written);
  if (joined.length !== units) return readTextsOneByOne(s, order);
  return missing ? { joined, starts, missing } : { joined, starts };
}

/** `readTexts` for bytes that are not valid UTF-8: each token decoded on its own, as JSON.parse would. */
function readTextsOneByOne(s: Buffer, order: Int32Array): TokenTexts {
  const pieces = Array.from(order, (q) => {
    const a = outTextAt[q] as number;
    return a < 0 ? null : (JSON.parse(s.toString('utf8', a, outTextEnd[q])) as string);
  });
  return tokenTextsOf(pieces);
}

/**
 * Index just past the JSON string whose opening quote is at `i`, or −1. A plain loop: token texts are a few
 * bytes, shorter than what a native search costs to call.
 */
function stringEnd(s: Buffer, i: number): number {
  if (byte(s, i) !== QUOTE) return -1;
  const n = s.length;
  for (let k = i + 1; k < n; k++) {
    const c = s[k] as number;
    if (c === QUOTE) return k + 1;
    if (c === BACKSLASH) k++;
  }
  return -1;
}

/** The byte at `i`, or −1 past the end (keeps every comparison well-typed and the loads in bounds). */
function byte(s: Buffer, i: number): number {
  return i < s.length ? (s[i] as number) : -1;
}

/** Whether the bytes `word` are at position `i`. */
function hasBytes(s: Buffer, word: Uint8Array, i: number): boolean {
  const n = word.length;
  if (i < 0 || i + n > s.length) return false;
  for (let k = 0; k < n; k++) if (s[i + k] !== word[k]) return false;
  return true;
}

/** Whether `word` (ASCII) is at position `i`. */
function startsWith(s: Buffer, word: string, i: number): boolean {
  if (i + word.length > s.length) return false;
  for (let k = 0; k < word.length; k++) if (byte(s, i + k) !== word.charCodeAt(k)) return false;
  return true;
}

function isNumberChar(c: number): boolean {
  return (
    (c >= ZERO && c <= NINE) || c === MINUS || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b
  );
}

function grow<T extends Float64Array | Int32Array>(a: T): T {
  const bigger = new (a.constructor as new (n: number) => T)(a.length * 2);
  bigger.set(a);
  return bigger;
}
