/**
 * @module
 * Runs a validated completion against the model and writes vLLM's response bytes: one choice per prompt in
 * order, `prompt_logprobs` as `[null, {actual, top-k…}, …]`, greedy generation, and usage counted as vLLM counts
 * it (echo with `max_tokens: 0` still generates one token internally: completion_tokens = 1).
 */
import { randomBytes } from 'node:crypto';
import type { ModelEngine } from '../engines/model-engine.ts';
import type { ChoiceCache, RenderedChoice } from './choice-cache.ts';
import type { CompletionPlan, PlannedPrompt } from './completion-request.ts';
import { promptLogprobsJson, pyFloat, rawObject, type LogprobEntry } from './json.ts';
import type { ReleaseQuirks } from './release-quirks.ts';

/** vLLM's stand-in for −∞ in prompt logprobs. */
export const NEG_INF_LOGPROB = -9999.0;

export interface ScoreOptions {
  /** Fault injection: report −9999 for the actual token at this position of every prompt (clamped). */
  negInfPosition?: number | null;
  quirks?: ReleaseQuirks;
  /** Answers repeated text prompts from memory (skipped while a negInf fault is in effect). */
  cache?: ChoiceCache;
}

/** vLLM writes −∞ (and anything below its sentinel) as the sentinel. */
const wire = (x: number) => (x <= NEG_INF_LOGPROB || !Number.isFinite(x) ? NEG_INF_LOGPROB : x);

function scorePrompt(model: ModelEngine, prompt: PlannedPrompt, k: number, opts: ScoreOptions) {
  const toks = prompt.tokens;
  const tok = model.tokenizer;
  const positions: (LogprobEntry[] | null)[] = [null];
  const badPos =
    opts.negInfPosition === undefined || opts.negInfPosition === null
      ? -1
      : Math.min(Math.max(1, opts.negInfPosition), toks.length - 1);
  for (let i = 1; i < toks.length; i++) {
    const s = model.scorePosition(toks, i, k);
    const actual = i === badPos ? NEG_INF_LOGPROB : wire(s.logprob);
    const entries: LogprobEntry[] = [
      { token: s.token, logprob: actual, rank: s.rank, decoded: tok.decodedToken(s.token) },
    ];
    s.top.forEach(([t, lp], r) => {
      entries.push({
        token: t,
        logprob: t === s.token ? actual : wire(lp),
        rank: r + 1,
        decoded: tok.decodedToken(t),
      });
    });
    positions.push(entries);
  }
  return positions;
}

/** Classic OpenAI echo `logprobs` object (keys of top_logprobs are decoded strings, so equal strings collide). */
function classicLogprobs(
  model: ModelEngine,
  tokens: readonly number[],
  positions: readonly (LogprobEntry[] | null)[],
): string {
  const strs = tokens.map((t) => model.tokenizer.decodedToken(t));
  const offsets: number[] = [];
  let off = 0;
  for (const s of strs) {
    offsets.push(off);
    off += s.length;
  }
  const tokenLogprobs = positions.map((p) => (p ? pyFloat(p[0]!.logprob) : 'null'));
  const tops = positions.map((p) => {
    if (!p) return 'null';
    const seen = new Set<string>();
    const parts: string[] = [];
    for (const e of p) {
      const key = e.decoded ?? '';
      if (seen.has(key)) continue;
      seen.add(key);
      parts.push(`${JSON.stringify(key)}:${pyFloat(e.logprob)}`);
    }
    return `{${parts.join(',')}}`;
  });
  return rawObject([
    ['text_offset', JSON.stringify(offsets)],
    ['token_logprobs', `[${tokenLogprobs.join(',')}]`],
    ['tokens', JSON.stringify(strs)],
    ['top_logprobs', `[${tops.join(',')}]`],
  ]);
}

function renderChoice(
  model: ModelEngine,
  plan: CompletionPlan,
  index: number,
  opts: ScoreOptions,
): RenderedChoice {
  const prompt = plan.prompts[index]!;
  const k = Math.max(plan.promptLogprobs ?? 0, plan.logprobs ?? 0);
  const wantScores = plan.promptLogprobs !== null || (plan.echo && plan.logprobs !== null);
  const positions = wantScores ? scorePrompt(model, prompt, k, opts) : null;

  // Greedy decoding; echo with max_tokens 0 still generates one token inside the engine.
  const toGenerate = plan.maxTokens === 0 ? 1 : plan.maxTokens;
  const seq = [...prompt.tokens];
  const generated: number[] = [];
  for (let i = 0; i < toGenerate; i++) {
    const next = model.argmaxNext(seq);
    generated.push(next);
    seq.push(next);
  }
  // Decode in context so a leading "▁" keeps its space (vLLM detokenizes incrementally after the prompt).
  const promptDecoded = model.tokenizer.decode(prompt.tokens);
  const genText = model.tokenizer.decode(seq).slice(promptDecoded.length);
  const echoOnly = plan.echo && plan.maxTokens === 0;
  const text = plan.echo ? (echoOnly ? prompt.text : prompt.text + genText) : genText;

  let logprobs = 'null';
  if (plan.logprobs !== null) {
    if (plan.echo && echoOnly && positions)
      logprobs = classicLogprobs(model, prompt.tokens, positions);
    else {
      const genPositions = generated.map((_, j) => {
        const s = model.scorePosition(seq, prompt.tokens.length + j, plan.logprobs!);
        return [
          {
            token: s.token,
            logprob: wire(s.logprob),
            rank: s.rank,
            decoded: model.tokenizer.decodedToken(s.token),
          },
          ...s.top.map(([t, lp], r) => ({
            token: t,
            logprob: wire(lp),
            rank: r + 1,
            decoded: model.tokenizer.decodedToken(t),
          })),
        ];
      });
      logprobs =
        plan.echo && positions
          ? classicLogprobs(model, seq, [...positions, ...genPositions])
          : classicLogprobs(model, generated, genPositions);
    }
  }

  // A release with the empty-dict quirk drops every entry when no alternatives were asked for.
  const emptyDicts = opts.quirks?.emptyPromptLogprobsAtZero && plan.promptLogprobs === 0;
  const visible = (p: (LogprobEntry[] | null)[]) => (emptyDicts ? p.map((e) => e && []) : p);

  const fields: [string, string][] = [
    ['text', JSON.stringify(text)],
    ['logprobs', logprobs],
    ['finish_reason', '"length"'],
    ['stop_reason', 'null'],
  ];
  // Field order follows vLLM's CompletionResponseChoice: token_ids, prompt_logprobs, prompt_token_ids.
  if (plan.returnTokenIds) fields.push(['token_ids', JSON.stringify(generated)]);
  fields.push([
    'prompt_logprobs',
    plan.promptLogprobs !== null && positions ? promptLogprobsJson(visible(positions)) : 'null',
  ]);
  if (plan.returnTokenIds) fields.push(['prompt_token_ids', JSON.stringify(prompt.tokens)]);
  return {
    rest: rawObject(fields).slice(1),
    promptTokens: prompt.tokens.length,
    completionTokens: generated.length,
  };
}

/** Scoring work between two yields to the event loop (about a millisecond of CPU). */
const PROMPTS_PER_SLICE = 8;

/**
 * Runs every prompt and returns the response body. Yields to the event loop every few prompts, so a large
 * request neither blocks health probes nor delays the timing model's step timers (its CPU time overlaps the
 * modelled GPU time instead of adding to it). Stops early when `signal` aborts.
 */
export async function completionResponse(
  model: ModelEngine,
  plan: CompletionPlan,
  opts: ScoreOptions = {},
  signal?: AbortSignal,
): Promise<string> {
  const choices: RenderedChoice[] = [];
  const cache =
    opts.negInfPosition === undefined || opts.negInfPosition === null ? opts.cache : undefined;
  for (let i = 0; i < plan.prompts.length; i++) {
    if (i > 0 && i % PROMPTS_PER_SLICE === 0) {
      await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted();
    }
    const key = cache?.key(plan, plan.prompts[i]!) ?? null;
    let rendered = key === null ? undefined : cache!.get(key);
    if (!rendered) {
      rendered = renderChoice(model, plan, i, opts);
      if (key !== null) cache!.set(key, rendered);
    }
    choices.push(rendered);
  }
  const promptTokens = choices.reduce((a, c) => a + c.promptTokens, 0);
  const completionTokens = choices.reduce((a, c) => a + c.completionTokens, 0);
  return rawObject([
    ['id', JSON.stringify(`cmpl-${randomBytes(16).toString('hex')}`)],
    ['object', '"text_completion"'],
    ['created', String(Math.floor(Date.now() / 1000))],
    ['model', JSON.stringify(model.name)],
    ['choices', `[${choices.map((c, i) => `{"index":${i},${c.rest}`).join(',')}]`],
    // Present (null) in newer vLLM responses; kept so parsers meet them.
    ['service_tier', 'null'],
    ['system_fingerprint', 'null'],
    [
      'usage',
      JSON.stringify({
        prompt_tokens: promptTokens,
        total_tokens: promptTokens + completionTokens,
        completion_tokens: completionTokens,
        prompt_tokens_details: null,
      }),
    ],
  ]);
}
