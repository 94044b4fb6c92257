/**
 * @module
 * Scores already computed, in an LRU bounded by bytes. A key names everything the score depends on: the model
 * and what identifies its revision (served name, context length, prefix token), the scoring parameters (token
 * details, prompt_logprobs) and the SHA-256 of the text, so the text itself is never kept. Only successes are
 * stored; a failure is retried by the next request. Cached values are shared: callers must not mutate them.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ModelTextScore } from './text-score.ts';

/** SHA-256 of a text (base64, 44 chars): the text's part of a cache key. */
export function textDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

export class ResultCache {
  readonly #lru: LRUCache<string, ModelTextScore> | undefined;

  /** @param maxBytes estimated bytes of keys and values; 0 disables the cache */
  constructor(maxBytes: number) {
    this.#lru =
      maxBytes > 0
        ? new LRUCache<string, ModelTextScore>({ maxSize: maxBytes, sizeCalculation: entryBytes })
        : undefined;
  }

  get enabled(): boolean {
    return this.#lru !== undefined;
  }

  /** Entries and their estimated bytes. */
  get stats(): { entries: number; bytes: number } {
    return { entries: this.#lru?.size ?? 0, bytes: this.#lru?.calculatedSize ?? 0 };
  }

  get(key: string): ModelTextScore | undefined {
    return this.#lru?.get(key);
  }

  set(key: string, score: ModelTextScore): void {
    this.#lru?.set(key, score);
  }

  /** Drops every entry whose key starts with `prefix` (a model whose backend turned out to be wrong). */
  deletePrefix(prefix: string): void {
    if (!this.#lru) return;
    for (const key of [...this.#lru.keys()]) if (key.startsWith(prefix)) this.#lru.delete(key);
  }
}

/** Rough heap bytes of one entry: object headers, the key's characters, and token details when present. */
function entryBytes(score: ModelTextScore, key: string): number {
  let bytes = 96 + key.length * 2;
  if (score.detail) {
    for (const d of score.detail) bytes += 56 + (d.text?.length ?? 0) * 2;
  }
  return bytes;
}
