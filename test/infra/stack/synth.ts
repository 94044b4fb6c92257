/**
 * @module
 * Test helper: synthesizes the stack for given settings into Terraform JSON, with a throwaway controller bundle,
 * so infra tests need no bundle build, no terraform and no AWS.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { parseSettings, type SettingsInput } from '../../../infra/config.ts';
import { PerplexityStack } from '../../../infra/stack.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

/** A resource or data source block of the synthesized JSON: type → logical id → config. */
export type Blocks = Record<string, Record<string, Record<string, unknown>>>;

export interface Synthesized {
  /** The JSON string as `Testing.synth` returns it (for `Testing.toHaveResourceWithProperties`). */
  readonly json: string;
  readonly resource: Blocks;
  readonly data: Blocks;
  readonly output: Record<string, { value: unknown }>;
  readonly locals: Record<string, unknown>;
  readonly terraform: Record<string, unknown>;
  readonly provider: Record<string, unknown[]>;
  readonly stack: PerplexityStack;
}

let scratch: string | undefined;
/** One folder per test file for the bundle stand-in and the apps' output, removed after the file. */
const scratchDir = () => (scratch ??= tempDir('ep-infra-'));

/** A small stand-in for `dist/controller.mjs`. */
export function fakeBundle(): string {
  const bundlePath = join(scratchDir(), 'controller.mjs');
  if (!existsSync(bundlePath)) writeFileSync(bundlePath, 'console.log("controller");\n');
  return bundlePath;
}

/**
 * Synthesizes the stack for `input` (cdktf.json context values) and parses the result. `mutate` may add to the
 * stack before synthesis (to prove a check catches a regression).
 */
export function synth(
  input: SettingsInput = {},
  mutate?: (stack: PerplexityStack) => void,
): Synthesized {
  // Testing.app() would otherwise make a cdktf.outdir.* folder in the system temp dir per call and keep it.
  const app = Testing.app({ outdir: join(scratchDir(), 'cdktf.out') });
  const stack = new PerplexityStack(app, {
    settings: parseSettings(input),
    controllerBundlePath: fakeBundle(),
  });
  mutate?.(stack);
  const json = Testing.synth(stack);
  const parsed = JSON.parse(json) as Partial<Omit<Synthesized, 'json' | 'stack'>>;
  return {
    json,
    stack,
    resource: parsed.resource ?? {},
    data: parsed.data ?? {},
    output: parsed.output ?? {},
    locals: parsed.locals ?? {},
    terraform: parsed.terraform ?? {},
    provider: parsed.provider ?? {},
  };
}

/** All blocks of one type, as a list. */
export function all(blocks: Blocks, type: string): Record<string, unknown>[] {
  return Object.values(blocks[type] ?? {});
}

/** The single block of a type (fails the test when there are none or several). */
export function only(blocks: Blocks, type: string): Record<string, unknown> {
  const list = all(blocks, type);
  if (list.length !== 1) throw new Error(`expected one ${type}, found ${list.length}`);
  return list[0]!;
}
