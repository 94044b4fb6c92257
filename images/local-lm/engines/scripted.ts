/**
 * @module
 * The `scripted` engine: bytes on the wire a test can predict exactly. One token per UTF-8 byte (id = byte + 3),
 * BOS = 1, EOS = 2, a deterministic log-prob for each (previous, actual) token pair, and one top-1 alternative
 * (id 3, smaller than any text token, so `JSON.parse` moves it in front of the actual token vLLM lists first).
 * A test may override any position's log-prob, e.g. with vLLM's −9999 sentinel or drifting weights.
 */
import type { Tokenizer } from '../tokenizers.ts';
import type { ModelEngine, PositionScore } from './model-engine.ts';

export const SCRIPTED_BOS = 1;
export const SCRIPTED_EOS = 2;
/** Id of the top-1 alternative at every position (byte 0x00). */
export const SCRIPTED_ALTERNATIVE = 3;
const ALTERNATIVE_LOGPROB = -0.05;
/** The rank reported for every actual token. */
const ACTUAL_RANK = 7;
const GPT2_EOS_TEXT = '<|endoftext|>';

/** The scripted token ids of a text (no special tokens). */
export const scriptedTokenIds = (text: string): number[] =>
  Array.from(Buffer.from(text, 'utf8'), (b) => b + 3);

/** The scripted log-probability of `id` after `prev`: deterministic, always in (−5, −0.1). */
export function scriptedLogprob(prev: number, id: number): number {
  return -(((id * 31 + prev * 17) % 97) / 20) - 0.1;
}

export interface ScriptedEngineOptions {
  /** Served model name. */
  readonly name: string;
  /** Llama style: BOS with `add_special_tokens`. Else GPT-2 style: no BOS, `<|endoftext|>` is EOS. @default true */
  readonly addsBos?: boolean;
  /** Replaces the log-prob of position `pos` of `tokens` when it returns a number. */
  readonly overrideLogprob?: (tokens: readonly number[], pos: number) => number | undefined;
}

function byteTokenizer(addsBos: boolean): Tokenizer {
  const special = (t: number) =>
    t === SCRIPTED_BOS ? '<s>' : t === SCRIPTED_EOS ? (addsBos ? '</s>' : GPT2_EOS_TEXT) : '<unk>';
  // A byte of a multi-byte character decodes alone to "" (vLLM's decoded_token for a partial character).
  const byteAlone = (t: number) => (t - 3 < 0x80 ? String.fromCharCode(t - 3) : '');
  return {
    id: 'bytes',
    vocabSize: 256 + 3,
    bos: addsBos ? SCRIPTED_BOS : null,
    eos: SCRIPTED_EOS,
    prefixToken: addsBos ? SCRIPTED_BOS : SCRIPTED_EOS,
    encode(text, addSpecialTokens) {
      if (text === GPT2_EOS_TEXT && !addsBos) return [SCRIPTED_EOS];
      const ids = scriptedTokenIds(text);
      return addSpecialTokens && addsBos ? [SCRIPTED_BOS, ...ids] : ids;
    },
    decode(ids) {
      let out = '';
      let run: number[] = [];
      const flush = () => {
        out += Buffer.from(run).toString('utf8');
        run = [];
      };
      for (const t of ids) {
        if (t >= 3) run.push(t - 3);
        else {
          flush();
          out += special(t);
        }
      }
      flush();
      return out;
    },
    decodedToken: (t) => (t < 3 ? special(t) : byteAlone(t)),
    tokenStr: (t) =>
      t < 3
        ? special(t)
        : t - 3 < 0x80
          ? byteAlone(t)
          : `<0x${(t - 3).toString(16).toUpperCase()}>`,
  };
}

export function scriptedEngine(options: ScriptedEngineOptions): ModelEngine {
  const tokenizer = byteTokenizer(options.addsBos ?? true);
  const override = options.overrideLogprob;
  return {
    name: options.name,
    root: `scripted/${options.name}`,
    tokenizer,
    scorePosition(tokens, pos, k): PositionScore {
      const token = tokens[pos]!;
      const ids = (tokens: ArrayLike<number>) =>
        Array.isArray(tokens) ? (tokens as readonly number[]) : Array.from(tokens);
      const logprob = override?.(ids(tokens), pos) ?? scriptedLogprob(tokens[pos - 1]!, token);
      const top: [number, number][] = k >= 1 ? [[SCRIPTED_ALTERNATIVE, ALTERNATIVE_LOGPROB]] : [];
      return { token, logprob, rank: ACTUAL_RANK, top };
    },
    // The scripted model always expects the text to end here.
    argmaxNext: () => SCRIPTED_EOS,
  };
}
