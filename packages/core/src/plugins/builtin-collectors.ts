/**
 * The built-in collectors: bare name → package. They are loaded through exactly the same path as
 * third-party plugins (resolve, require, shape-check); only their names may be bare words.
 */
export const BUILTIN_COLLECTORS: Readonly<Record<string, string>> = Object.freeze({
  minmax: '@qcal/collector-minmax',
  entropy: '@qcal/collector-entropy',
  ifmr: '@qcal/collector-ifmr',
  hfmg: '@qcal/collector-hfmg',
  autotune: '@qcal/collector-autotune',
  percentile: '@qcal/collector-percentile',
  mse: '@qcal/collector-mse',
});

/** Is `name` reserved for a built-in collector? */
export function isBuiltinCollectorName(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(BUILTIN_COLLECTORS, name);
}

/** Third-party collector names are namespaced: `acme/percentile`, `@acme/percentile`. */
export function isNamespacedName(name: string): boolean {
  return /^@?[^\s/@]+\/[^\s]+$/.test(name);
}
