import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeModel } from '../onnx/model';
import { createSession, readModelSource, type ModelSource } from './session-io';

/** onnxruntime ops that compute in integer arithmetic (CPU provider, QDQ fusion results). */
export const INTEGER_KERNEL_OPS = new Set([
  'QLinearConv', 'QLinearConvTranspose', 'ConvInteger', 'MatMulInteger', 'QLinearMatMul', 'MatMulIntegerToFloat', 'QGemm',
  'DynamicQuantizeMatMul', 'QLinearAdd', 'QLinearMul', 'QLinearConcat', 'QLinearAveragePool', 'QLinearGlobalAveragePool',
  'QLinearLeakyRelu', 'QLinearSigmoid', 'QLinearSoftmax', 'QLinearReduceMean', 'QLinearWhere', 'QAttention', 'NhwcQLinearConv',
]);
/** Float ops that the QDQ model means to run in integer arithmetic when fusion works. */
const FLOAT_COMPUTE_OPS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul', 'FusedConv', 'FusedGemm', 'FusedMatMul']);

export interface KernelUsage {
  /** Node count per op type of the graph onnxruntime optimized. */
  opCounts: Record<string, number>;
  /** The integer-kernel nodes among them. */
  integerNodes: Record<string, number>;
  /** Conv/Gemm/MatMul nodes left in float. */
  floatComputeNodes: Record<string, number>;
}

/**
 * Which kernels onnxruntime runs for a model: it optimizes the model at `level` (default
 * `extended`, where the QDQ fusions happen, before CPU layout transforms) and saves the result
 * through `optimizedModelFilePath`; the saved graph's op types are counted.
 */
export async function inspectKernels(model: ModelSource, level: 'basic' | 'extended' | 'all' = 'extended'): Promise<KernelUsage> {
  const src = readModelSource(model, 'QDQ');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-kernels-'));
  const file = path.join(dir, 'optimized.onnx');
  try {
    const s = await createSession(src.bytes, src.where, { graphOptimizationLevel: level, optimizedModelFilePath: file });
    await s.release();
    const opt = decodeModel(fs.readFileSync(file), 'optimized model');
    const opCounts: Record<string, number> = {};
    for (const n of opt.graph!.node) opCounts[n.opType] = (opCounts[n.opType] ?? 0) + 1;
    const pick = (set: Set<string>): Record<string, number> => Object.fromEntries(Object.entries(opCounts).filter(([k]) => set.has(k)));
    return { opCounts, integerNodes: pick(INTEGER_KERNEL_OPS), floatComputeNodes: pick(FLOAT_COMPUTE_OPS) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
