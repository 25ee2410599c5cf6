import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeWavSamples, parseWavHeader } from '../../src/data/wav';
import { wavPart } from '../../src/data/wav-part';
import { DataError } from '../../src/errors';

/** A RIFF/WAVE file: fmt chunk, an odd-sized LIST chunk first (padding), then data. */
function wav(format: number, bits: number, channels: number, rate: number, samples: Buffer, extensible = false): Buffer {
  const fmt = Buffer.alloc(extensible ? 40 : 16);
  fmt.writeUInt16LE(extensible ? 0xfffe : format, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * channels * bits / 8, 8);
  fmt.writeUInt16LE(channels * bits / 8, 12);
  fmt.writeUInt16LE(bits, 14);
  if (extensible) { fmt.writeUInt16LE(22, 16); fmt.writeUInt16LE(format, 24); }
  const chunk = (id: string, body: Buffer) => Buffer.concat([Buffer.from(id, 'latin1'), Buffer.from(Uint32Array.of(body.length).buffer), body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('LIST', Buffer.from('abc')), chunk('fmt ', fmt), chunk('data', samples)]);
  return Buffer.concat([Buffer.from('RIFF'), Buffer.from(Uint32Array.of(body.length).buffer), body]);
}

describe('.wav reading', () => {
  it('PCM 16-bit stereo: channel-major [channels, frames], scaled by 1/32768', () => {
    const s = Buffer.from(Int16Array.of(16384, -32768, -16384, 32767).buffer); // frames (L, R): (0.5, -1), (-0.5, 32767/32768)
    const f = wav(1, 16, 2, 8000, s);
    const h = parseWavHeader(f, f.length, 'a.wav');
    expect(h).toMatchObject({ channels: 2, sampleRate: 8000, frames: 2, format: 1 });
    expect(Array.from(decodeWavSamples(f.subarray(h.dataOffset), h))).toEqual([0.5, -0.5, -1, 32767 / 32768]);
  });

  it('8-bit unsigned, 24-bit, float32 (extensible) mono', () => {
    const u8 = wav(1, 8, 1, 16000, Buffer.from([128, 192, 0]));
    let h = parseWavHeader(u8, u8.length, 'b.wav');
    expect(Array.from(decodeWavSamples(u8.subarray(h.dataOffset), h))).toEqual([0, 0.5, -1]);
    const s24 = Buffer.alloc(6); s24.writeIntLE(4194304, 0, 3); s24.writeIntLE(-8388608, 3, 3);
    const p24 = wav(1, 24, 1, 16000, s24);
    h = parseWavHeader(p24, p24.length, 'c.wav');
    expect(Array.from(decodeWavSamples(p24.subarray(h.dataOffset), h))).toEqual([0.5, -1]);
    const fl = wav(3, 32, 1, 16000, Buffer.from(Float32Array.of(0.25, -0.125).buffer), true);
    h = parseWavHeader(fl, fl.length, 'd.wav');
    expect(h.format).toBe(3);
    expect(Array.from(decodeWavSamples(fl.subarray(h.dataOffset), h))).toEqual([0.25, -0.125]);
  });

  it('truncated data is cut to whole frames; bad files are DataErrors naming the file', async () => {
    const f = wav(1, 16, 1, 16000, Buffer.from(Int16Array.of(1, 2, 3).buffer));
    const cut = f.subarray(0, f.length - 3);
    expect(parseWavHeader(cut, cut.length, 'e.wav').frames).toBe(1);
    expect(() => parseWavHeader(Buffer.from('RIFF....WAVX'), 12, 'x.wav')).toThrow(DataError);
    expect(() => parseWavHeader(wav(2, 4, 1, 8000, Buffer.alloc(4)), 60, 'adpcm.wav')).toThrow(/adpcm.wav: .*sample format 2/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-wav-'));
    const file = path.join(dir, 'm.wav');
    fs.writeFileSync(file, wav(1, 16, 1, 16000, Buffer.from(Int16Array.of(8192, -8192).buffer)));
    const part = await wavPart(file, fs.statSync(file).size);
    expect(part.dims).toEqual([2]);
    expect(part.label).toContain('16000 Hz');
    expect(Array.from(await part.load('float32') as Float32Array)).toEqual([0.25, -0.25]);
  });
});
