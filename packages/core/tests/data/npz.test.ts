import { openData, readNpy, writeNpy, writeNpz, type ModelInputSpec } from '../../src/data';
import { DataError } from '../../src/errors';
import { allBatches, tempDir } from './helpers';

// Made once with numpy 2.4 (the tests do not need Python):
//   np.savez_compressed(f, x=np.arange(12, dtype=np.float32).reshape(1,3,2,2), mask=np.array([[1,2,3]], dtype=np.int64))
const NUMPY_COMPRESSED = 'UEsDBC0AAAAIAAAAIQDbSFEw//////////8FABQAeC5ucHkBABAAsAAAAAAAAABqAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TZqKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GoY6CsY6CkZApKmjUKtABuBiAIMGeyDhAERA3ADEC4D4ABA/AGIGRwYGASBWAGIDRwBQSwMELQAAAAgAAAAhAJXuRtz//////////wgAFABtYXNrLm5weQEAEACYAAAAAAAAAE8AAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNpoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkahjoKxpo6CrUKZAMuRgYIYILSzFAaAFBLAQItAy0AAAAIAAAAIQDbSFEwagAAALAAAAAFAAAAAAAAAAAAAACAAQAAAAB4Lm5weVBLAQItAy0AAAAIAAAAIQCV7kbcTwAAAJgAAAAIAAAAAAAAAAAAAACAAaEAAABtYXNrLm5weVBLBQYAAAAAAgACAGkAAAAqAQAAAAA=';
//   np.savez(f, x=np.asfortranarray(np.arange(12, dtype=np.float16).reshape(3,2,2)*0.5), mask=np.array([[7,8,9]], dtype=np.int32))
const NUMPY_STORED = 'UEsDBC0AAAAAAAAAIQCyQ949//////////8FABQAeC5ucHkBABAAmAAAAAAAAACYAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxmMicsICdmb3J0cmFuX29yZGVyJzogVHJ1ZSwgJ3NoYXBlJzogKDMsIDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKAAAAQABEADwAQgBFADgAQYBEAD4AQ4BFUEsDBC0AAAAAAAAAIQDMN4Dx//////////8IABQAbWFzay5ucHkBABAAjAAAAAAAAACMAAAAAAAAAJNOVU1QWQEAdgB7J2Rlc2NyJzogJzxpNCcsICdmb3J0cmFuX29yZGVyJzogRmFsc2UsICdzaGFwZSc6ICgxLCAzKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAKBwAAAAgAAAAJAAAAUEsBAi0DLQAAAAAAAAAhALJD3j2YAAAAmAAAAAUAAAAAAAAAAAAAAIABAAAAAHgubnB5UEsBAi0DLQAAAAAAAAAhAMw3gPGMAAAAjAAAAAgAAAAAAAAAAAAAAIABzwAAAG1hc2subnB5UEsFBgAAAAACAAIAaQAAAJUBAAAAAA==';
//   np.save(f, np.asfortranarray(np.arange(6, dtype='>f8').reshape(2,3)))
const NUMPY_NPY = 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAEAIAAAAAAAAP/AAAAAAAABAEAAAAAAAAEAAAAAAAAAAQBQAAAAAAAA=';

const inputs: ModelInputSpec[] = [
  { name: 'x', type: 'float32', dims: ['N', 3, 2, 2] },
  { name: 'mask', type: 'int64', dims: ['N', 3] },
];

describe('npz', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  test('numpy savez_compressed (deflate, ZIP64 local headers): one file = one multi-input sample', async () => {
    t.write('np/c.npz', Buffer.from(NUMPY_COMPRESSED, 'base64'));
    const [b] = await allBatches(await openData({ data: 'np/c.npz' }, inputs, t.dir));
    expect(b!.feeds.x).toEqual({ type: 'float32', dims: [1, 3, 2, 2], data: Float32Array.from({ length: 12 }, (_, i) => i) });
    expect(b!.feeds.mask).toEqual({ type: 'int64', dims: [1, 3], data: new BigInt64Array([1n, 2n, 3n]) });
  });

  test('numpy savez (stored), Fortran-ordered float16 fed to float32, int32 widened to int64', async () => {
    t.write('np/s.npz', Buffer.from(NUMPY_STORED, 'base64'));
    const [b] = await allBatches(await openData({ data: 'np/s.npz' }, inputs, t.dir));
    expect(b!.feeds.x!.dims).toEqual([1, 3, 2, 2]); // batch dim added
    expect(Array.from(b!.feeds.x!.data as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i * 0.5));
    expect(b!.feeds.mask!.data).toEqual(new BigInt64Array([7n, 8n, 9n]));
  });

  test('numpy np.save: big-endian float64 in Fortran order', () => {
    const { header, data } = readNpy(Buffer.from(NUMPY_NPY, 'base64'));
    expect(header).toMatchObject({ dtype: 'float64', littleEndian: false, fortranOrder: true, shape: [2, 3] });
    expect(Array.from(data as Float64Array)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test.each([false, true])('writeNpz round trip (compress=%s), batched from a directory', async (compress) => {
    for (let i = 0; i < 3; i++) {
      t.write(`w${compress}/${i}.npz`, writeNpz({
        x: writeNpy(Float32Array.from({ length: 12 }, (_, k) => i * 100 + k), [1, 3, 2, 2], 'float32'),
        mask: writeNpy(new BigInt64Array([BigInt(i), 1n, 2n]), [1, 3], 'int64'),
      }, { compress }));
    }
    const bs = await allBatches(await openData({ data: `w${compress}`, batchSize: 2 }, inputs, t.dir));
    expect(bs.map((b) => b.feeds.x!.dims)).toEqual([[2, 3, 2, 2], [1, 3, 2, 2]]);
    expect((bs[0]!.feeds.x!.data as Float32Array)[12]).toBe(100);
    expect(bs[1]!.feeds.mask!.data).toEqual(new BigInt64Array([2n, 1n, 2n]));
  });

  test('positional arrays (np.savez(f, a, b) → arr_0, arr_1) feed the inputs in order', async () => {
    t.write('pos/a.npz', writeNpz({ arr_1: writeNpy([4, 5, 6], [1, 3], 'int64'), arr_0: writeNpy(new Float32Array(12), [1, 3, 2, 2], 'float32') }));
    const [b] = await allBatches(await openData({ data: 'pos' }, inputs, t.dir));
    expect(b!.feeds.mask!.data).toEqual(new BigInt64Array([4n, 5n, 6n]));
  });

  test('a big deflated member: only its header is inflated up front', async () => {
    const big = Float32Array.from({ length: 3 * 64 * 64 }, (_, i) => Math.sin(i));
    t.write('big/a.npz', writeNpz({ x: writeNpy(big, [1, 3, 64, 64], 'float32'), mask: writeNpy([1, 2, 3], [1, 3], 'int64') }, { compress: true }));
    const d = await openData({ data: 'big' }, [{ ...inputs[0]!, dims: ['N', 3, 64, 64] }, inputs[1]!], t.dir);
    const [b] = await allBatches(d);
    expect(b!.feeds.x!.data).toEqual(big);
  });

  test('errors name the file and the member', async () => {
    const good = writeNpz({ x: writeNpy(new Float32Array(12), [1, 3, 2, 2], 'float32'), mask: writeNpy([1, 2, 3], [1, 3], 'int64') });
    const bad = async (name: string, bytes: Uint8Array, re: RegExp, ins = inputs): Promise<void> => {
      const p = t.write(`bad/${name}`, bytes);
      const err = await openData({ data: p }, ins, t.dir).then(allBatches).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(re);
    };
    await bad('trunc.npz', good.subarray(0, good.length - 30), /trunc\.npz: not a zip\/\.npz file, or truncated/);
    await bad('missing.npz', writeNpz({ x: writeNpy(new Float32Array(12), [1, 3, 2, 2], 'float32') }), /missing\.npz: no data for input 'mask'/);
    await bad('extra.npz', writeNpz({ x: writeNpy(new Float32Array(12), [1, 3, 2, 2], 'float32'), mask: writeNpy([1, 2, 3], [1, 3], 'int64'), y: writeNpy([1], [1], 'int64') }), /extra\.npz\[y\]: 'y' is not a model input/);
    await bad('dims.npz', writeNpz({ x: writeNpy(new Float32Array(8), [1, 2, 2, 2], 'float32'), mask: writeNpy([1, 2, 3], [1, 3], 'int64') }), /dims\.npz\[x\]: input 'x' expects \[N, 3, 2, 2\], found \[1, 2, 2, 2\]/);
    const corrupt = Buffer.from(good);
    corrupt[180] = corrupt[180]! ^ 0xff; // inside x's payload: found by the CRC when the batch loads
    await bad('crc.npz', corrupt, /crc\.npz\[x\.npy\]: CRC mismatch/);
  });
});
