/**
 * @module
 * Real tokenizers from npm packages behind one small interface, with the special-token behaviour of the
 * Hugging Face tokenizers vLLM serves: Llama/Mistral prepend BOS on `add_special_tokens`, the GPT family adds
 * nothing (phi-2 in production behaves like this).
 */
import llamaTokenizer from 'llama-tokenizer-js';
import mistralTokenizer from 'mistral-tokenizer-js';
import * as r50k from 'gpt-tokenizer/encoding/r50k_base';
import * as cl100k from 'gpt-tokenizer/encoding/cl100k_base';

export type TokenizerId = 'llama' | 'mistral' | 'gpt2' | 'cl100k';
export const TOKENIZER_IDS: readonly TokenizerId[] = ['llama', 'mistral', 'gpt2', 'cl100k'];

export interface Tokenizer {
  /** Which vocabulary: a TokenizerId for the real ones, or the name of an engine's own (e.g. `bytes`). */
  readonly id: string;
  /** Number of token ids (valid ids are 0 … vocabSize − 1). */
  readonly vocabSize: number;
  /** BOS id the tokenizer prepends with `add_special_tokens`, or null (GPT family). */
  readonly bos: number | null;
  readonly eos: number;
  /** What lm-eval prefixes a text with so its first token is scored: BOS, else EOS. */
  readonly prefixToken: number;
  encode(text: string, addSpecialTokens: boolean): number[];
  decode(ids: readonly number[]): string;
  /** One token decoded alone, like vLLM's `decoded_token` ("" for a partial UTF-8 byte token). */
  decodedToken(id: number): string;
  /** The raw vocabulary piece (`convert_ids_to_tokens`): "▁the" or "Ġthe". */
  tokenStr(id: number): string;
}

interface SentencePieceLike {
  vocabById: string[];
  encode(prompt: string, addBos?: boolean, addPrecedingSpace?: boolean): number[];
  decode(ids: number[], addBos?: boolean, addPrecedingSpace?: boolean): string;
}

const REPLACEMENT = '\uFFFD';
const SP_SPECIALS: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
const SP_SPECIAL_RE = /(<unk>|<s>|<\/s>)/;

/** Both sentencepiece packages share one shape; HF Llama/Mistral add a "▁" prefix space and BOS=1, EOS=2. */
function sentencePiece(id: 'llama' | 'mistral', sp: SentencePieceLike): Tokenizer {
  const cache = new Map<number, string>();
  return {
    id,
    vocabSize: sp.vocabById.length,
    bos: 1,
    eos: 2,
    prefixToken: 1,
    encode(text, addSpecialTokens) {
      const ids: number[] = addSpecialTokens ? [1] : [];
      // HF tokenizers match special-token text ("</s>") as the special id; each piece between them is
      // normalised on its own (gets its own "▁" prefix), as the fast Llama tokenizer does.
      for (const part of text.split(SP_SPECIAL_RE)) {
        if (!part) continue;
        const special = SP_SPECIALS[part];
        if (special !== undefined) ids.push(special);
        else for (const t of sp.encode(part, false, true)) ids.push(t);
      }
      return ids;
    },
    decode(ids) {
      // Render special ids as text (vLLM's /detokenize keeps them), then decode runs of ordinary tokens.
      let out = '';
      let run: number[] = [];
      const flush = () => {
        if (run.length) out += sp.decode(run, false, out.length === 0);
        run = [];
      };
      for (const t of ids) {
        if (t <= 2) {
          flush();
          out += sp.vocabById[t] ?? '';
        } else run.push(t);
      }
      flush();
      return out;
    },
    decodedToken(t) {
      let s = cache.get(t);
      if (s === undefined) {
        s = t <= 2 ? (sp.vocabById[t] ?? '') : sp.decode([t], false, false);
        if (s.includes(REPLACEMENT)) s = '';
        cache.set(t, s);
      }
      return s;
    },
    tokenStr: (t) => sp.vocabById[t] ?? '',
  };
}

/** GPT-2's printable stand-ins for bytes (so " the" shows as "Ġthe", as HF's convert_ids_to_tokens does). */
function byteToUnicode(): string[] {
  const table: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
}

interface GptEncodingLike {
  encode(text: string, options?: { allowedSpecial?: Set<string> }): number[];
  decode(ids: Iterable<number>): string;
}

function gptFamily(
  id: 'gpt2' | 'cl100k',
  enc: GptEncodingLike,
  vocabSize: number,
  eos: number,
): Tokenizer {
  const bytes = byteToUnicode();
  const utf8 = new TextEncoder();
  const allowed = new Set(['<|endoftext|>']);
  const cache = new Map<number, string>();
  // cl100k has unassigned ids (100256, 100261–100275); the encoder throws on them, vLLM decodes them to "".
  const exists = (t: number) => {
    try {
      enc.decode([t]);
      return true;
    } catch {
      return false;
    }
  };
  const safeDecode = (ids: readonly number[]) => {
    try {
      return enc.decode(ids);
    } catch {
      return enc.decode(ids.filter(exists));
    }
  };
  return {
    id,
    vocabSize,
    bos: null,
    eos,
    prefixToken: eos,
    encode: (text) => (text.length === 0 ? [] : enc.encode(text, { allowedSpecial: allowed })),
    decode: safeDecode,
    decodedToken(t) {
      let s = cache.get(t);
      if (s === undefined) {
        s = safeDecode([t]);
        if (s.includes(REPLACEMENT)) s = '';
        cache.set(t, s);
      }
      return s;
    },
    tokenStr(t) {
      if (t === eos) return '<|endoftext|>';
      const s = safeDecode([t]);
      // Partial UTF-8 tokens cannot be recovered from the decoded string; show them as vLLM would show "".
      if (s.includes(REPLACEMENT)) return '';
      return Array.from(utf8.encode(s), (b) => bytes[b]).join('');
    },
  };
}

const built = new Map<TokenizerId, Tokenizer>();

/** Returns the (shared, stateless) tokenizer for an id. */
export function getTokenizer(id: TokenizerId): Tokenizer {
  let tok = built.get(id);
  if (!tok) {
    switch (id) {
      case 'llama':
        tok = sentencePiece('llama', llamaTokenizer as unknown as SentencePieceLike);
        break;
      case 'mistral':
        tok = sentencePiece('mistral', mistralTokenizer as unknown as SentencePieceLike);
        break;
      case 'gpt2':
        // r50k_base is GPT-2's encoding: 50,257 ids, <|endoftext|> = 50256, no BOS.
        tok = gptFamily('gpt2', r50k as unknown as GptEncodingLike, 50257, 50256);
        break;
      case 'cl100k':
        // cl100k_base ids run to 100276 (<|endofprompt|>); <|endoftext|> = 100257.
        tok = gptFamily('cl100k', cl100k as unknown as GptEncodingLike, 100277, 100257);
        break;
      default:
        throw new Error(`unknown tokenizer ${String(id)}; use one of ${TOKENIZER_IDS.join(', ')}`);
    }
    built.set(id, tok);
  }
  return tok;
}
