/**
 * @module
 * The controller container: the esbuild bundle run by the official Node image, so hosts need no image build.
 * It shares the host network to reach the vLLM backends on 127.0.0.1 and, as a host process, the instance role
 * through IMDSv2 with hop limit 1 (bridge containers such as vLLM cannot).
 */
import { CONTROLLER_NODE_FLAGS } from '../../controller/node-flags.ts';
import type { ContainerSpec } from './container-spec.ts';
import { BUNDLE_FILE, HOST_PATHS } from './paths.ts';

/** Node image used when settings name none: the official Node LTS (22), Debian slim. */
export const DEFAULT_NODE_IMAGE = 'node:22-slim';
export const CONTROLLER_CONTAINER = 'ep-controller';
/** Config path inside the controller container (`EP_CONFIG`). */
export const CONTAINER_CONFIG_PATH = '/etc/ep/config.json';
/** Directory of the calibration file inside the controller container (the host's is mounted there). */
export const CONTAINER_CALIBRATION_DIR = '/var/lib/ep/calibration';
/** The calibration file the controller reads, and makes when it is missing (`EP_CALIBRATION_PATH`). */
export const CALIBRATION_FILE = 'calibration.json';

export function controllerContainer(nodeImage: string): ContainerSpec {
  return {
    name: CONTROLLER_CONTAINER,
    image: nodeImage,
    command: ['node', ...CONTROLLER_NODE_FLAGS, `/app/${BUNDLE_FILE}`],
    gpus: [],
    ports: [],
    hostNetwork: true,
    hostIpc: false,
    init: true,
    // The `node` user (uid 1000) of the official images: the controller never needs root.
    user: 'node',
    env: {
      EP_CONFIG: CONTAINER_CONFIG_PATH,
      EP_CALIBRATION_PATH: `${CONTAINER_CALIBRATION_DIR}/${CALIBRATION_FILE}`,
      NODE_ENV: 'production',
    },
    secretEnv: [],
    volumes: [
      { hostPath: HOST_PATHS.bundleDir, composeSource: '../dist', target: '/app', readOnly: true },
      {
        hostPath: HOST_PATHS.hostConfig,
        composeSource: './compose.config.json',
        target: CONTAINER_CONFIG_PATH,
        readOnly: true,
      },
      // Written by the controller (its own calibration) and by the host's calibration sync.
      {
        hostPath: HOST_PATHS.calibrationDir,
        composeSource: '../.cache/ep-calibration',
        target: CONTAINER_CALIBRATION_DIR,
        readOnly: false,
      },
      // Compose only: the local key file (the AWS host reads keys from Secrets Manager).
      { composeSource: '../.cache/ep-keys', target: '/var/lib/ep/keys', readOnly: true },
    ],
    oneShot: false,
    after: [],
  };
}
