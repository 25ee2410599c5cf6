import { convertTyped, type FeedType } from './dtype';
import { readRange } from './file-io';
import type { Part } from './part';
import { decodeWavSamples, parseWavHeader } from './wav';

/**
 * A .wav file as one array, header read now, samples decoded on demand: float32 in [-1, 1),
 * [frames] for mono, [channels, frames] otherwise (time on the last axis, where `sequence.chunk`
 * cuts). No resampling: the file's rate must be the model's (the label says it).
 */
export async function wavPart(path: string, fileSize: number): Promise<Part> {
  const head = await readRange(path, 0, Math.min(fileSize, 65536));
  const h = parseWavHeader(head, fileSize, path);
  return {
    file: path,
    label: `${path} (${h.sampleRate} Hz)`,
    dims: h.channels === 1 ? [h.frames] : [h.channels, h.frames],
    type: 'float32',
    async load(target: FeedType) {
      const bytes = await readRange(path, h.dataOffset, h.frames * h.channels * (h.bitsPerSample / 8));
      return convertTyped(decodeWavSamples(bytes, h), 'float32', target);
    },
  };
}
