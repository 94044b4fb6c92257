/**
 * @module
 * The controller configuration of a host: one backend per placed model on 127.0.0.1, keys from Secrets Manager.
 * The stack uploads it to S3 (`HostSettings.hostConfigS3Uri`); the boot script hands it to the controller.
 */
import type { ControllerConfigInput } from '../../controller/config.ts';
import { placeHostModels, type PlacedModel } from './placement.ts';
import type { HostSettings } from './types.ts';

/** What differs between the controller configs of an AWS host and of images/compose.yaml. */
export interface ControllerConfigOptions {
  readonly port: number;
  /** Key store as controller/config.ts spells it (`aws:ID`, `file:PATH`). */
  readonly keyStore: string;
  /** AWS region of an `aws:` key store. */
  readonly region?: string;
  /**
   * Readiness quorum and default `min_models` of a request.
   * @default - every model (the controller's own default)
   */
  readonly minModels?: number;
}

/** The readiness quorum when none is set: a majority of the models (2 of 4, 1 of 1). */
export function defaultMinModels(modelCount: number): number {
  return Math.max(1, Math.ceil(modelCount / 2));
}

/** Controller config for models placed on one host; the controller listens on all interfaces of the host. */
export function controllerConfigFor(
  placed: readonly PlacedModel[],
  opts: ControllerConfigOptions,
): ControllerConfigInput {
  return {
    host: '0.0.0.0',
    port: opts.port,
    models: placed.map((p) => ({
      name: p.model.servedName,
      servedName: p.model.servedName,
      // The legacy routes answer to the Hugging Face id, as the earlier service named its models.
      hfId: p.model.hfId,
      backends: [`http://127.0.0.1:${p.port}`],
    })),
    ...(opts.minModels !== undefined ? { minModels: opts.minModels } : {}),
    auth: { store: opts.keyStore, ...(opts.region ? { region: opts.region } : {}) },
    // The container names the file (EP_CALIBRATION_PATH, controller-container.ts); the controller makes it on
    // the first boot with every model ready, and loads a newer one the host puts in place.
    calibration: { makeIfMissing: true },
  };
}

/**
 * Renders the host config JSON value (serialize with `JSON.stringify`).
 * @throws Error when the models do not fit on the host, or the controller port collides with a backend port
 */
export function renderHostConfig(settings: HostSettings): ControllerConfigInput {
  const placed = placeHostModels(settings);
  return controllerConfigFor(placed, {
    port: settings.controllerPort,
    keyStore: `aws:${settings.apiKeySecretId}`,
    region: settings.region,
    // A host serves with a quorum of its models, so one failed or restarting model does not take it out of the
    // load balancer (answers without every model are flagged degraded).
    minModels: settings.minModels ?? defaultMinModels(settings.models.length),
  });
}
