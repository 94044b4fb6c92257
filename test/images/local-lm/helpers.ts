/**
 * @module
 * Small HTTP helpers for the local-lm suites: real requests to 127.0.0.1, always with a deadline.
 */
export interface HttpResult {
  status: number;
  text: string;
  json: unknown;
}

export async function post(
  baseUrl: string,
  path: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<HttpResult> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return toResult(res);
}

export async function get(baseUrl: string, path: string, timeoutMs = 10_000): Promise<HttpResult> {
  return toResult(await fetch(`${baseUrl}${path}`, { signal: AbortSignal.timeout(timeoutMs) }));
}

async function toResult(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

export interface LogprobValue {
  logprob: number;
  rank: number | null;
  decoded_token: string | null;
}

export interface Choice {
  index: number;
  text: string;
  prompt_token_ids?: number[];
  token_ids?: number[];
  prompt_logprobs: (Record<string, LogprobValue> | null)[] | null;
}

export interface CompletionBody {
  id: string;
  object: string;
  model: string;
  choices: Choice[];
  usage: { prompt_tokens: number; total_tokens: number; completion_tokens: number };
}

/** Token-level perplexity of each choice from its prompt logprobs, looked up by id (never by key order). */
export function perplexities(body: CompletionBody): number[] {
  return body.choices.map((c) => {
    const ids = c.prompt_token_ids!;
    let nll = 0;
    for (let j = 1; j < ids.length; j++) nll -= c.prompt_logprobs![j]![String(ids[j])]!.logprob;
    return Math.exp(nll / (ids.length - 1));
  });
}

/** Deterministic word shuffle (a fixed-seed LCG; the same order every run). */
export function shuffleWords(sentence: string, seed = 7): string {
  const words = sentence.split(' ');
  let s = seed;
  for (let i = words.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [words[i], words[j]] = [words[j]!, words[i]!];
  }
  return words.join(' ');
}

/** The completion request the controller sends to score texts (prompt log-probs with top-1, no generation). */
export const scoringRequest = (
  model: string,
  prompt: unknown,
  extra: Record<string, unknown> = {},
) => ({
  model,
  prompt,
  max_tokens: 0,
  echo: true,
  prompt_logprobs: 1,
  return_token_ids: true,
  temperature: 0,
  ...extra,
});
