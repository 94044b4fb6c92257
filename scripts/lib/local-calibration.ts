/**
 * @module
 * The local stack's calibration: the controller reads `calibrationPath`; when that file is missing or was made
 * for other models (retrained local models), a new one is made in the background by scoring the reference
 * corpus through the running controller, then put in force. Scoring works meanwhile; percentiles, spans and
 * flags start once the file is in force.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RunningController } from '../../controller/main.ts';
import { calibrate } from './calibrate-run.ts';

export interface LocalCalibrationOptions {
  readonly controller: RunningController;
  /** Where the controller reads its calibration (`calibration.path`). */
  readonly calibrationPath: string;
  readonly apiKey?: string;
  /** Limit the reference texts (tests). @default every fit text */
  readonly maxTexts?: number;
  readonly log?: (line: string) => void;
}

/** Resolves when a calibration is in force: loaded from the file or freshly made. */
export async function ensureLocalCalibration(
  options: LocalCalibrationOptions,
): Promise<'loaded' | 'made'> {
  const { controller, calibrationPath } = options;
  const source = controller.calibration;
  // Discovery may still be under way: the file can only be checked against known models.
  for (let i = 0; i < 600 && source.status.state === 'pending'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    await source.refresh();
  }
  if (source.current && source.status.state === 'loaded') return 'loaded';
  options.log?.(
    `calibration: ${source.status.message ?? 'none'}; making one from the reference corpus…`,
  );
  const { file } = await calibrate(
    { url: controller.url, ...(options.apiKey ? { apiKey: options.apiKey } : {}) },
    options.maxTexts !== undefined ? { maxTexts: options.maxTexts } : {},
  );
  await mkdir(dirname(calibrationPath), { recursive: true });
  await writeFile(`${calibrationPath}.partial`, JSON.stringify(file));
  await rename(`${calibrationPath}.partial`, calibrationPath);
  source.use(file);
  return 'made';
}
