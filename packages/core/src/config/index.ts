export { loadConfig, CONFIG_DEFAULTS, CONFIG_SEARCH_PLACES, DEFAULT_QDQ_COLLECTORS } from './load-config';
export type { LoadConfigOptions } from './load-config';
export { CONFIG_KEYS, checkConfigSource, flagName } from './config-schema';
export type { ConfigSource } from './config-schema';
export { loadTsConfig } from './ts-loader';
export { OUTPUT_FORMATS, inputOptions } from './resolved-config';
export type { ResolvedConfig, OutputFormat, ShardSpec } from './resolved-config';
