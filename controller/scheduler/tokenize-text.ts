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
import { utf8Bytes } from '../scoring/text-stats.ts';
import { learnJoinRule, splitAtSpaces } from './chunked-tokenize.ts';
import type { JoinRule } from './chunked-tokenize.ts';

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
      if (err.code === 'BACKEND_REJECTED') {
        if (utf8Bytes(text) + 2 < info.maxModelLen) {
          throw new TextScoringError('text_rejected', err.message);
        }
        return tokenizeInPieces(pool, info, text, signal, err);
      }
      if (!err.retryable || failed) throw err;
      failed = backend;
    }
  }
}

/** Join rules learned per model, the first time one of its backends refuses a long text. */
const joinRules = new WeakMap<ModelInfo, Promise<JoinRule | null>>();

/** The backend refused to tokenize a text longer than its context: tokenize it in pieces that fit. */
async function tokenizeInPieces(
  pool: BackendPool,
  info: ModelInfo,
  text: string,
  signal: AbortSignal,
  refusal: BackendError,
): Promise<number[]> {
  const piece = (t: string) => tokenizeText(pool, info, t, signal);
  let rule = joinRules.get(info);
  if (!rule) {
    rule = learnJoinRule(piece);
    joinRules.set(info, rule);
    // A failed probe says nothing about the tokenizer: learn again next time.
    rule.catch(() => joinRules.delete(info));
  }
  const known = await rule;
  if (!known) throw new TextScoringError('text_rejected', refusal.message);
  // Each piece is shorter than the context in bytes, hence in tokens.
  const pieces = splitAtSpaces(text, info.maxModelLen - 3, known);
  const tokens: number[] = [];
  for (const ids of await Promise.all(pieces.map(piece))) tokens.push(...ids);
  return tokens;
}
