/**
 * @module
 * The local stack's calibration. The controller makes its own (`calibration.makeIfMissing`) when the file is
 * missing or was made for other models (retrained local models), by scoring the reference corpus through its own
 * scheduler, and puts it in force. This only watches for that, so `npm start` can say when percentiles, spans
 * and flags start to work. Scoring works meanwhile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningController } from '../../controller/main.ts';

/**
 * Resolves once a calibration is in force: `loaded` from the file, or `made` by the controller.
 * @param onMaking called once, when the controller starts making one
 * @rejects when the controller does not make its own (`calibration.makeIfMissing` off) or has given up
 */
export async function calibrationInForce(
  controller: RunningController,
  onMaking?: (textsTotal: number | undefined) => void,
  pollMs = 500,
): Promise<'loaded' | 'made'> {
  const maker = controller.selfCalibration;
  if (!maker)
    throw new Error('the controller does not make its calibration (calibration.makeIfMissing)');
  let told = false;
  for (;;) {
    if (controller.calibration.current && controller.calibration.status.state === 'loaded')
      return maker.status.attempts > 0 ? 'made' : 'loaded';
    const { state, textsTotal, lastError } = maker.status;
    if (state === 'gave_up')
      throw new Error(lastError ?? 'the controller gave up making a calibration');
    if (state === 'making' && !told) {
      told = true;
      onMaking?.(textsTotal);
    }
    await sleep(pollMs);
  }
}
