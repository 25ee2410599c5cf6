/** Snapshot array encoding is defined by @qcal/plugin-kit (collectors use it); engine modules import it from here. */
export { encodeArray, decodeArray, decodeFloat64 } from '@qcal/plugin-kit';
export type { EncodedArray } from '@qcal/plugin-kit';
