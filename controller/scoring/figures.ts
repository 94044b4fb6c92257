/**
 * @module
 * The numbers of the API (README, "What the numbers mean"): per-model figures from a text's total NLL, and the
 * ensemble over the models that answered. Pure functions; nothing here can produce NaN or Infinity from valid
 * inputs.
 */

/** What one model says about one text. */
export interface ModelFigures {
  /** exp(nll / tokens). */
  perplexity: number;
  /** −Σ log p over the scored tokens (natural log). */
  nll: number;
  /** Scored tokens (every text token; the prefix token is context only). */
  tokens: number;
  /** nll / (bytes · ln 2): comparable across tokenizers. */
  bits_per_byte: number;
  /** exp(nll / words); absent for a text with no word (e.g. only punctuation-free whitespace). */
  word_perplexity?: number;
  /** Windows the text was scored in (1 unless longer than the context). */
  windows: number;
}

export interface TextCounts {
  bytes: number;
  words: number;
}

export function modelFigures(
  nll: number,
  tokens: number,
  counts: TextCounts,
  windows: number,
): ModelFigures {
  const figures: ModelFigures = {
    perplexity: Math.exp(nll / tokens),
    nll,
    tokens,
    bits_per_byte: nll / (counts.bytes * Math.LN2),
    windows,
  };
  // A long text with few words can overflow exp(); then the field is left out rather than sent as null.
  const wordPerplexity = counts.words > 0 ? Math.exp(nll / counts.words) : Infinity;
  if (Number.isFinite(wordPerplexity)) figures.word_perplexity = wordPerplexity;
  return figures;
}

/** The ensemble of the models that answered for one text. */
export interface EnsembleFigures {
  /** Weighted geometric mean of model perplexities (= exp of the weighted mean log-perplexity). */
  perplexity: number;
  /** Weighted mean of model bits-per-byte. */
  bits_per_byte: number;
  /** 2^bits_per_byte. */
  byte_perplexity: number;
  /** Weighted standard deviation of the models' log-perplexities: how much they disagree. */
  spread: number;
}

export interface WeightedModel {
  figures: ModelFigures;
  weight: number;
}

/** Requires at least one model with a positive weight. */
export function ensembleFigures(models: readonly WeightedModel[]): EnsembleFigures {
  let weightSum = 0;
  let logPplSum = 0;
  let bpbSum = 0;
  for (const { figures, weight } of models) {
    weightSum += weight;
    logPplSum += weight * (figures.nll / figures.tokens);
    bpbSum += weight * figures.bits_per_byte;
  }
  if (!(weightSum > 0))
    throw new RangeError('the ensemble needs at least one model with a positive weight');
  const meanLogPpl = logPplSum / weightSum;
  let variance = 0;
  for (const { figures, weight } of models) {
    const d = figures.nll / figures.tokens - meanLogPpl;
    variance += weight * d * d;
  }
  const bitsPerByte = bpbSum / weightSum;
  return {
    perplexity: Math.exp(meanLogPpl),
    bits_per_byte: bitsPerByte,
    byte_perplexity: 2 ** bitsPerByte,
    spread: Math.sqrt(variance / weightSum),
  };
}
