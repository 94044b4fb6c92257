/**
 * @module
 * Host bootstrap: what a GPU host runs once it boots. The stack calls `renderUserData` and `renderHostConfig`.
 */
export type { HostSettings, ModelDeployment } from './types.ts';
export { hostFiles, renderUserData, USER_DATA_LIMIT_BYTES, type HostFile } from './user-data.ts';
export { renderHostConfig } from './host-config.ts';
export { placeModels, type PlacedModel } from './placement.ts';
export { DEFAULT_VLLM_IMAGE, DEFAULT_VLLM_TUNING, vllmServeArgs } from './vllm.ts';
export { DEFAULT_NODE_IMAGE } from './controller-container.ts';
export { REFERENCE_MODELS } from './reference-models.ts';
export { HOST_PATHS, BUNDLE_FILE } from './paths.ts';
export { composeProject, renderCompose, composeControllerConfig } from './compose.ts';
