import { openData, writeNpy, type ModelInputSpec } from '../../src/data';
import { DataError } from '../../src/errors';
import { allBatches, tempDir } from './helpers';

const img: ModelInputSpec = { name: 'x', type: 'float32', dims: ['N', 3, 2, 'W'] };
const f32 = (n: number, v: (i: number) => number = (i) => i): Float32Array => Float32Array.from({ length: n }, (_, i) => v(i));

describe('directory and list sources', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  test('a directory is searched recursively in code-point order of relative paths', async () => {
    const root = 'dir1';
    for (const rel of ['b.npy', 'a/z.npy', 'B.npy', 'a.npy', 'é.npy', 'sub/deeper/c.npy']) {
      t.write(`${root}/${rel}`, writeNpy(f32(6), [1, 3, 2, 1], 'float32'));
    }
    t.write(`${root}/notes.txt`, 'ignored');
    t.write(`${root}/.hidden.npy`, 'ignored too');
    const d = await openData({ data: root }, [img], t.dir);
    expect(d.count).toBe(6);
    const ids = (await allBatches(d)).flatMap((b) => b.ids).map((p) => p.slice(t.dir.length + root.length + 2));
    expect(ids).toEqual(['B.npy', 'a.npy', 'a/z.npy', 'b.npy', 'sub/deeper/c.npy', 'é.npy']);
    expect(d.describe).toMatch(/6 \.npy; 1 other files ignored/);
  });

  test('batchSize stacks samples of equal shape; differing widths run as separate batches', async () => {
    const widths = [4, 4, 6, 4, 6];
    const lines = widths.map((w, i) => t.write(`dyn/s${i}.npy`, writeNpy(f32(3 * 2 * w, (k) => i * 1000 + k), [3, 2, w], 'float32')));
    t.write('dyn/list.txt', `# comment\n\n${lines.map((p) => p.slice(t.dir.length + 5)).join('\n')}\n`);
    const d = await openData({ data: 'dyn/list.txt', batchSize: 2 }, [img], t.dir);
    const batches = await allBatches(d);
    expect(batches.map((b) => [b.size, ...b.feeds.x!.dims])).toEqual([[2, 2, 3, 2, 4], [1, 1, 3, 2, 4], [2, 2, 3, 2, 6]]);
    expect(batches[0]!.ids.map((s) => s.slice(-6))).toEqual(['s0.npy', 's1.npy']);
    const x = batches[0]!.feeds.x!.data as Float32Array;
    expect(x[0]).toBe(0);
    expect(x[24]).toBe(1000); // second sample starts after 3*2*4 elements
    expect(batches[1]!.ids[0]).toMatch(/s3\.npy$/);
  });

  test('numSamples, seeded shuffle and contiguous shards', async () => {
    for (let i = 0; i < 10; i++) t.write(`many/${String(i).padStart(2, '0')}.npy`, writeNpy(f32(6, () => i), [3, 2, 1], 'float32'));
    const idsOf = async (o: object): Promise<number[]> =>
      (await allBatches(await openData({ data: 'many', ...o }, [img], t.dir))).map((b) => (b.feeds.x!.data as Float32Array)[0]!);
    expect(await idsOf({ numSamples: 3 })).toEqual([0, 1, 2]);
    const s1 = await idsOf({ shuffle: true, seed: 7, numSamples: 5 });
    expect(s1).toEqual(await idsOf({ shuffle: true, seed: 7, numSamples: 5 }));
    expect(s1).not.toEqual(await idsOf({ shuffle: true, seed: 8, numSamples: 5 }));
    expect(new Set(s1).size).toBe(5);
    const shards = [];
    for (let i = 1; i <= 3; i++) shards.push(await idsOf({ shard: { index: i, count: 3 } }));
    expect(shards).toEqual([[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]);
    const a = await openData({ data: 'many', shard: { index: 2, count: 3 } }, [img], t.dir);
    expect(a.count).toBe(3);
    const b = await openData({ data: 'many', shard: { index: 2, count: 3 } }, [img], t.dir);
    const c = await openData({ data: 'many', shard: { index: 1, count: 3 } }, [img], t.dir);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
  });

  test('multi-input list file: comma-separated, relative to the list file', async () => {
    t.write('multi/a/x0.npy', writeNpy(f32(6), [1, 3, 2, 1], 'float32'));
    t.write('multi/a/m0.npy', writeNpy(new Int32Array([1, 2, 3]), [3], 'int32'));
    t.write('multi/list.txt', 'a/x0.npy, a/m0.npy\n');
    const inputs: ModelInputSpec[] = [img, { name: 'mask', type: 'int64', dims: ['N', 3] }];
    const [b] = await allBatches(await openData({ data: 'multi/list.txt' }, inputs, t.dir));
    expect(b!.feeds.mask).toEqual({ type: 'int64', data: new BigInt64Array([1n, 2n, 3n]), dims: [1, 3] });
    t.write('multi/bad.txt', 'a/x0.npy\n');
    await expect(openData({ data: 'multi/bad.txt' }, inputs, t.dir)).rejects.toThrow(/bad\.txt:1: 1 path for a model with 2 inputs \(x, mask\)/);
  });

  test('multi-input directory with one folder per input', async () => {
    for (const s of ['001', '002']) {
      t.write(`perinput/x/${s}.npy`, writeNpy(f32(6), [3, 2, 1], 'float32'));
      t.write(`perinput/mask/${s}.npy`, writeNpy(new Int32Array([1, 2, 3]), [3], 'int32'));
    }
    const inputs: ModelInputSpec[] = [img, { name: 'mask', type: 'int32', dims: ['N', 3] }];
    const d = await openData({ data: 'perinput', batchSize: 2 }, inputs, t.dir);
    const [b] = await allBatches(d);
    expect(b!.feeds.mask!.dims).toEqual([2, 3]);
    expect(b!.feeds.x!.dims).toEqual([2, 3, 2, 1]);
  });

  test('mismatches are caught before inference, naming the file and the input', async () => {
    const bad = async (file: string, bytes: Uint8Array, input: ModelInputSpec, re: RegExp): Promise<void> => {
      const p = t.write(`bad/${file}`, bytes);
      const err = await openData({ data: p }, [input], t.dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toContain(p);
    };
    await bad('rank.npy', writeNpy(f32(6), [6], 'float32'), img, /input 'x' expects rank 4 \[N, 3, 2, W\] \(or 3 without the batch dim\), found rank 1/);
    await bad('dim.npy', writeNpy(f32(8), [1, 4, 2, 1], 'float32'), img, /input 'x' expects \[N, 3, 2, W\], found \[1, 4, 2, 1\] \(dim 1 must be 3\)/);
    await bad('dtype.npy', writeNpy(f32(6), [1, 3, 2, 1], 'float32'), { ...img, type: 'int32' }, /input 'x' expects int32, found float32/);
    await bad('narrow.npy', writeNpy(new BigInt64Array(6), [1, 3, 2, 1], 'int64'), { ...img, type: 'int32' }, /expects int32, found int64/);
    const full = writeNpy(f32(6), [1, 3, 2, 1], 'float32');
    await bad('trunc.npy', full.subarray(0, full.length - 3), img, /truncated \.npy file/);
    await bad('garbage.npy', Buffer.from('not numpy at all'), img, /not a \.npy file/);
    await expect(openData({ data: 'nope' }, [img], t.dir)).rejects.toThrow(/data not found: .*nope/);
    t.write('empty/readme.md', 'x');
    await expect(openData({ data: 'empty' }, [img], t.dir)).rejects.toThrow(/no samples/);
    t.write('miss/list.txt', 'gone.npy\n');
    await expect(openData({ data: 'miss/list.txt' }, [img], t.dir)).rejects.toThrow(/list\.txt:1\).*gone\.npy|gone\.npy.*list\.txt:1/);
  });

  test('dtype conversion: lossless widening and float→float', async () => {
    t.write('conv/u8.npy', writeNpy(new Uint8Array([0, 1, 255, 3, 4, 5]), [1, 3, 2, 1], 'uint8'));
    const [b] = await allBatches(await openData({ data: 'conv/u8.npy' }, [img], t.dir));
    expect(Array.from(b!.feeds.x!.data as Float32Array)).toEqual([0, 1, 255, 3, 4, 5]);
    t.write('conv/f64.npy', writeNpy(new Float64Array([0.1, 1, 2, 3, 4, 5]), [1, 3, 2, 1], 'float64'));
    const [c] = await allBatches(await openData({ data: 'conv/f64.npy' }, [{ ...img, type: 'float16' }], t.dir));
    expect(c!.feeds.x!.type).toBe('float16');
    expect((c!.feeds.x!.data as Uint16Array)[1]).toBe(0x3c00);
  });

  test('fixed batch dim: default batchSize, and a clear error when a batch cannot fill it', async () => {
    for (let i = 0; i < 4; i++) t.write(`fixed/${i}.npy`, writeNpy(f32(6), [1, 3, 2, 1], 'float32'));
    const fixed: ModelInputSpec = { name: 'x', type: 'float32', dims: [2, 3, 2, 1] };
    const bs = await allBatches(await openData({ data: 'fixed' }, [fixed], t.dir));
    expect(bs.map((b) => b.feeds.x!.dims[0])).toEqual([2, 2]);
    await expect(openData({ data: 'fixed', numSamples: 3 }, [fixed], t.dir)).rejects.toThrow(/fixed batch dim of 2 .* has 1 row/);
  });

  test('programmatic DataSource', async () => {
    async function* source() {
      for (let i = 0; i < 5; i++) yield { x: { type: 'float32' as const, data: f32(6, () => i), dims: [1, 3, 2, i < 3 ? 1 : 1] } };
    }
    const d = await openData({ data: source(), batchSize: 2, numSamples: 4 }, [img]);
    expect(d.count).toBeUndefined();
    const bs = await allBatches(d);
    expect(bs.map((b) => b.size)).toEqual([2, 2]);
    expect(bs[1]!.ids).toEqual(['sample #2', 'sample #3']);
    async function* wrong() { yield { y: { type: 'float32' as const, data: f32(1), dims: [1] } }; }
    await expect(allBatches(await openData({ data: wrong() }, [img]))).rejects.toThrow(/sample #0 'y': 'y' is not a model input/);
  });
});
