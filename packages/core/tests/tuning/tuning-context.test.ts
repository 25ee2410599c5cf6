/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
import { createTuningContext, buildOpModel, fakeQuantActivation, fakeQuantWeightPerChannel } from '../../src/tuning';
import { indexGraph } from '../../src/onnx/graph-index';
import { tensorToFloat32 } from '../../src/onnx/model';
import { openData } from '../../src/data';
import { silentLogger } from '../../src/logger';
import { conv1x1, makeModel, node, rng, samplesOf } from './models';

const W1 = [[0.3], [-0.77]];
const W2 = [[0.9, -0.4]];
/** x → conv1 (1→2 channels) → c → relu → r → conv2 (2→1) → y */
const model = makeModel([...conv1x1('conv1', 'x', 'c', W1), node('Relu', ['c'], ['r'], 'relu'), ...conv1x1('conv2', 'r', 'y', W2)], ['x'], ['y']);
const index = indexGraph(model);
const W = 64;
const rand = rng(7);
const samples = Array.from({ length: 8 }, () => Float32Array.from({ length: W }, () => (rand() * 2 - 1) * 3));
samples[1]![5] = 20; // an outlier in a tune sample

function refDistance(xs: Float32Array[], T: number): number {
  // conv2 on r = relu(conv1(x)): FP32 reference vs fake-quant r at T with int8 per-channel W2.
  const w2q = fakeQuantWeightPerChannel(Float32Array.from(W2.flat()), [1, 2, 1, 1], 0);
  let sum = 0;
  for (const x of xs) {
    const r0 = Float32Array.from(x, (v) => Math.max(0, Math.fround(W1[0]![0]! * v)));
    const r1 = Float32Array.from(x, (v) => Math.max(0, Math.fround(W1[1]![0]! * v)));
    const q0 = fakeQuantActivation(r0, T);
    const q1 = fakeQuantActivation(r1, T);
    let sq = 0;
    let l1 = 0;
    for (let i = 0; i < x.length; i++) {
      const ref = W2[0]![0]! * r0[i]! + W2[0]![1]! * r1[i]!;
      const out = w2q[0]! * q0[i]! + w2q[1]! * q1[i]!;
      sq += (ref - out) ** 2;
      l1 += Math.abs(ref);
    }
    sum += Math.sqrt(sq) / l1;
  }
  return sum / xs.length;
}

async function context(tuneNum: number, maxBatchFloats?: number, pointwise?: boolean, probes?: boolean) {
  const data = await openData({ data: samplesOf(samples) }, [{ name: 'x', type: 'float32', dims: [null, 1, 1, null] }]);
  return createTuningContext({
    model, index, data, tensors: index.calibratable, options: { tuneNum }, logger: silentLogger, ...(maxBatchFloats ? { maxBatchFloats } : {}),
    ...(pointwise === undefined ? {} : { pointwise }), ...(probes === undefined ? {} : { probes }),
  });
}

describe('createTuningContext', () => {
  it('cuts a consumer op out with its weight fake-quantized int8 per output channel', () => {
    const op = buildOpModel(model, index, index.nodeNames.indexOf('conv2'));
    if ('skip' in op) throw new Error(op.skip);
    expect(op.activationInputs).toEqual(['r']);
    expect(op.outputs).toEqual(['y']);
    expect(op.quantizedWeights).toEqual([{ name: 'conv2_w', axis: 0 }]);
    const wNode = op.model.graph!.node.find((n) => n.output[0] === 'conv2_w')!;
    const w = tensorToFloat32(wNode.attribute[0]!.t!);
    expect(w[0]).toBeCloseTo(0.9, 6);
    expect(w[1]).toBeCloseTo((-56 * 0.9) / 127, 6); // -0.4/0.9·127 = -56.44 → -56
    expect(op.batchable).toBe(true);
  });

  it('holds the first tuneNum samples and matches an independent computation of the distance', async () => {
    const ctx = await context(3);
    try {
      expect(ctx.numSamples).toBe(3);
      expect(ctx.consumers('r')).toEqual([{ name: 'conv2', opType: 'Conv' }]);
      expect(ctx.consumers('y')).toEqual([]);
      const thresholds = [1, 2.5, 6, 15.4];
      const d = await ctx.distances('r', 'conv2', thresholds);
      const expected = thresholds.map((T) => refDistance(samples.slice(0, 3), T));
      d.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
      expect(ctx.stats.runs).toBe(3); // all candidates of a sample in one stacked run
      await expect(ctx.distances('r', 'relu', [1])).rejects.toThrow(/not a runnable consumer/);
    } finally {
      await ctx.release();
    }
  });

  it('gives the same distances one candidate at a time as stacked', async () => {
    const a = await context(2);
    const b = await context(2, 1);
    try {
      const thresholds = [0.5, 3, 9];
      const da = await a.distances('r', 'conv2', thresholds);
      const db = await b.distances('r', 'conv2', thresholds);
      expect(a.stats.runs).toBe(2);
      expect(b.stats.runs).toBe(6);
      db.forEach((v, i) => expect(v).toBeCloseTo(da[i]!, 9));
      expect(da[0]!).toBeGreaterThan(da[2]!); // clipping the outlier at 0.5 costs more than rounding at 9
    } finally {
      await a.release();
      await b.release();
    }
  });

  it('runs only the op in onnxruntime (stack kernel around it) with the in-graph probe\'s distances up to summation order', async () => {
    const a = await context(3);
    const b = await context(3, undefined, undefined, true);
    const c = await context(3, 1, undefined, true);
    try {
      const thresholds = [0.5, 1.5, 3, 9, 20];
      for (const [tensor, consumer] of [['r', 'conv2'], ['x', 'conv1']] as const) {
        const da = await a.distances(tensor, consumer, thresholds);
        const db = await b.distances(tensor, consumer, thresholds);
        const dc = await c.distances(tensor, consumer, thresholds); // one candidate per probe run
        da.forEach((v, i) => {
          expect(Math.abs(v - db[i]!)).toBeLessThanOrEqual(1e-12 * db[i]!);
          expect(Math.abs(v - dc[i]!)).toBeLessThanOrEqual(1e-12 * dc[i]!);
        });
      }
      expect(a.stats.runs).toBe(6);
    } finally {
      for (const x of [a, b, c]) await x.release();
    }
  });

  it('evaluates elementwise consumers without a probe, with the probe\'s distances up to summation order', async () => {
    const a = await context(3);
    const b = await context(3, undefined, false);
    try {
      const thresholds = [0.5, 3, 9, 12];
      const da = await a.distances('c', 'relu', thresholds);
      const db = await b.distances('c', 'relu', thresholds);
      expect(a.stats).toMatchObject({ runs: 0, pointwise: 3 });
      expect(b.stats).toMatchObject({ runs: 3, pointwise: 0 });
      da.forEach((v, i) => expect(Math.abs(v - db[i]!)).toBeLessThanOrEqual(1e-12 * db[i]!));
      expect(da[0]!).toBeGreaterThan(da[2]!); // clipping the outlier at 0.5 costs more than rounding at 9
    } finally {
      await a.release();
      await b.release();
    }
  });

  it('evaluates the elementwise pairs and the op runs\' distances on a worker thread with the in-thread sums bit for bit', async () => {
    process.env.QCAL_TEST_TUNE_WORKER = '1'; // the built worker script (tsc -b runs before jest)
    const lines: string[] = [];
    const logger = { ...silentLogger, info: (m: string) => { lines.push(m); } };
    const make = async (pointwiseWorker: boolean) => createTuningContext({
      model, index, data: await openData({ data: samplesOf(samples) }, [{ name: 'x', type: 'float32', dims: [null, 1, 1, null] }]),
      tensors: index.calibratable, options: { tuneNum: 3 }, logger, pointwiseWorker,
    });
    const a = await make(true);
    const b = await make(false);
    try {
      const requests = [
        { tensor: 'c', consumer: 'relu', thresholds: [0.5, 3, 9, 12] },
        { tensor: 'r', consumer: 'conv2', thresholds: [1, 6] },
        { tensor: 'x', consumer: 'conv1', thresholds: [3, 20] },
      ];
      const da = await a.distancesMany(requests);
      expect(lines.some((l) => /elementwise pairs evaluated in WebAssembly on a worker thread/.test(l))).toBe(true);
      const db = await b.distancesMany(requests);
      expect(da).toEqual(db);
      // Without conv1's pair, relu's input c is needed by the worker alone: moved there, not copied.
      const only = [requests[0]!, requests[1]!];
      expect(await a.distancesMany(only)).toEqual(await b.distancesMany(only));
      expect(a.stats).toMatchObject({ pointwise: 6, runs: b.stats.runs, diffsInWorker: a.stats.runs }); // every op run's distance computed there too
      expect(b.stats.diffsInWorker).toBe(0);
      expect(b.stats.pointwise).toBe(6);
    } finally {
      delete process.env.QCAL_TEST_TUNE_WORKER;
      await a.release();
      await b.release();
    }
  });

  it('answers many (tensor, consumer) questions in one pass over the samples, as separate calls would', async () => {
    const ctx = await context(3);
    try {
      const many = await ctx.distancesMany([
        { tensor: 'r', consumer: 'conv2', thresholds: [1, 6] },
        { tensor: 'x', consumer: 'conv1', thresholds: [3, 20] },
        { tensor: 'c', consumer: 'relu', thresholds: [] },
      ]);
      expect(many[2]).toEqual([]);
      const r = await ctx.distances('r', 'conv2', [1, 6]);
      const x = await ctx.distances('x', 'conv1', [3, 20]);
      many[0]!.forEach((v, i) => expect(v).toBeCloseTo(r[i]!, 12));
      many[1]!.forEach((v, i) => expect(v).toBeCloseTo(x[i]!, 12));
    } finally {
      await ctx.release();
    }
  });

  it('feeds the other activation input of a two-input op its FP32 reference', async () => {
    // x → relu → a;  x → sigmoid → b;  add(a, b) → y
    const m = makeModel([node('Relu', ['x'], ['a'], 'relu'), node('Sigmoid', ['x'], ['b'], 'sig'), node('Add', ['a', 'b'], ['y'], 'add')], ['x'], ['y']);
    const ix = indexGraph(m);
    const data = await openData({ data: samplesOf(samples) }, [{ name: 'x', type: 'float32', dims: [null, 1, 1, null] }]);
    const ctx = await createTuningContext({ model: m, index: ix, data, tensors: ix.calibratable, options: { tuneNum: 1 }, logger: silentLogger });
    try {
      const [d] = await ctx.distances('a', 'add', [2]);
      const x = samples[0]!;
      const a = Float32Array.from(x, (v) => Math.max(0, v));
      const b = Float32Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
      const aq = fakeQuantActivation(a, 2);
      let sq = 0;
      let l1 = 0;
      for (let i = 0; i < x.length; i++) { sq += (a[i]! - aq[i]!) ** 2; l1 += Math.abs(a[i]! + b[i]!); }
      expect(d).toBeCloseTo(Math.sqrt(sq) / l1, 6);
    } finally {
      await ctx.release();
    }
  });

  it('skips consumers with subgraphs', async () => {
    const branch = (out: string) => ({ name: 'b', node: [node('Identity', ['x'], [out], `id_${out}`)], initializer: [], input: [], output: [{ name: out, type: { tensorType: { elemType: 1 } } }], valueInfo: [] });
    const m = makeModel([
      node('Relu', ['x'], ['r'], 'relu'),
      node('ReduceMax', ['r'], ['m'], 'rmax', [{ name: 'keepdims', type: 2, i: 0 }]),
      node('Greater', ['m', 'zero'], ['cond'], 'gt'),
      { opType: 'Constant', input: [], output: ['zero'], name: 'zc', attribute: [{ name: 'value', type: 4, t: { name: 'zero', dims: [], dataType: 1, rawData: new Uint8Array(4) } }] },
      node('If', ['cond'], ['o'], 'if', [{ name: 'then_branch', type: 5, g: branch('t') }, { name: 'else_branch', type: 5, g: branch('e') }]),
    ], ['x'], ['o']);
    // Constant first: graph order must be topological.
    m.graph!.node.unshift(m.graph!.node.splice(3, 1)[0]!);
    const ix = indexGraph(m);
    const op = buildOpModel(m, ix, ix.nodeNames.indexOf('if'));
    expect('skip' in op && op.skip).toBe('has a subgraph');
  });
});
