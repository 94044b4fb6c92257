/**
 * @module
 * What one scoring request did, counted as its texts complete: texts, tokens per model, degraded. The routes
 * fill it in; the request log and the metrics read it. A streamed request finishes after its handler returns,
 * so the tally also says when it is really over (`finished`), and listeners see a stream's tokens as each text
 * lands.
 */

export type TextListener = (tokensByModel: ReadonlyMap<string, number>) => void;

/** A text's outcome per model, as in its result: the models that scored it say how many `tokens`. */
export type ModelOutcomes = Readonly<Record<string, { readonly tokens: number } | object>>;

export class ScoringTally {
  /** Texts with a result line (figures or their own error). */
  texts = 0;
  /** Tokens scored over all models. */
  tokens = 0;
  /** Whether some text's ensemble missed a requested model. */
  degraded = false;
  /** Whether the response is an NDJSON stream. */
  stream = false;
  /** Whether a route scored anything (or started a stream) on this request. */
  active = false;
  /** Why a stream ended early (its final error line), if it did. */
  error: string | undefined;
  /** The client went away before the response was complete: logged and counted as 499, not as an error. */
  clientClosed = false;
  readonly tokensByModel = new Map<string, number>();
  readonly #listeners: TextListener[] = [];
  #finished: Promise<void> = Promise.resolve();

  /** Calls `listener` with each completed text's tokens per model, once the response streams. */
  onStreamText(listener: TextListener): void {
    this.#listeners.push(listener);
  }

  /**
   * Counts one completed text. It runs for every text of every request, so it allocates nothing unless a
   * stream's listeners need a per-model map.
   */
  addText(models: ModelOutcomes, degraded: boolean): void {
    this.active = true;
    this.texts++;
    this.degraded ||= degraded;
    const forListeners =
      this.stream && this.#listeners.length > 0 ? new Map<string, number>() : undefined;
    for (const model in models) {
      const outcome = models[model] as object;
      if (!('tokens' in outcome)) continue;
      const n = outcome.tokens as number;
      this.tokens += n;
      this.tokensByModel.set(model, (this.tokensByModel.get(model) ?? 0) + n);
      forListeners?.set(model, n);
    }
    if (forListeners) for (const l of this.#listeners) l(forListeners);
  }

  /** Marks the request as streamed; returns the function to call when its last line is written. */
  startStream(): (error?: string) => void {
    this.stream = true;
    this.active = true;
    let end!: () => void;
    this.#finished = new Promise<void>((resolve) => (end = resolve));
    return (error) => {
      this.error ??= error;
      end();
    };
  }

  /** Resolves when the response is complete: at once for a plain response, at the last line of a stream. */
  get finished(): Promise<void> {
    return this.#finished;
  }
}
