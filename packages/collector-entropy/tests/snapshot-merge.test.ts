import { expectClose } from '@qcal/plugin-kit/testkit';
import { entropyCollector, type EntropyOptions } from '@qcal/collector-entropy';
import type { CalibrationCollector, TensorRange } from '@qcal/plugin-kit';
import { golden, goldenBatches } from '../../../test-support/paths';

const ctx = { tensors: [], logger: console as never };
const post = { tensors: [], samples: 0, batches: 0, logger: console as never };

function make(options: Partial<EntropyOptions>): CalibrationCollector {
  return entropyCollector.create({ ...entropyCollector.defaultOptions, ...options }, ctx);
}
function feed(c: CalibrationCollector, batches: Float32Array[]): void {
  for (const d of batches) void c.collect('t', 'op', { data: d, dims: [d.length] });
}
async function sharded(options: Partial<EntropyOptions>, shards: Float32Array[][]): Promise<TensorRange> {
  const merged = make(options);
  for (const shard of shards) {
    const c = make(options);
    feed(c, shard);
    merged.merge!(JSON.parse(JSON.stringify(c.snapshot!())));
  }
  return (await merged.postCollect(post)).t!;
}
async function single(options: Partial<EntropyOptions>, batches: Float32Array[]): Promise<TensorRange> {
  const c = make(options);
  feed(c, batches);
  return (await c.postCollect(post)).t!;
}

describe('snapshot / merge', () => {
  it('snapshots are plain JSON and survive a round trip', () => {
    const c = make({});
    feed(c, [Float32Array.from([1, -2, 3, NaN])]);
    const snap = c.snapshot!();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
  });

  // Shards whose first batches share the abs-max have the same grid: merging is exact, and the
  // grid growth of later batches is replayed from each shard's records.
  it.each(['mxnet', 'tensorrt'] as const)('%s: shards with a common first-batch range merge into exactly the single-run table', async (mode) => {
    const g = golden('entropy', 'growing_range');
    const b = goldenBatches(g);
    const clip = (d: Float32Array, lim: number) => d.map((v) => Math.max(-lim, Math.min(lim, v)));
    // Shard 1: clipped at ±1.5 (reaches the bound); shard 2: a clipped batch then the full-range ones.
    const s1 = [clip(b[0]!, 1.5), clip(b[1]!, 1.5)];
    const s2 = [clip(b[1]!, 1.5), b[2]!, b[3]!];
    const options = { mode, quantizedDtype: 'int8', numBins: mode === 'mxnet' ? 2001 : 512 } as const;
    const one = await single(options, [...s1, ...s2]);
    const two = await sharded(options, [s1, s2]);
    expect(two).toEqual(one);
  });

  it('shards with different grids merge approximately (counts move by at most one bin)', async () => {
    const g = golden('entropy', 'gaussian');
    const b = goldenBatches(g);
    const one = await single({ quantizedDtype: 'int8' }, b);
    const two = await sharded({ quantizedDtype: 'int8' }, [[b[0]!], [b[1]!, b[2]!]]);
    expect(two.numBins).toBe(one.numBins);
    expectClose(two.max, one.max, { rtol: 5e-3 });
  });

  it('a shard of only zeros, and the order zeros/data, merge like a single run', async () => {
    const data = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i * 0.37) * 2);
    const zeros = new Float32Array(500);
    const one = await single({ quantizedDtype: 'int8' }, [zeros, data]);
    const two = await sharded({ quantizedDtype: 'int8' }, [[zeros], [data]]);
    expect(two).toEqual(one);
    const three = await sharded({ quantizedDtype: 'int8' }, [[data], [zeros]]);
    expect(three).toEqual(await single({ quantizedDtype: 'int8' }, [data, zeros]));
  });

  it('refuses a snapshot taken with other options', () => {
    const a = make({ mode: 'tensorrt' });
    expect(() => make({}).merge!(a.snapshot!())).toThrow(/same options/);
  });
});
