import { readTableFile } from '../formats';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../atomic-write';
import { TableError } from '../errors';
import { encodeModel } from '../onnx/model';
import { externalFiles, externalizeModel, tensorBytes } from '../onnx/external-data';
import { validateTable, type CalibrationTable } from '../table';
import { createSession, readModelSource, type ModelSource } from '../evaluate/session-io';
import { buildQdqModelWithPasses, type QdqPassOptions, type QdqPassReport } from './passes/pipeline';

export interface QuantizeFileOptions extends QdqPassOptions {
  /** The FP32 model: a path, bytes or a decoded model. */
  model: ModelSource;
  /** A table file (`<collector>.table.json`) or a table object. */
  table: string | CalibrationTable;
  /** Where to write the QDQ model (atomically). Omit to only build it. */
  outPath?: string;
  /** Load the built model in onnxruntime before writing it (default true). */
  verify?: boolean;
  /**
   * Write initializers to `<outPath>.data` (ONNX external data) when the model's tensor bytes exceed
   * this (default 1.9 GB: protobuf cannot encode a message past 2 GB), or always when the FP32 model
   * kept its weights in external data. 0 forces external data.
   */
  externalDataThreshold?: number;
}

export interface QuantizeFileResult {
  report: QdqPassReport;
  bytes: Uint8Array;
  outPath?: string;
  /** Non-fatal findings (the table was computed for different model bytes). */
  warnings: string[];
}

/**
 * `qcal quantize`: model + table → QDQ model file. Validates the table against the model, builds,
 * checks onnxruntime loads the result, then writes it atomically; on any error nothing is written.
 */
export async function quantizeFile(opts: QuantizeFileOptions): Promise<QuantizeFileResult> {
  const src = readModelSource(opts.model, 'FP32');
  const table = typeof opts.table === 'string' ? readTableFile(opts.table) : validateTable(opts.table, 'table');
  const where = typeof opts.table === 'string' ? opts.table : 'table';
  const warnings: string[] = [];
  const sha = table.meta?.modelSha256;
  if (typeof sha === 'string' && sha !== createHash('sha256').update(src.bytes).digest('hex')) {
    warnings.push(`${where}: was computed for a model with sha256 ${sha.slice(0, 12)}…, not ${src.where}; its tensor names all match, so it is used`);
  }
  let built;
  try {
    built = await buildQdqModelWithPasses(src.model, table, opts);
  } catch (err) {
    if (err instanceof TableError && !err.message.startsWith(where)) throw new TableError(`${where}${err.message.slice('table'.length)}`, { cause: err });
    throw err;
  }
  let qdq = built.model;
  const external = opts.outPath && (externalFiles(src.model).size > 0 || tensorBytes(qdq) > (opts.externalDataThreshold ?? 1.9e9));
  // The data file first (the model that names it appears only once it is complete).
  if (external) qdq = externalizeModel(qdq, `${opts.outPath!}.data`, Math.min(1024, opts.externalDataThreshold ?? 1024));
  const bytes = encodeModel(qdq);
  if (opts.verify ?? true) await (await createSession(bytes, `QDQ model built from ${src.where}`, undefined, qdq)).release();
  if (opts.outPath) writeFileAtomic(opts.outPath, bytes);
  return { report: built.report, bytes, ...(opts.outPath ? { outPath: opts.outPath } : {}), warnings };
}
