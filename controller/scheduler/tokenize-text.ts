/**
 * @module
 * `/tokenize` of a long text (the first step of scoring it in rolling windows): on a healthy backend of the
 * model, retried once on another replica, under the caller's cancellation.
 */
import type { Backend } from '../backends/backend.ts';
import type { BackendPool } from '../backends/backend-pool.ts';
import { BackendError } from '../backends/errors.ts';
import type { ModelInfo } from '../backends/model-info.ts';
import { TextScoringError } from '../scoring/text-error.ts';

/**
 * The text's token ids without special tokens.
 * @throws {TextScoringError} when the backend rejects the text itself
 * @throws {BackendError} when no backend could answer
 */
export async function tokenizeText(
  pool: BackendPool,
  info: ModelInfo,
  text: string,
  signal: AbortSignal,
): Promise<number[]> {
  let failed: Backend | undefined;
  for (;;) {
    const backend = pool.anyHealthy(failed);
    if (!backend) {
      throw new BackendError(
        'BACKEND_UNAVAILABLE',
        `no ${failed ? 'other ' : ''}healthy backend of model ${info.name}`,
        { backend: info.name },
      );
    }
    try {
      const result = await backend.client.tokenize(info.servedName, text, false, signal);
      pool.recordSuccess(backend);
      return result.tokens;
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      if (err.isBackendFault) pool.recordFailure(backend, err);
      if (err.code === 'BACKEND_REJECTED') throw new TextScoringError('text_rejected', err.message);
      if (!err.retryable || failed) throw err;
      failed = backend;
    }
  }
}
