/**
 * @module
 * Behaviours some vLLM releases have and others do not, switched on per server so the controller's
 * work-arounds are tested against a server that really has them.
 */
export interface ReleaseQuirks {
  /**
   * `/tokenize` answers 400 (`param: "max_model_len"`) for a text with more tokens than the context, instead of
   * tokenizing it. @default false
   */
  readonly tokenizeRejectsOverlong?: boolean;
  /**
   * `prompt_logprobs: 0` yields an empty dict at every position instead of the actual token's entry.
   * @default false
   */
  readonly emptyPromptLogprobsAtZero?: boolean;
}
