/**
 * @module
 * Fault injection state for one server. One fault at a time; it applies to every route except `/_control/*`
 * unless `onlyFor` narrows it, to the next `count` requests (default: until cleared), and clears itself after
 * `forMs` if given (the only way to end `refuse` over HTTP, since the port is closed meanwhile).
 */

export type FaultKind =
  'refuse' | 'hang' | 'status503' | 'malformedJson' | 'dieMidResponse' | 'negInf' | 'poisonText';
export const FAULT_KINDS: readonly FaultKind[] = [
  'refuse',
  'hang',
  'status503',
  'malformedJson',
  'dieMidResponse',
  'negInf',
  'poisonText',
];

export interface FaultSpec {
  kind: FaultKind;
  /** Apply to the next N matching requests only, then clear. Ignored by `refuse`. @default - until cleared */
  count?: number;
  /** Paths the fault applies to, e.g. `['/v1/completions']`. @default - every path but /_control/* */
  onlyFor?: string[];
  /** Clear automatically after this many ms. @default - never */
  forMs?: number;
  /** `negInf`: prompt position whose actual-token logprob becomes −9999 (clamped to 1…len−1). @default 1 */
  position?: number;
  /**
   * `poisonText`: a `/v1/completions` or `/tokenize` body containing this string is answered 500, as vLLM does when
   * one input crashes its engine (the message quotes the input, as real engine errors can). Other requests are
   * served normally. Required for `poisonText`.
   */
  marker?: string;
}

export interface FaultControls {
  /** Installs a fault (replacing any other); resolves once it is in effect (e.g. the port is closed). */
  set(spec: FaultSpec | FaultKind): Promise<void>;
  /** Removes the fault; resolves once the server serves normally again (same port). */
  clear(): Promise<void>;
  /** The fault in effect, if any. */
  readonly current: FaultSpec | null;
}

/** Validates a fault spec coming from JSON; returns an error message or the spec. */
export function parseFaultSpec(raw: unknown): FaultSpec | string {
  const spec = typeof raw === 'string' ? { kind: raw } : raw;
  if (typeof spec !== 'object' || spec === null) return 'fault must be an object with a kind';
  const s = spec as Record<string, unknown>;
  if (!FAULT_KINDS.includes(s.kind as FaultKind))
    return `kind must be one of ${FAULT_KINDS.join(', ')}`;
  for (const k of ['count', 'forMs', 'position'] as const) {
    if (
      s[k] !== undefined &&
      (typeof s[k] !== 'number' || !Number.isInteger(s[k]) || (s[k] as number) < 0)
    ) {
      return `${k} must be a non-negative integer`;
    }
  }
  if (s.kind === 'poisonText' && (typeof s.marker !== 'string' || s.marker.length === 0)) {
    return 'poisonText needs a non-empty marker';
  }
  if (
    s.onlyFor !== undefined &&
    (!Array.isArray(s.onlyFor) || !s.onlyFor.every((p) => typeof p === 'string'))
  ) {
    return 'onlyFor must be a list of paths';
  }
  return s as unknown as FaultSpec;
}

/** Bookkeeping shared by the server: which fault applies to a request, and counting it down. */
export class FaultState {
  private spec: FaultSpec | null = null;
  private left = Infinity;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly onExpire: (why: 'count' | 'timer') => void) {}

  get current(): FaultSpec | null {
    return this.spec;
  }

  install(spec: FaultSpec): void {
    this.reset();
    this.spec = { ...spec };
    this.left = spec.count ?? Infinity;
    if (spec.forMs !== undefined) {
      this.timer = setTimeout(() => this.onExpire('timer'), spec.forMs);
      this.timer.unref();
    }
  }

  reset(): void {
    this.spec = null;
    this.left = Infinity;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The fault to apply to a request on `path` (consuming one of `count`), or null. */
  take(path: string): FaultSpec | null {
    const spec = this.spec;
    if (!spec || spec.kind === 'refuse' || path.startsWith('/_control')) return null;
    if (spec.onlyFor && !spec.onlyFor.includes(path)) return null;
    if (--this.left <= 0) this.onExpire('count');
    return spec;
  }
}
