/**
 * @module
 * How the legacy routes name models. The earlier Python service (https://github.com/haizelabs/ensembled-perplexity,
 * `perplexity_server.py` and `ensemble_perplexity.py`) named them by Hugging Face id and picked a model when its id
 * occurred anywhere in the `model_names` query string (Python's `name in model_names`). Here a model answers to its
 * name, its `hfId` and its `aliases`; `legacy.modelNamesMatch` chooses exact lists or that substring rule, and
 * `legacy.responseNames` which name the answers use.
 */
import type { ControllerConfig, ModelConfig } from '../../config.ts';
import { ApiError } from '../errors.ts';

/** A model a legacy request picked, and the key its perplexities are answered under. */
export interface LegacyModelChoice {
  /** The model's configured name (what the scheduler knows it by). */
  readonly name: string;
  /** The key of its perplexities in the response. */
  readonly key: string;
}

/** Every name a legacy request may use for the model. */
export function legacyNamesOf(model: ModelConfig): string[] {
  return [model.name, ...(model.hfId === undefined ? [] : [model.hfId]), ...(model.aliases ?? [])];
}

/** The name `GET /ensemble_model_names` lists and responses are keyed by. */
export function legacyResponseName(model: ModelConfig, config: ControllerConfig): string {
  return config.legacy.responseNames === 'hfId' ? (model.hfId ?? model.name) : model.name;
}

/**
 * The models `model_names` picks, in the order the caller named them (exact) or in configuration order
 * (substring, as the earlier service did). No `model_names`, or a blank one, picks every model.
 * @throws ApiError 404 naming `model_names` when a name is unknown or nothing matches; 400 when a model is named
 * twice
 */
export function chooseLegacyModels(
  modelNames: string | undefined,
  config: ControllerConfig,
): LegacyModelChoice[] {
  const all = () =>
    config.models.map((m) => ({ name: m.name, key: legacyResponseName(m, config) }));
  if (modelNames === undefined || modelNames.trim() === '') return all();
  if (config.legacy.modelNamesMatch === 'substring') {
    const picked = config.models
      .filter((m) => legacyNamesOf(m).some((n) => modelNames.includes(n)))
      .map((m) => ({ name: m.name, key: legacyResponseName(m, config) }));
    if (picked.length === 0) {
      throw new ApiError(
        404,
        'model_not_found',
        `no model's name occurs in model_names "${modelNames}"; GET /ensemble_model_names lists them`,
        { param: 'model_names' },
      );
    }
    return picked;
  }
  const byName = new Map<string, ModelConfig>();
  for (const m of config.models) for (const n of legacyNamesOf(m)) byName.set(n, m);
  const chosen = new Map<string, LegacyModelChoice>();
  for (const requested of modelNames.split(',').map((s) => s.trim())) {
    if (requested === '') continue;
    const model = byName.get(requested);
    if (!model) {
      throw new ApiError(
        404,
        'model_not_found',
        `unknown model "${requested}"; GET /ensemble_model_names lists the models`,
        { param: 'model_names' },
      );
    }
    if (chosen.has(model.name)) {
      throw new ApiError(
        400,
        'invalid_request',
        `model "${model.name}" is named twice in model_names`,
        { param: 'model_names' },
      );
    }
    chosen.set(model.name, { name: model.name, key: requested });
  }
  return [...chosen.values()];
}
