import { DataError } from '../errors';

/** What a .wav header says: PCM or IEEE-float samples, interleaved channels, where the data is. */
export interface WavHeader {
  readonly channels: number;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  /** 1 = integer PCM, 3 = IEEE float (WAVE_FORMAT_EXTENSIBLE is resolved to one of them). */
  readonly format: 1 | 3;
  readonly dataOffset: number;
  readonly frames: number;
}

/**
 * Parses a RIFF/WAVE header from the first bytes of a file (`head`, enough to reach the data
 * chunk; 64 KB covers the metadata chunks encoders put first) of `fileSize` bytes. Accepts PCM
 * 8/16/24/32-bit and float 32/64-bit, any channel count; rejects anything else with a DataError
 * naming the file. A data chunk longer than the file (streamed writers leave 0 or 0xFFFFFFFF) is
 * cut to what the file holds.
 */
export function parseWavHeader(head: Uint8Array, fileSize: number, where: string): WavHeader {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const bad = (what: string): never => { throw new DataError(`${where}: not a readable .wav file: ${what}`); };
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') bad('no RIFF/WAVE header');
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > b.length) bad('fmt chunk too short');
      let format = b.readUInt16LE(body);
      if (format === 0xfffe && size >= 40 && body + 26 <= b.length) format = b.readUInt16LE(body + 24); // extensible: sub-format GUID's first two bytes
      fmt = { format, channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) bad('data chunk before the fmt chunk');
      const f = fmt!;
      const okPcm = f.format === 1 && [8, 16, 24, 32].includes(f.bits);
      const okFloat = f.format === 3 && (f.bits === 32 || f.bits === 64);
      if (!okPcm && !okFloat) bad(`sample format ${f.format} with ${f.bits} bits (expected PCM 8/16/24/32-bit or float 32/64-bit)`);
      if (f.channels < 1) bad('0 channels');
      const frameBytes = (f.bits / 8) * f.channels;
      const avail = Math.max(0, Math.min(size, fileSize - body));
      return { channels: f.channels, sampleRate: f.rate, bitsPerSample: f.bits, format: f.format as 1 | 3, dataOffset: body, frames: Math.floor(avail / frameBytes) };
    }
    off = body + size + (size & 1);
  }
  return bad(fmt ? 'no data chunk in the first 64 KB' : 'no fmt chunk');
}

/**
 * Decodes interleaved samples to float32 in [-1, 1), channel-major: [channels, frames] (one row per
 * channel, so the last axis is time), as audio front ends expect.
 */
export function decodeWavSamples(bytes: Uint8Array, h: WavHeader): Float32Array {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(h.frames * h.channels);
  const bps = h.bitsPerSample / 8;
  for (let f = 0; f < h.frames; f++) {
    for (let c = 0; c < h.channels; c++) {
      const o = (f * h.channels + c) * bps;
      let v: number;
      if (h.format === 3) v = bps === 4 ? b.readFloatLE(o) : b.readDoubleLE(o);
      else if (bps === 1) v = (b.readUInt8(o) - 128) / 128;
      else if (bps === 2) v = b.readInt16LE(o) / 32768;
      else if (bps === 3) v = b.readIntLE(o, 3) / 8388608;
      else v = b.readInt32LE(o) / 2147483648;
      out[c * h.frames + f] = v;
    }
  }
  return out;
}
