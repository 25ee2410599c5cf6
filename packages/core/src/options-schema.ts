/** The collector options schema is defined by @qcal/plugin-kit; engine modules import it from here. */
export { validateOptions, closest, editDistance } from '@qcal/plugin-kit';
export type { OptionSpec, OptionsSchema } from '@qcal/plugin-kit';
