/**
 * @module
 * Request and response schemas of the public API. They validate requests and generate `/openapi.json`, so every
 * field, default and limit is documented where it is enforced.
 */
import { z } from '@hono/zod-openapi';
import { DEFAULT_WINDOW_CHARS } from '../calibration/detection-figures.ts';
import type { Limits } from '../config.ts';

/** Matches a UTF-16 surrogate without its partner: such a string is not valid Unicode and has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const ErrorSchema = z
  .object({
    error: z.object({
      type: z.string().openapi({ example: 'invalid_request' }),
      message: z.string().openapi({ example: 'texts[2]: expected string, received number' }),
      param: z.string().optional().openapi({ example: 'texts[2]' }),
    }),
  })
  .openapi('Error');

/** An error response of a route, for its OpenAPI `responses`. */
export const errorResponse = (description: string) => ({
  content: { 'application/json': { schema: ErrorSchema } },
  description,
});

export function perplexityRequestSchema(limits: Limits, maxRequestMs: number) {
  return z
    .object({
      texts: z
        .array(
          z
            .string()
            .max(
              limits.maxCharsPerText,
              `a text may have at most ${limits.maxCharsPerText} characters`,
            )
            .refine(
              (s) => !LONE_SURROGATE.test(s),
              'the text contains an unpaired UTF-16 surrogate',
            ),
        )
        .min(1, 'give at least one text')
        // The tighter per-request cap of non-streamed requests is checked below, once `stream` is known.
        .max(
          Math.max(limits.maxTextsPerRequest, limits.maxTextsPerStream),
          `at most ${Math.max(limits.maxTextsPerRequest, limits.maxTextsPerStream)} texts per streamed request`,
        )
        .openapi({
          description: `Texts to score, at most ${limits.maxTextsPerRequest} per request (${limits.maxTextsPerStream} with \`stream\`), each at most ${limits.maxCharsPerText} characters, ${limits.maxTotalTextBytes} UTF-8 bytes in all. Results come back in this order (streamed: in completion order, each with its \`index\`).`,
          example: ['The cat sat on the mat.', 'Mat the on sat cat the.'],
        }),
      models: z
        .array(z.string().min(1))
        .min(1)
        .optional()
        .openapi({ description: 'Models to use (default: all). See GET /v1/models.' }),
      min_models: z.int().min(1).optional().openapi({
        description:
          'Models that must answer for a text; with fewer the request fails with 503. Default: the server setting (all models).',
      }),
      weights: z
        .record(z.string(), z.number().positive().max(1e6))
        .optional()
        .openapi({
          description: 'Ensemble weight per model name (default 1 each).',
          example: { 'llama-sotu': 2 },
        }),
      details: z
        .union([z.enum(['none', 'tokens', 'spans']), z.array(z.enum(['tokens', 'spans'])).max(2)])
        .default('none')
        .openapi({
          description:
            '"tokens" adds each model\'s tokens with character offsets and logprobs; "spans" adds `ensemble.spans`, the unusual runs of characters (needs a calibration). A list asks for both: `["tokens", "spans"]`.',
        }),
      window_chars: z
        .int()
        .min(1)
        .max(limits.maxCharsPerText)
        .optional()
        .openapi({
          description: `Length of the sliding window behind \`max_window\` and \`spans\`, in characters (UTF-16 units). Default ${DEFAULT_WINDOW_CHARS}, chosen with \`npm run bench -- --detect\`. Window percentiles exist for the lengths listed by GET /v1/calibration.`,
        }),
      flag_fpr: z.number().gt(0).max(0.5).optional().openapi({
        description:
          'Flag texts at this false-positive rate (0 < x ≤ 0.5) on the reference distribution: adds `ensemble.flagged` and `ensemble.flag_reasons`. Needs a calibration (503 `calibration_unavailable` otherwise).',
        example: 0.01,
      }),
      timeout_ms: z
        .int()
        .min(1)
        .max(maxRequestMs)
        .optional()
        .openapi({
          description: `Deadline for the whole request in ms (at most ${maxRequestMs}); with \`stream\`, the deadline of each text.`,
        }),
      cache: z.boolean().default(true).openapi({
        description:
          "Store the scores in the result cache for later requests (repeated texts are then free). `false` for one-off bulk jobs; requests over the server's `cache.maxStoredTextsPerRequest` texts never store. Lookups happen either way.",
      }),
      stream: z.boolean().default(false).openapi({
        description:
          'Stream the results as NDJSON (`application/x-ndjson`): one line per text as it completes (`{"index": i, ...}`, completion order), then `{"summary": {models_used, degraded, usage}}`, or `{"error": {...}}` if the request fails after the first line. For large jobs: memory does not grow with the job, and up to `maxTextsPerStream` texts are accepted; a body over the plain request limit also needs `Accept: application/x-ndjson`.',
      }),
    })
    .strict()
    .superRefine((body, ctx) => {
      if (!body.stream && body.texts.length > limits.maxTextsPerRequest) {
        ctx.addIssue({
          code: 'custom',
          path: ['texts'],
          message: `at most ${limits.maxTextsPerRequest} texts per request (use "stream": true for up to ${limits.maxTextsPerStream})`,
        });
      }
    })
    .openapi('PerplexityRequest');
}

export const ModelFiguresSchema = z
  .object({
    perplexity: z.number().openapi({ description: 'exp(nll / tokens)' }),
    nll: z
      .number()
      .openapi({ description: 'negative log-likelihood of the text in nats (−Σ ln p)' }),
    tokens: z.int().openapi({ description: 'scored tokens: every token of the text' }),
    bits_per_byte: z
      .number()
      .openapi({ description: 'nll / (UTF-8 bytes · ln 2): comparable across tokenizers' }),
    word_perplexity: z.number().optional().openapi({
      description: 'exp(nll / words); absent when the text has no word or the value overflows',
    }),
    windows: z
      .int()
      .openapi({ description: 'context windows the text was scored in (> 1 for long texts)' }),
    percentile: z.number().optional().openapi({
      description:
        "0–100: share of reference texts of similar length whose bits_per_byte for this model is at or below this text's; absent without a calibration",
    }),
    max_window_bits_per_byte: z.number().optional().openapi({
      description:
        "bits per UTF-8 byte of this model's own most surprising window of `window_chars` characters",
    }),
    token_details: z
      .array(
        z.object({
          id: z.int(),
          text: z
            .string()
            .nullable()
            .openapi({ description: 'the token as the model decodes it alone' }),
          logprob: z.number(),
          offset: z.int().nullable().openapi({
            description:
              'character offset of the token in the text, null where it cannot be aligned',
          }),
        }),
      )
      .optional()
      .openapi({ description: 'with details="tokens"' }),
  })
  .openapi('ModelFigures');

export const TextErrorSchema = z
  .object({
    type: z.string(),
    message: z.string(),
    param: z
      .string()
      .optional()
      .openapi({ description: 'the request field at fault: `texts[i]` for the i-th text' }),
  })
  .openapi('TextError', {
    description: 'why this text (or this model for this text) has no figures',
  });

/** A character range and how surprising it is. */
export const ScoredWindowSchema = z
  .object({
    start: z.int().openapi({ description: 'first character (UTF-16 index, like token offsets)' }),
    end: z.int().openapi({ description: 'end character, exclusive' }),
    bits_per_byte: z
      .number()
      .openapi({ description: 'ensemble surprisal of these characters, in bits per UTF-8 byte' }),
    percentile: z.number().optional().openapi({
      description:
        '0–100 against the max windows of reference texts of similar length; absent without a calibration for this window length',
    }),
  })
  .openapi('ScoredWindow');

export const EnsembleSchema = z
  .object({
    perplexity: z
      .number()
      .openapi({ description: 'weighted geometric mean of the model perplexities' }),
    bits_per_byte: z.number().openapi({ description: 'weighted mean of the model bits-per-byte' }),
    byte_perplexity: z.number().openapi({ description: '2^bits_per_byte' }),
    spread: z
      .number()
      .openapi({ description: "weighted standard deviation of the models' log-perplexities" }),
    models_used: z.array(z.string()),
    degraded: z
      .boolean()
      .openapi({ description: 'true when some requested model did not answer for this text' }),
    missing_models: z.array(z.string()),
    percentile: z.number().optional().openapi({
      description:
        "0–100: how unusual the whole text is against reference texts of similar length, from the weighted mean of the models' robust z-scores (not from the geometric mean); absent without a calibration",
    }),
    max_window: ScoredWindowSchema.optional().openapi({
      description:
        'the window of `window_chars` characters with the highest ensemble bits per byte (the whole text when shorter)',
    }),
    spans: z.array(ScoredWindowSchema).optional().openapi({
      description:
        'with details "spans": maximal merged runs of characters covered by windows above the flag threshold (`flag_fpr`, else 0.01)',
    }),
    flagged: z.boolean().optional().openapi({
      description:
        'with `flag_fpr`: the text or one of its windows passes the threshold for that rate',
    }),
    flag_reasons: z
      .array(z.enum(['text', 'window']))
      .optional()
      .openapi({
        description:
          'with `flag_fpr`: "text" when the whole text is unusual, "window" when a window is (empty when not flagged)',
      }),
  })
  .openapi('Ensemble');

/** One text's result: the ensemble and each model's figures, or why there are none. */
export const TextResultSchema = z.object({
  index: z.int().openapi({ description: 'position of the text in the request' }),
  ensemble: EnsembleSchema.optional(),
  models: z.record(z.string(), z.union([ModelFiguresSchema, z.object({ error: TextErrorSchema })])),
  error: TextErrorSchema.optional(),
});

export const PerplexityResponseSchema = z
  .object({
    results: z.array(TextResultSchema),
    models_used: z.array(z.string()),
    degraded: z.boolean(),
    usage: z.object({
      texts: z.int(),
      tokens: z.int().openapi({ description: 'tokens scored over all models' }),
      bytes: z.int(),
      cache_hits: z.int().optional().openapi({
        description:
          '(text, model) scores answered from the result cache instead of a backend (repeated texts are free)',
      }),
    }),
  })
  .openapi('PerplexityResponse');

/*
 * The wire types. The ensemble builds its results in exactly these shapes, so the schema that documents the
 * response is also the type the scorer must satisfy: adding a field here is a type error until it is produced.
 */
export type PerplexityResponse = z.infer<typeof PerplexityResponseSchema>;
export type TextResult = z.infer<typeof TextResultSchema>;
/** One model's figures for a text, or why it has none. */
export type ModelResult = TextResult['models'][string];
export type ModelFiguresWire = z.infer<typeof ModelFiguresSchema>;
export type TokenDetail = NonNullable<ModelFiguresWire['token_details']>[number];
export type EnsembleResult = z.infer<typeof EnsembleSchema>;
export type TextError = z.infer<typeof TextErrorSchema>;
/** The response without its results: what a stream's last line says. */
export type ResponseSummary = Omit<PerplexityResponse, 'results'>;

export function legacyRequestSchema(limits: Limits) {
  return z
    .object({
      prompts: z
        .array(
          z
            .string()
            .max(limits.maxCharsPerText)
            .refine(
              (s) => !LONE_SURROGATE.test(s),
              'the text contains an unpaired UTF-16 surrogate',
            ),
        )
        .min(1)
        .max(limits.maxTextsPerRequest),
    })
    .openapi('LegacyPerplexityRequest');
}

export const LegacyQuerySchema = z.object({
  model_names: z.string().optional().openapi({
    description: 'Comma-separated model names (default: all).',
    example: 'llama-sotu,gpt2-brown',
  }),
});

export const LegacyResponseSchema = z
  .record(z.string(), z.array(z.number()))
  .openapi('LegacyPerplexityResponse', { description: '{model: [perplexity per prompt]}' });

export const ModelsResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        id: z.string(),
        ready: z.boolean(),
        weight: z.number(),
        max_model_len: z.int().nullable(),
        prefix_token_id: z.int().nullable(),
        unavailable: z.string().nullable().openapi({
          description:
            'Why the model cannot serve on this deployment (e.g. its download was refused), or null',
        }),
        backends: z.array(
          z.object({
            id: z.string(),
            state: z.string(),
            inflight: z.int(),
            last_error: z.string().nullable(),
          }),
        ),
      }),
    ),
  })
  .openapi('Models');

export const ReadyResponseSchema = z
  .object({
    ready: z.boolean(),
    models: z.record(z.string(), z.boolean()),
    min_models: z.int(),
    keys_loaded: z.boolean().openapi({
      description: 'the API key set has been loaded (always true without key authentication)',
    }),
  })
  .openapi('Readiness');
