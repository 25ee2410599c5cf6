import { mxnetKlThreshold, type KlResult } from './mxnet-kl';
import { modeloptKlThreshold, type ModeloptKlOptions } from './modelopt-kl';

/** One tensor's threshold search, as plain data (it crosses to a worker thread). */
export type KlTask =
  | { kind: 'mxnet'; counts: Float64Array; edges: Float32Array; numQuantizedBins: number }
  | { kind: 'modelopt'; counts: Float64Array; edges: Float32Array; options: ModeloptKlOptions };

/** Runs one search (in whichever thread calls it). */
export function runKlTask(task: KlTask): KlResult {
  return task.kind === 'mxnet'
    ? mxnetKlThreshold(task.counts, task.edges, task.numQuantizedBins)
    : modeloptKlThreshold(task.counts, task.edges, task.options);
}
