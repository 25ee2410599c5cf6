/** Calibration data: files or a programmatic source → validated, batched model feeds. */
export type { ModelInputSpec, Sample, Batch, DataSource, DataOptions, OpenedData } from './types';
export type { PreprocessOptions } from './preprocess-options';
export { openData } from './open-data';
export { PRESETS, PRESET_NAMES } from './presets';
export { resolvePreprocess } from './image-part';
export type { ResolvedPreprocess } from './image-part';
export { writeNpy, readNpy, parseNpyHeader } from './npy';
export type { NpyHeader, WriteNpyOptions } from './npy';
export { writeNpz } from './npz-write';
export type { FeedType, StoredType } from './dtype';
export { halfToFloat, floatToHalf } from './dtype';
export { mulberry32 } from './select';
export { inferBatchAxis, resolveInputs, constantFeed } from './input-settings';
export type { InputSetting, InputValue, SequenceOptions, ResolvedInputs } from './input-settings';
