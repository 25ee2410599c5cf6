import { decodeModel, encodeModel, loadModel, type OnnxModel } from '../onnx/model';

/** A model given as a file path, its bytes, or a decoded model. */
export type ModelInput = string | Uint8Array | OnnxModel;

/** Decoded model and bytes of a {@link ModelInput}; `where` names it in messages. */
export function readModelInput(src: ModelInput): { model: OnnxModel; bytes: Uint8Array; where: string } {
  if (typeof src === 'string') return { ...loadModel(src), where: src };
  if (src instanceof Uint8Array) return { model: decodeModel(src, 'FP32 model'), bytes: src, where: 'FP32 model' };
  return { model: src, bytes: encodeModel(src), where: 'FP32 model' };
}
