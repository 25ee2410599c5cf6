/**
 * Property and fuzz tests of the .npy and .npz/zip parsers: any bytes give either the array the
 * header describes or a DataError — never another exception, a native abort or a large allocation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { writeNpy, readNpy, writeNpz } from '../../src/data';
import { npzParts } from '../../src/data/npz-part';
import { fuzzParams, outcome, outcomeAsync, mutated } from '../../../../test-support/fuzz';

const dims = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 0, maxLength: 4 });
const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
const validNpy = dims.chain((d) => fc.float32Array({ minLength: size(d), maxLength: size(d) }).map((a) => ({ d, bytes: writeNpy(a, d, 'float32'), a })));

describe('.npy', () => {
  it('round trip: any float32 array (NaN, ±Infinity, denormals, -0) of any small shape reads back bit for bit [300 runs]', () => {
    fc.assert(fc.property(validNpy, fc.boolean(), ({ d, a }, bigEndian) => {
      const bytes = writeNpy(a, d, 'float32', { bigEndian });
      const { header, data } = readNpy(bytes, 'x.npy');
      expect(header.shape).toEqual(d);
      expect(Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))).toEqual(Buffer.from(a.buffer));
    }), fuzzParams(300));
  });

  it('mutated .npy bytes: the array its header describes, or a DataError; deterministic [600 runs]', () => {
    const seeds = fc.sample(validNpy, { seed: 1, numRuns: 8 }).map((v) => v.bytes);
    fc.assert(fc.property(fc.constantFrom(...seeds).chain(mutated), (b) => {
      const r = outcome(() => readNpy(b, 'm.npy'));
      if (r.ok) {
        expect(r.value.data.length).toBe(size(r.value.header.shape));
        expect(r.value.header.dataOffset + r.value.header.dataBytes).toBeLessThanOrEqual(b.length);
      } else {
        expect(r.code).toBe('QCAL_DATA');
        expect(r.message.split('\n')).toHaveLength(1);
      }
      expect(outcome(() => readNpy(b, 'm.npy'))).toEqual(r);
    }), fuzzParams(600));
  });

  it('a preamble with any version and header length (up to 2^32 - 1): DataError, nothing allocated for it [300 runs]', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4 }), fc.nat({ max: 0xffffffff }), fc.uint8Array({ maxLength: 200 }), (major, len, rest) => {
      const b = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]), Buffer.alloc(4), Buffer.from(rest)]);
      b.writeUInt32LE(len, 8);
      const r = outcome(() => readNpy(b, 'h.npy'));
      if (!r.ok) expect(r.code).toBe('QCAL_DATA');
    }), fuzzParams(300));
  });
});

describe('.npz / zip', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-npz-prop-'));
  const validNpz = fc.tuple(validNpy, validNpy, fc.boolean()).map(([x, y, compress]) => writeNpz({ x: x.bytes, y: y.bytes }, { compress }));
  let n = 0;
  const open = async (b: Uint8Array) => {
    const file = path.join(dir, `f${n++ % 4}.npz`);
    fs.writeFileSync(file, b);
    return outcomeAsync(async () => {
      const parts = await npzParts(file, b.length);
      const loaded: Record<string, number> = {};
      for (const [name, p] of Object.entries(parts)) {
        const a = await p.load('float32');
        // Never more than the header's shape: the sizes were bounded before anything was inflated.
        expect(a.length).toBe(size(p.dims));
        loaded[name] = a.length;
      }
      return loaded;
    });
  };

  it('round trip: stored and deflated members read back [100 runs]', async () => {
    await fc.assert(fc.asyncProperty(validNpy, validNpy, fc.boolean(), async (x, y, compress) => {
      const r = await open(writeNpz({ x: x.bytes, y: y.bytes }, { compress }));
      expect(r).toEqual({ ok: true, value: { x: size(x.d), y: size(y.d) } });
    }), fuzzParams(100));
  });

  it('mutated .npz bytes (directory, local headers, deflate stream, sizes): arrays or a DataError [400 runs]', async () => {
    const seeds = fc.sample(validNpz, { seed: 2, numRuns: 6 });
    await fc.assert(fc.asyncProperty(fc.constantFrom(...seeds).chain(mutated), async (b) => {
      const r = await open(b);
      if (!r.ok) {
        expect(r.code).toBe('QCAL_DATA');
        expect(r.message.split('\n')).toHaveLength(1);
      }
    }), fuzzParams(400));
  });
});
