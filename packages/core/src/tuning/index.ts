/** Auto-tune support for collectors that declare `needs.tuning` (see TuningContext). */
export { createTuningContext } from './create-tuning-context';
export type { TuningContextArgs, ReleasableTuningContext } from './create-tuning-context';
