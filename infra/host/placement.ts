/**
 * @module
 * GPU placement: which GPUs, which loopback port and which container each model gets on one host.
 * Models are placed in the order given, each on a contiguous run of GPU indices (tensor parallel peers
 * sit next to each other), so the same settings always give the same layout.
 */
import type { HostSettings, ModelDeployment } from './types.ts';

/** @default 8001: the first backend port; the controller's default 8000 stays free. */
export const DEFAULT_BACKEND_BASE_PORT = 8001;

/** One model with its place on the host. */
export interface PlacedModel {
  readonly model: ModelDeployment;
  /** GPU indices as `nvidia-smi` numbers them; length = `model.gpus` (= `--tensor-parallel-size`). */
  readonly gpuIndices: readonly number[];
  /** Host port on 127.0.0.1 where this model's vLLM server answers. */
  readonly port: number;
  /** Docker container name, also the stem of the systemd unit and the compose service. */
  readonly containerName: string;
}

/** A model name as a docker container / systemd unit name fragment: lower case, `[a-z0-9_.-]`. */
export function nameSlug(servedName: string): string {
  const slug = servedName
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  if (!slug)
    throw new Error(`model name "${servedName}" has no letters or digits to name a container`);
  return slug;
}

/**
 * Places each model on its own GPUs.
 * @param models models in the order they should be placed
 * @param gpuCount GPUs on the instance (g6.12xlarge: 4)
 * @param basePort host port of the first backend
 * @throws Error when the models need more GPUs than the host has (naming each model and its GPUs), or when a
 *   model's settings cannot be placed (bad GPU count, duplicate names)
 * @example placeModels([{ hfId: 'microsoft/phi-2', servedName: 'phi-2', gpus: 1, maxModelLen: 2048 }], 4)
 *   // → [{ gpuIndices: [0], port: 8001, containerName: 'ep-vllm-phi-2', model }]
 */
export function placeModels(
  models: readonly ModelDeployment[],
  gpuCount: number,
  basePort: number = DEFAULT_BACKEND_BASE_PORT,
): PlacedModel[] {
  if (models.length === 0) throw new Error('no models to place: a host needs at least one model');
  if (!Number.isInteger(gpuCount) || gpuCount < 1) {
    throw new Error(`gpuCount must be a positive integer, got ${gpuCount}`);
  }
  for (const m of models) {
    if (!Number.isInteger(m.gpus) || m.gpus < 1) {
      throw new Error(`model ${m.servedName}: gpus must be a positive integer, got ${m.gpus}`);
    }
  }
  const seen = new Map<string, string>();
  for (const m of models) {
    const slug = nameSlug(m.servedName);
    const other = seen.get(slug);
    if (other !== undefined) {
      throw new Error(
        `models ${other} and ${m.servedName} would share the container name ep-vllm-${slug}`,
      );
    }
    seen.set(slug, m.servedName);
  }

  const needed = models.reduce((sum, m) => sum + m.gpus, 0);
  if (needed > gpuCount) {
    const list = models.map((m) => `${m.servedName} (${m.gpus} GPU${m.gpus === 1 ? '' : 's'})`);
    throw new Error(
      `models do not fit on the host: ${list.join(', ')} need ${needed} GPUs, ` +
        `but the host has ${gpuCount}; remove a model, lower its gpus, or use a larger instance type`,
    );
  }

  let nextGpu = 0;
  return models.map((model, i) => {
    const gpuIndices = Array.from({ length: model.gpus }, (_, k) => nextGpu + k);
    nextGpu += model.gpus;
    return {
      model,
      gpuIndices,
      port: basePort + i,
      containerName: `ep-vllm-${nameSlug(model.servedName)}`,
    };
  });
}

/**
 * Places a host's models (placeModels) and checks the controller port is not one of their ports.
 * @throws Error like placeModels, or naming the model whose port the controller would take
 */
export function placeHostModels(settings: HostSettings): PlacedModel[] {
  const placed = placeModels(settings.models, settings.gpuCount, settings.backendBasePort);
  const clash = placed.find((p) => p.port === settings.controllerPort);
  if (clash) {
    throw new Error(
      `controllerPort ${settings.controllerPort} is the backend port of model ${clash.model.servedName}; ` +
        'choose another controllerPort or backendBasePort',
    );
  }
  return placed;
}
