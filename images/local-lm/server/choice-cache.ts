/**
 * @module
 * Rendered choices of recent text prompts, for servers whose job is to cost nothing (the controller-overhead
 * benchmark): a prompt answered once is answered again from memory, byte for byte, while the cache holds it.
 * Off by default: a stand-in for a GPU should do the work of every request.
 */
import { LRUCache } from 'lru-cache';
import type { CompletionPlan, PlannedPrompt } from './completion-request.ts';

/** One choice without its `index` (which depends on the request), and its token counts. */
export interface RenderedChoice {
  /** The choice object's members after `"index":N,`, closing brace included. */
  readonly rest: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

export class ChoiceCache {
  readonly #entries: LRUCache<string, RenderedChoice>;

  constructor(maxEntries: number) {
    this.#entries = new LRUCache({ max: maxEntries });
  }

  /** The key of a prompt under a plan, or null for prompts that are not cached (token-id prompts). */
  key(plan: CompletionPlan, prompt: PlannedPrompt): string | null {
    if (!prompt.fromText) return null;
    const shape = [
      plan.addSpecialTokens,
      plan.echo,
      plan.maxTokens,
      plan.promptLogprobs,
      plan.logprobs,
      plan.returnTokenIds,
    ];
    return `${shape.join(',')}\n${prompt.text}`;
  }

  get(key: string): RenderedChoice | undefined {
    return this.#entries.get(key);
  }

  set(key: string, choice: RenderedChoice): void {
    this.#entries.set(key, choice);
  }
}
