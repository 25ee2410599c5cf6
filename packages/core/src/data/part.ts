import type { FeedData, FeedType, StoredType } from './dtype';

/**
 * One array of one sample, known by its header before its payload is read: a .npy file, an
 * .npz member, or an image after preprocessing. `load` reads and decodes it on demand so that
 * memory stays bounded by one batch whatever the data-set size.
 */
export interface Part {
  /** The file it comes from (fingerprint, messages). */
  file: string;
  /** How messages name it, e.g. `a.npz[x]` or `img.png`. */
  label: string;
  /** Stored shape (before a batch dim is added). */
  dims: readonly number[];
  /** Stored element type (images: the preprocessed type, float32). */
  type: StoredType;
  /** Decode, converted to `target` (already checked lossless), in C order. */
  load(target: FeedType): Promise<FeedData>;
}

/** A sample before decoding: one part per model input. */
export interface SampleRef {
  id: string;
  parts: Record<string, Part>;
}
