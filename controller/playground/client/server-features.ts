/**
 * @module
 * What this server's scoring route accepts, read from its OpenAPI document, so the page offers only the controls
 * the server understands (the detection fields arrived in a later release).
 */

/** The calibration in force (`GET /v1/calibration`): percentiles, spans and flags need one. */
export interface CalibrationInfo {
  /** Window lengths with window percentiles; spans need one of them. */
  readonly windowChars: readonly number[];
  /** The server's window length when a request names none. */
  readonly defaultWindowChars?: number;
}

export interface ServerFeatures {
  /** Accepts `window_chars` (and answers with `max_window`). */
  readonly windowChars: boolean;
  /** Accepts `flag_fpr` (and answers with `flagged`). */
  readonly flagFpr: boolean;
  /** Accepts `details: "spans"` (and answers with `spans`). */
  readonly spans: boolean;
  /** Largest number of texts in one streamed request, when the document says. */
  readonly maxStreamTexts?: number;
  /** Absent when the server has no calibration in force (or predates calibrations). */
  readonly calibration?: CalibrationInfo;
}

export const NO_FEATURES: ServerFeatures = { windowChars: false, flagFpr: false, spans: false };

export function serverFeatures(openapi: unknown): ServerFeatures {
  const schemas = (openapi as { components?: { schemas?: Record<string, unknown> } })?.components
    ?.schemas;
  const request = schemas?.PerplexityRequest as
    { properties?: Record<string, { maxItems?: number } | undefined> } | undefined;
  const props = request?.properties;
  if (!props) return NO_FEATURES;
  const maxItems = props.texts?.maxItems;
  return {
    windowChars: 'window_chars' in props,
    flagFpr: 'flag_fpr' in props,
    spans: JSON.stringify(props.details ?? null).includes('"spans"'),
    ...(typeof maxItems === 'number' ? { maxStreamTexts: maxItems } : {}),
  };
}

/** Reads a `GET /v1/calibration` answer: undefined when no calibration is in force. */
export function calibrationInfo(body: unknown): CalibrationInfo | undefined {
  const b = body as { calibration?: { window_chars?: unknown }; default_window_chars?: unknown };
  if (!b?.calibration) return undefined;
  const sizes = b.calibration.window_chars;
  return {
    windowChars: Array.isArray(sizes) ? sizes.filter((w) => Number.isInteger(w)) : [],
    ...(typeof b.default_window_chars === 'number'
      ? { defaultWindowChars: b.default_window_chars }
      : {}),
  };
}

/** Whether flagging can be asked for: the server takes `flag_fpr` and has a calibration to flag against. */
export function canFlag(features: ServerFeatures): boolean {
  return features.flagFpr && features.calibration !== undefined;
}

/**
 * The `details` value that asks for tokens (for the heatmap) and, where the server can give them, spans: it
 * needs a calibration for the window length in use, or it refuses the request.
 * @param windowChars the request's `window_chars`, undefined for the server's default
 */
export function detailsFor(features: ServerFeatures, windowChars?: number): string | string[] {
  const calibration = features.calibration;
  const window = windowChars ?? calibration?.defaultWindowChars;
  const spans =
    features.spans && window !== undefined && (calibration?.windowChars.includes(window) ?? false);
  return spans ? ['tokens', 'spans'] : 'tokens';
}
