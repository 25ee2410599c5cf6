/**
 * Size limits checked before anything is allocated, so that a hostile or mistaken input (an .npz
 * member that inflates to gigabytes, a 24000×24000 bitmap, a 300-million-shard snapshot) is a clear
 * error instead of an out-of-memory crash. Raise them in the config: `"limits": { "maxSampleElements": 300000000 }`.
 */
export interface Limits {
  /** Most elements one model input of one sample may have (after preprocessing): 2^26 = 67,108,864 (256 MiB of float32). */
  readonly maxSampleElements: number;
  /** Most pixels a source image may have (sharp's own default, 16383 × 16383). */
  readonly maxImagePixels: number;
  /** Most elements one input of one batch may have (samples × elements): 2^28 (1 GiB of float32). */
  readonly maxBatchElements: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxSampleElements: 2 ** 26,
  maxImagePixels: 16383 * 16383,
  maxBatchElements: 2 ** 28,
});

/** Hard limits that no setting raises: formats' own ceilings. */
export const HARD_LIMITS = Object.freeze({
  /** ONNX models are protobuf messages, which cannot exceed 2 GiB (larger models keep weights as external data). */
  maxModelBytes: 2 ** 31 - 1,
  /** numpy's reader refuses headers over 10,000 bytes unless told otherwise; qcal accepts up to 1 MiB. */
  maxNpyHeaderBytes: 1024 * 1024,
  /** Largest data list file (one path per line). */
  maxListFileBytes: 256 * 1024 * 1024,
  /** Longest /regex/ pattern accepted in include/exclude. */
  maxPatternLength: 1000,
});

/** `given` over the defaults. */
export function resolveLimits(given?: Partial<Limits>): Limits {
  return Object.freeze({ ...DEFAULT_LIMITS, ...(given ?? {}) });
}

/** How to raise a limit, for messages. */
export function raiseHint(key: keyof Limits): string {
  return `raise it with "limits": { "${key}": N } in the config if this input is intended`;
}
