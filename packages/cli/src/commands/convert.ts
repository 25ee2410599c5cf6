import * as path from 'node:path';
import { convertTable, isTableFormat, UsageError, TABLE_FORMATS, checkOutputFile } from '@qcal/core';
import { parseFlags } from '../args';
import { out, type CliIo } from '../io';

const HELP = `Usage: qcal convert TABLE --to json|tensorrt|tpu-mlir|ort --out FILE [--trt-version N]

Reads a table in any supported format (qcal JSON, TensorRT calibration cache, tpu-mlir
calibration table, onnxruntime calibration.json/.flatbuffers/.cache; detected from the content)
and writes it in another. Formats that keep only a threshold (TensorRT, tpu-mlir, ORT cache)
read back as symmetric ranges [-amax, amax].
`;

const FLAGS = {
  to: { type: 'string' },
  out: { type: 'string' },
  'trt-version': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `qcal convert`: table format conversion. */
export async function convertCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseFlags('convert', argv, FLAGS, true);
  if (v.help) {
    out(io, HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('qcal convert: expected one input table: qcal convert TABLE --to FORMAT --out FILE');
  if (!v.to || !isTableFormat(v.to)) throw new UsageError(`qcal convert: --to expects one of ${TABLE_FORMATS.join(', ')}, got ${v.to === undefined ? 'nothing' : `"${v.to}"`}`);
  if (!v.out) throw new UsageError('qcal convert: --out FILE is required');
  // --to ort without a file extension names a folder (of the three calibration.* files).
  if (v.to !== 'ort' || /\.(json|flatbuffers|cache)$/.test(v.out)) checkOutputFile(v.out, '--out', io.cwd);
  const trtVersion = v['trt-version'] !== undefined ? Number(v['trt-version']) : undefined;
  if (trtVersion !== undefined && !Number.isInteger(trtVersion)) throw new UsageError(`--trt-version expects an integer such as 8601, got "${v['trt-version']}"`);
  const written = convertTable(path.resolve(io.cwd, positionals[0]!), v.to, path.resolve(io.cwd, v.out), trtVersion !== undefined ? { trtVersion } : {});
  for (const f of written) out(io, `wrote ${path.relative(io.cwd, f) || f}`);
  return 0;
}
