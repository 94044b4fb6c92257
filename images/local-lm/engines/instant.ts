/**
 * @module
 * The `instant` engine: answers at almost no cost, for measuring what the controller itself costs. Words are
 * tokens (a stable hash into a 32k vocabulary above the special ids) that decode, as a real tokenizer's do, to
 * the word they came from with its space in front; log-probs are a cheap deterministic function rounded to
 * float32 as a GPU reports them, and texts announced with `prepare` are tokenized ahead of time so a measured
 * run does almost no work here.
 */
import type { Tokenizer } from '../tokenizers.ts';
import type { ModelEngine, PositionScore } from './model-engine.ts';

const BOS = 1;
const EOS = 2;
const GPT2_EOS_TEXT = '<|endoftext|>';
const FIRST_WORD_ID = 100;
const WORD_IDS = 32_000;
const WORD = /\S+/g;

export interface InstantEngineOptions {
  /** Served model name. */
  readonly name: string;
  /** Llama style: BOS with `add_special_tokens`. Else GPT-2 style: no BOS, `<|endoftext|>` is EOS. @default true */
  readonly addsBos?: boolean;
}

export interface InstantEngine extends ModelEngine {
  /** The prompt the controller sends for `text` (`<|endoftext|>` in front for a GPT-2-style model). */
  promptFor(text: string): string;
  /** Tokenizes the prompts of these texts ahead of time. */
  prepare(texts: readonly string[]): void;
  /** Drops what `prepare` kept (keeps memory flat across rounds). */
  forget(): void;
}

/** A word's token id: FNV-1a into the word range. */
function wordId(word: string): number {
  let h = 2166136261;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
  return FIRST_WORD_ID + ((h >>> 0) % WORD_IDS);
}

/** The words of a text as token ids; `seen` learns the word of each id (the last one wins on a collision). */
function words(text: string, seen: Map<number, string>): number[] {
  const ids: number[] = [];
  for (const m of text.matchAll(WORD)) {
    const id = wordId(m[0]);
    if (seen.get(id) !== m[0]) seen.set(id, m[0]);
    ids.push(id);
  }
  return ids;
}

/** Deterministic log-prob of `id` after `prev`, in (−8, −0.05], as float32. */
function instantLogprob(prev: number, id: number): number {
  return Math.fround(-0.05 - ((Math.imul(prev, 31) + id * 17) % 795) / 100);
}

export function instantEngine(options: InstantEngineOptions): InstantEngine {
  const addsBos = options.addsBos ?? true;
  const prepared = new Map<string, number[]>();
  // At most one word per id of the 32k vocabulary.
  const wordOf = new Map<number, string>();
  const special = (t: number) =>
    t === BOS ? '<s>' : t === EOS ? (addsBos ? '</s>' : GPT2_EOS_TEXT) : '<unk>';
  const piece = (t: number) => (t < FIRST_WORD_ID ? special(t) : `w${t}`);
  const decoded = (t: number) => {
    const word = t < FIRST_WORD_ID ? undefined : wordOf.get(t);
    return word === undefined ? piece(t) : ` ${word}`;
  };
  const encode = (text: string, addSpecialTokens: boolean): number[] => {
    if (!addsBos && text.startsWith(GPT2_EOS_TEXT))
      return [EOS, ...words(text.slice(GPT2_EOS_TEXT.length), wordOf)];
    const ids = words(text, wordOf);
    return addSpecialTokens && addsBos ? [BOS, ...ids] : ids;
  };
  const tokenizer: Tokenizer = {
    id: 'words',
    vocabSize: FIRST_WORD_ID + WORD_IDS,
    bos: addsBos ? BOS : null,
    eos: EOS,
    prefixToken: addsBos ? BOS : EOS,
    encode: (text, addSpecialTokens) =>
      (addSpecialTokens ? prepared.get(text) : undefined) ?? encode(text, addSpecialTokens),
    decode: (ids) => ids.map(piece).join(' '),
    decodedToken: decoded,
    tokenStr: piece,
  };
  const promptFor = (text: string) => (addsBos ? text : GPT2_EOS_TEXT + text);
  return {
    name: options.name,
    root: `instant/${options.name}`,
    tokenizer,
    scorePosition(tokens, pos, k): PositionScore {
      const token = tokens[pos]!;
      const top: [number, number][] = [];
      for (let r = 0; r < k; r++) top.push([FIRST_WORD_ID + r, Math.fround(-0.01 * (r + 1))]);
      return {
        token,
        logprob: instantLogprob(tokens[pos - 1]!, token),
        rank: 1 + (token % 50),
        top,
      };
    },
    argmaxNext: () => FIRST_WORD_ID,
    promptFor,
    prepare(texts) {
      for (const t of texts) {
        const prompt = promptFor(t);
        prepared.set(prompt, encode(prompt, true));
      }
    },
    forget: () => prepared.clear(),
  };
}
