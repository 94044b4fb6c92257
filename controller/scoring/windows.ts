/**
 * @module
 * Rolling windows for texts longer than a model's context, after lm-evaluation-harness `loglikelihood_rolling`:
 * every token is scored exactly once, each with as much left context as the window allows. The first window
 * starts with the prefix token (BOS, or EOS where there is no BOS), so the first text token is scored too.
 */

export interface ScoringWindow {
  /** Token ids sent as one prompt. */
  readonly prompt: number[];
  /** First prompt position whose logprob counts; earlier positions are context only. */
  readonly scoreFrom: number;
}

/**
 * Splits `tokens` into windows of at most `maxPromptTokens` prompt tokens.
 * @param tokens the text's tokens, without any special token
 * @param prefixTokenId BOS, or EOS for models without BOS
 * @param maxPromptTokens longest prompt the backend accepts (keep it ≤ max_model_len − 1)
 */
export function rollingWindows(
  tokens: readonly number[],
  prefixTokenId: number,
  maxPromptTokens: number,
): ScoringWindow[] {
  if (!Number.isInteger(maxPromptTokens) || maxPromptTokens < 2) {
    throw new RangeError(`maxPromptTokens must be an integer ≥ 2, got ${maxPromptTokens}`);
  }
  const n = tokens.length;
  if (n === 0) return [];
  // Each window predicts up to this many new tokens; the window before them supplies the context.
  const predictLen = maxPromptTokens - 1;
  const windows: ScoringWindow[] = [];
  const first = Math.min(predictLen, n);
  windows.push({ prompt: [prefixTokenId, ...tokens.slice(0, first)], scoreFrom: 1 });
  for (let start = first; start < n; start += predictLen) {
    const end = Math.min(start + predictLen, n); // predict tokens[start, end)
    const contextStart = Math.max(0, end - maxPromptTokens);
    windows.push({ prompt: tokens.slice(contextStart, end), scoreFrom: start - contextStart });
  }
  return windows;
}
