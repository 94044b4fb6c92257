/**
 * @module
 * A failure that belongs to one text (and one model), reported on that text without failing the others.
 */

export type TextErrorCode =
  /** The text is empty: there is nothing to score. */
  | 'empty_text'
  /** The tokenizer produced no token for the text. */
  | 'no_scorable_tokens'
  /** The backend returned a missing, non-finite or −∞ logprob for a token of this text. */
  | 'invalid_logprob'
  /** The backend rejected this text on its own (400), e.g. a token it cannot take. */
  | 'text_rejected'
  /**
   * The backend failed (5xx or a malformed answer) on this text alone while it scored others: an input that
   * trips the engine. The text is not retried for a short while and does not count against the backend's health.
   */
  | 'backend_rejected_text';

export class TextScoringError extends Error {
  override name = 'TextScoringError';
  readonly code: TextErrorCode;
  constructor(code: TextErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
