/**
 * @module
 * What every view shares: the API client, what the server supports, and the settings.
 */
import type { PlaygroundApi } from './api.ts';
import type { ServerFeatures } from './server-features.ts';
import type { Settings } from './settings.ts';

export interface PlaygroundContext {
  readonly api: PlaygroundApi;
  readonly features: ServerFeatures;
  readonly settings: Settings;
}
