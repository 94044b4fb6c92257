/**
 * @module
 * What ties a calibration file to the models it was made with. Names alone are not enough: the same name can
 * serve other weights after a redeploy. Each model is identified by its served name, context length, prefix
 * token and the NLL per token of the fixed golden probe text, which changes with the weights, the tokenizer and
 * the revision. The probe moves by ~1e-2 nats between batch compositions on GPUs, so it is compared within a
 * tolerance.
 */

export interface ModelFingerprint {
  name: string;
  served_name: string;
  max_model_len: number;
  prefix_token_id: number;
  /** NLL per token of the golden probe text, nats. */
  golden_nll_per_token: number;
}

/** Wider than GPU jitter (~1e-2 nats), far narrower than the gap between two different models. */
export const FINGERPRINT_TOLERANCE_NATS = 0.05;

/**
 * Why `current` is not the model set of `calibrated`, or null when it is (same names, and each model the same
 * within the tolerance).
 */
export function modelSetMismatch(
  calibrated: readonly ModelFingerprint[],
  current: readonly ModelFingerprint[],
): string | null {
  const names = (set: readonly ModelFingerprint[]) =>
    set
      .map((m) => m.name)
      .sort()
      .join(', ');
  if (names(calibrated) !== names(current)) {
    return `the file was made for models [${names(calibrated)}], this deployment serves [${names(current)}]`;
  }
  for (const c of calibrated) {
    const m = current.find((x) => x.name === c.name) as ModelFingerprint;
    if (m.served_name !== c.served_name)
      return `model ${c.name}: served as ${m.served_name}, calibrated as ${c.served_name}`;
    if (m.max_model_len !== c.max_model_len || m.prefix_token_id !== c.prefix_token_id)
      return `model ${c.name}: context length or prefix token differ from the calibrated model`;
    const drift = Math.abs(m.golden_nll_per_token - c.golden_nll_per_token);
    if (!(drift <= FINGERPRINT_TOLERANCE_NATS))
      return `model ${c.name}: golden probe differs by ${drift.toFixed(3)} nats/token from the calibrated model (other weights or revision)`;
  }
  return null;
}
