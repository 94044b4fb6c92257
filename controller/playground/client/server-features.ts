/**
 * @module
 * What this server's scoring route accepts, read from its OpenAPI document, so the page offers only the controls
 * the server understands (the detection fields arrived in a later release).
 */

export interface ServerFeatures {
  /** Accepts `window_chars` (and answers with `max_window`). */
  readonly windowChars: boolean;
  /** Accepts `flag_fpr` (and answers with `flagged`). */
  readonly flagFpr: boolean;
  /** Accepts `details: "spans"` (and answers with `spans`). */
  readonly spans: boolean;
  /** Largest number of texts in one streamed request, when the document says. */
  readonly maxStreamTexts?: number;
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

/** The `details` value that asks for tokens (for the heatmap) and, where supported, spans. */
export function detailsFor(features: ServerFeatures): string | string[] {
  return features.spans ? ['tokens', 'spans'] : 'tokens';
}
