/** @qcal/collector-minmax: naive min/max. The plugin module exports its collector definitions. */
import { minmaxCollector } from './minmax-collector';

export { minmaxCollector };
export type { MinMaxOptions } from './minmax-collector';
export { finiteMinMax, finiteMinMaxJs } from './min-max';
export const collectors = [minmaxCollector];
export default minmaxCollector;
