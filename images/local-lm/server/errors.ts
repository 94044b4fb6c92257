/**
 * @module
 * vLLM's error replies. Newer releases answer `{"error":{message,type,param,code}}`; older ones a flat
 * `{"object":"error",message,type,param,code}` (`ErrorResponse` in https://github.com/vllm-project/vllm,
 * `vllm/entrypoints/openai/protocol.py` before the move to `vllm/entrypoints/serve/`). Both can be emitted so the
 * controller's parser is tested on each.
 */

export type ErrorFormat = 'new' | 'old';

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
};

/** An error that becomes a vLLM error reply. `param` names the offending request field, as vLLM does. */
export class VllmError extends Error {
  override name = 'VllmError';
  readonly status: number;
  readonly param: string | null;

  constructor(status: number, message: string, param: string | null = null) {
    super(message);
    this.status = status;
    this.param = param;
  }

  get type(): string {
    return TYPE_BY_STATUS[this.status] ?? 'InternalServerError';
  }
}

export const badRequest = (message: string, param: string | null = null) =>
  new VllmError(400, message, param);

/** JSON body of an error reply in the chosen format. */
export function errorBody(err: VllmError, format: ErrorFormat): string {
  const fields = { message: err.message, type: err.type, param: err.param, code: err.status };
  return JSON.stringify(format === 'old' ? { object: 'error', ...fields } : { error: fields });
}
