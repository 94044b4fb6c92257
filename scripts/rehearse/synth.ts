/**
 * @module
 * Synthesizes the real stack into a temporary folder the way `cdktf synth` does (infra/main.ts), with the
 * settings of cdktf.json plus a variant's changes, and optionally a deliberate fault for the rehearsal's own tests.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'cdktf';
import { resolveControllerBundle } from '../../infra/bundle.ts';
import { parseSettings, type Settings } from '../../infra/config.ts';
import { readRawContext } from '../../infra/context.ts';
import { renderHostConfig } from '../../infra/host/host-config.ts';
import { PerplexityStack } from '../../infra/stack.ts';
import type { StackJson } from './stack-json.ts';

/** Named setting changes the rehearsal can apply (`--variant`). */
export const VARIANTS = {
  default: {},
  domain: { domain: { name: 'api.rehearsal.example', hostedZoneName: 'rehearsal.example' } },
  hosts2: { minHosts: 2, maxHosts: 2 },
} as const satisfies Record<string, Record<string, unknown>>;
export type VariantName = keyof typeof VARIANTS;

/** Faults injected at synth time: the stack's own output is wrong in a way a real deploy would suffer. */
export type SynthFault = 'bundle-sha' | 'host-port';

export interface SynthResult {
  readonly settings: Settings;
  /** Folder holding `cdk.tf.json` and its assets. */
  readonly stackDir: string;
  readonly stack: StackJson;
  /** The bundle file uploaded, and its hex sha256. */
  readonly bundlePath: string;
  readonly bundleSha256: string;
}

export interface SynthOptions {
  readonly outdir: string;
  readonly variant: VariantName;
  /** Deployment name (the stack id). */
  readonly name?: string;
  readonly fault?: SynthFault;
}

/** Synthesizes the stack. */
export async function synthStack(o: SynthOptions): Promise<SynthResult> {
  const raw = { ...readRawContext(), ...VARIANTS[o.variant], ...(o.name ? { name: o.name } : {}) };
  const settings = parseSettings(raw);
  const bundle = await resolveControllerBundle(settings);
  const bundleSha256 = createHash('sha256').update(readFileSync(bundle.path)).digest('hex');
  const app = new App({ outdir: o.outdir });
  new PerplexityStack(app, {
    settings,
    controllerBundlePath: bundle.path,
    // A host checks the bundle it downloads against this value.
    controllerBundleSha256:
      o.fault === 'bundle-sha'
        ? createHash('sha256').update('not the bundle').digest('hex')
        : bundleSha256,
    ...(o.fault === 'host-port'
      ? {
          // The last model's backend moves to a port no vLLM server listens on.
          renderHostConfig: (s) => {
            const config = renderHostConfig(s);
            const last = config.models?.at(-1);
            if (last?.backends)
              last.backends = last.backends.map((b) =>
                b.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 100}`),
              );
            return config;
          },
        }
      : {}),
  });
  app.synth();
  const stackDir = join(o.outdir, 'stacks', settings.name);
  const stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as StackJson;
  return { settings, stackDir, stack, bundlePath: bundle.path, bundleSha256 };
}
