/**
 * @module
 * Everything the page draws for one scored text: per-character surprisal, the window to outline and the flagged
 * spans. The server's `max_window` and `spans` are used when it sends them; otherwise the hottest window is found
 * in the browser from the per-character figures.
 */
import { modelFigures } from './api-types.ts';
import type { TextResult, TextSpan } from './api-types.ts';
import { hottestWindow } from './hottest-window.ts';
import { characterSurprisal } from './surprisal.ts';
import type { ModelTokens, TextSurprisal } from './surprisal.ts';

/** Characters in the browser's window when the user gives none (the server's default window). */
export const DEFAULT_WINDOW_CHARS = 64;

export interface OutlinedWindow {
  readonly start: number;
  readonly end: number;
  /** Who found it: the server (calibrated figures) or this page (from the tokens). */
  readonly source: 'server' | 'browser';
  readonly bitsPerByte?: number;
  readonly bitsPerChar?: number;
  readonly percentile?: number;
}

export interface TextAnalysis {
  readonly text: string;
  readonly result: TextResult;
  /** Models with figures for this text, in the order given. */
  readonly models: readonly string[];
  readonly surprisal: TextSurprisal;
  readonly window?: OutlinedWindow;
  readonly spans: readonly TextSpan[];
}

/**
 * @param weights ensemble weight per model (the server's), 1 when missing
 * @param windowChars window for the browser's own search
 */
export function analyseText(
  text: string,
  result: TextResult,
  models: readonly string[],
  weights: ReadonlyMap<string, number>,
  windowChars = DEFAULT_WINDOW_CHARS,
): TextAnalysis {
  const scored: ModelTokens[] = [];
  for (const model of models) {
    const figures = modelFigures(result, model);
    if (figures?.token_details)
      scored.push({ model, weight: weights.get(model) ?? 1, tokens: figures.token_details });
  }
  const surprisal = characterSurprisal(text, scored);
  const server = result.ensemble?.max_window;
  let window: OutlinedWindow | undefined;
  if (server && validSpan(server, text)) {
    window = {
      start: server.start,
      end: server.end,
      source: 'server',
      bitsPerByte: server.bits_per_byte,
      ...(server.percentile !== undefined ? { percentile: server.percentile } : {}),
    };
  } else if (scored.length > 0) {
    const found = hottestWindow(surprisal.perChar, windowChars);
    if (found)
      window = {
        start: found.start,
        end: found.end,
        source: 'browser',
        bitsPerChar: found.bitsPerChar,
      };
  }
  const spans = (result.ensemble?.spans ?? []).filter((s) => validSpan(s, text));
  return {
    text,
    result,
    models: scored.map((m) => m.model),
    surprisal,
    ...(window ? { window } : {}),
    spans,
  };
}

function validSpan(span: { start: number; end: number }, text: string): boolean {
  return (
    Number.isInteger(span.start) &&
    Number.isInteger(span.end) &&
    span.start >= 0 &&
    span.start < span.end &&
    span.end <= text.length
  );
}
