/** The calibration table contract is defined by @qcal/plugin-kit; engine modules import it from here. */
export { validateTable } from '@qcal/plugin-kit';
export type { CalibrationTable, TableEntry, TableMeta } from '@qcal/plugin-kit';
