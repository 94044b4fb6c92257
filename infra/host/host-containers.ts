/**
 * @module
 * The containers of one host, in start order: the model download, one vLLM server per model, the controller.
 * Both the systemd units (user-data.ts) and images/compose.yaml (compose.ts) come from this list.
 */
import type { ContainerSpec } from './container-spec.ts';
import { controllerContainer } from './controller-container.ts';
import type { PlacedModel } from './placement.ts';
import { downloadContainer, vllmContainer } from './vllm.ts';

export interface HostContainers {
  readonly download: ContainerSpec;
  readonly servers: readonly ContainerSpec[];
  readonly controller: ContainerSpec;
}

export function hostContainers(
  placed: readonly PlacedModel[],
  images: { readonly vllmImage: string; readonly nodeImage: string },
): HostContainers {
  return {
    download: downloadContainer(placed, images.vllmImage),
    servers: placed.map((p) => vllmContainer(p, images.vllmImage)),
    controller: controllerContainer(images.nodeImage),
  };
}
