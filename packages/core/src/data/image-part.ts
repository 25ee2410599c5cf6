import { DataError } from '../errors';
import type { Part } from './part';
import type { PreprocessOptions } from './preprocess-options';
import type { ModelInputSpec } from './types';

export interface ResolvedPreprocess extends PreprocessOptions { name: string; used: boolean }

export function resolvePreprocess(p: string | PreprocessOptions | undefined): ResolvedPreprocess {
  if (p === undefined) return { name: 'none', used: false };
  return { ...(typeof p === 'string' ? { preset: p } : p), name: typeof p === 'string' ? p : 'custom', used: true };
}

export function imagePartMaker(_pre: ResolvedPreprocess): (file: string, input: ModelInputSpec) => Promise<Part> {
  return async (file) => { throw new DataError(`${file}: image data is not supported yet`); };
}
