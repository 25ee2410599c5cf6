/**
 * The in-graph min/max instrumentation: one packed output, exact values (reduced or derived), and the execution order
 * that keeps onnxruntime fast (each tensor's reductions run right after it is computed, before its
 * other consumers, so that those may work in place; see `chainRanges` in instrument.ts).
 */
import * as ort from 'onnxruntime-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttributeType, DataType, encodeModel, instrumentModel, makeFloatTensor, type OnnxModel, type OnnxNode } from '@qcal/core';

const node = (opType: string, input: string[], output: string[], attribute: OnnxNode['attribute'] = []): OnnxNode => ({ opType, input, output, name: `n_${output[0]}`, attribute });

/** A float value info, with a shape when dims are given. */
const vi = (n: string, dims?: number[]) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } } });

/** x [2,3,4] → a = Relu(x) → b = a + c → s = ReduceSum(b) (a scalar) ; d = b · b → y = Sigmoid(d). */
function model(): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        node('Relu', ['x'], ['a']),
        node('Add', ['a', 'c'], ['b']),
        node('ReduceSum', ['b'], ['s'], [{ name: 'keepdims', type: AttributeType.INT, i: 0 }]),
        node('Mul', ['b', 'b'], ['d']),
        node('Sigmoid', ['d'], ['y']),
      ],
      initializer: [makeFloatTensor('c', [1], Float32Array.of(-0.5))],
      input: [vi('x', [2, 3, 4])],
      output: [vi('y'), vi('s')],
      valueInfo: [],
    },
  } as OnnxModel;
}

const RANGE = ['x', 'a', 'b', 's', 'd', 'y'];

function reference(x: Float32Array): Record<string, Float32Array> {
  const a = x.map((v) => Math.max(v, 0));
  const b = a.map((v) => Math.fround(v - 0.5));
  const d = b.map((v) => Math.fround(v * v));
  const y = d.map((v) => 1 / (1 + Math.exp(-v)));
  return { x, a, b, s: Float32Array.of(b.reduce((p, v) => p + v, 0)), d, y };
}

async function runPacked(derive: boolean, x: Float32Array, proveFinite = false) {
  const inst = instrumentModel(model(), { full: [], range: RANGE, derive, proveFinite });
  const session = await ort.InferenceSession.create(encodeModel(inst.model));
  const out = await session.run({ x: new ort.Tensor('float32', x, [2, 3, 4]) }, inst.fetches as string[]);
  await session.release();
  return { inst, packed: out[inst.fetches[0]!]! };
}

const X = Float32Array.from({ length: 24 }, (_, i) => (i * 7) % 11 - 4.25);

test('range tensors come back as one packed [min, max, sum] vector in plan order, equal to the values', async () => {
  const { inst, packed } = await runPacked(false, X);
  expect(inst.fetches).toHaveLength(1);
  expect(inst.packedRange?.entries.map((e) => [e.tensor, e.offset, !!e.derived])).toEqual(RANGE.map((t, k) => [t, 3 * k, false]));
  expect(packed.dims).toEqual([1, 3 * RANGE.length]);
  const ref = reference(X);
  RANGE.forEach((t, k) => {
    const v = ref[t]!;
    const got = (packed.data as Float32Array).slice(3 * k, 3 * k + 3);
    // min and max exactly (y: onnxruntime's sigmoid is an approximation); the sum (only a
    // non-finite detector) to float accuracy.
    if (t === 'y') expect([got[0]! - Math.min(...v), got[1]! - Math.max(...v)].map(Math.abs).every((e) => e < 1e-6)).toBe(true);
    else expect({ t, min: got[0], max: got[1] }).toEqual({ t, min: Math.min(...v), max: Math.max(...v) });
    expect(got[2]).toBeCloseTo(v.reduce((p, q) => p + q, 0), 3);
  });
});

test('Relu and Add-a-constant outputs are derived from their source\'s range, exactly, and keep a consumer', async () => {
  const { inst, packed } = await runPacked(true, X);
  const entries = inst.packedRange!.entries;
  // a = Relu(x) and b = a + c derived; s, d, y reduced (ReduceSum and Mul of two tensors, Sigmoid are not monotone maps of one range).
  expect(entries.map((e) => [e.tensor, e.offset, e.derived?.source ?? null])).toEqual([['x', 0, null], ['a', 3, 'x'], ['b', 4, 'a'], ['s', 5, null], ['d', 8, null], ['y', 11, null]]);
  expect(packed.dims).toEqual([1, 14]);
  const data = packed.data as Float32Array;
  const ref = reference(X);
  const [xmin, xmax] = [data[0]!, data[1]!];
  const [amin, amax] = entries[1]!.derived!.map(xmin, xmax);
  const [bmin, bmax] = entries[2]!.derived!.map(amin, amax);
  expect([amin, amax, bmin, bmax]).toEqual([Math.min(...ref.a!), Math.max(...ref.a!), Math.min(...ref.b!), Math.max(...ref.b!)]);
  // The derived tensors' slot holds their first value (the consumer that keeps fusion as it was).
  expect([data[3], data[4]]).toEqual([ref.a![0], ref.b![0]]);
});

test('onnxruntime runs each tensor\'s reductions right after the tensor, before its other consumers', async () => {
  const inst = instrumentModel(model(), { full: [], range: RANGE });
  expect(inst.packedRange!.entries.filter((e) => e.derived).map((e) => e.tensor)).toEqual(['a', 'b']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-instrument-'));
  try {
    const session = await ort.InferenceSession.create(encodeModel(inst.model), { enableProfiling: true, profileFilePrefix: path.join(dir, 'p'), graphOptimizationLevel: 'all' });
    await session.run({ x: new ort.Tensor('float32', new Float32Array(24).fill(1), [2, 3, 4]) }, inst.fetches as string[]);
    session.endProfiling();
    await session.release();
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'))!;
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string }[];
    const order = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.name.replace(/_kernel_time$/, ''));
    const at = (name: string): number => {
      const i = order.indexOf(name);
      if (i < 0) throw new Error(`node ${name} did not run: ${order.join(', ')}`);
      return i;
    };
    // The model's own consumers of each tensor, and the instrumentation's reductions of it (the
    // first-value Slice of a derived tensor).
    const consumers: Record<string, string[]> = { x: ['n_a'], a: ['n_b'], b: ['n_s', 'n_d'], d: ['n_y'] };
    const reductions = (t: string) => inst.model.graph!.node.filter((n) => /^(Reduce(Min|Max|Sum)|Slice)$/.test(n.opType) && n.input[0] === `${t}__qcal_flat`).map((n) => n.name!);
    // (d = b·b and y = Sigmoid(d) have proven NaN checks: min and max only; see nan-proofs.ts.)
    const count: Record<string, number> = { x: 3, a: 1, b: 1, d: 2 };
    for (const [t, users] of Object.entries(consumers)) {
      expect(reductions(t)).toHaveLength(count[t]!);
      for (const r of reductions(t)) for (const u of users) expect({ t, r, before: u, ok: at(r) < at(u) }).toEqual({ t, r, before: u, ok: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('tensors with a proven NaN check get min and max only (two slots), the others min, max and sum', async () => {
  const { inst, packed } = await runPacked(true, X, true);
  // x: a graph input; s = ReduceSum(b): no proof rule (kept); d = b·b and y = Sigmoid(d): proven.
  expect(inst.packedRange!.entries.map((e) => [e.tensor, e.offset, !!e.proven])).toEqual([['x', 0, false], ['a', 3, false], ['b', 4, false], ['s', 5, false], ['d', 8, true], ['y', 10, true]]);
  expect([...inst.packedRange!.proofs!.proven]).toEqual(['d', 'y']);
  expect(packed.dims).toEqual([1, 12]);
  const data = packed.data as Float32Array;
  const ref = reference(X);
  expect([data[8], data[9]]).toEqual([Math.min(...ref.d!), Math.max(...ref.d!)]);
  expect(Math.abs(data[11]! - Math.max(...ref.y!))).toBeLessThan(1e-6);
  expect(inst.model.graph!.node.filter((n) => n.opType === 'ReduceSum' && n.name?.includes('__qcal_')).map((n) => n.input[0]).sort()).toEqual(['s__qcal_flat', 'x__qcal_flat']);
});

test('a model with an If body keeps the plan\'s sampled (fast mode) tensors and derivation', () => {
  const branch = (name: string, op: string) => ({ name, node: [node(op, ['a'], [`${name}_o`])], initializer: [], input: [], output: [vi(`${name}_o`)], valueInfo: [] });
  const m = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        node('Relu', ['x'], ['a']),
        node('Add', ['a', 'c'], ['b']),
        node('ReduceSum', ['x'], ['s'], [{ name: 'keepdims', type: AttributeType.INT, i: 0 }]),
        node('Greater', ['s', 'c'], ['cond']),
        node('If', ['cond'], ['y'], [{ name: 'then_branch', type: AttributeType.GRAPH, g: branch('t', 'Sigmoid') }, { name: 'else_branch', type: AttributeType.GRAPH, g: branch('e', 'Tanh') }]),
      ],
      initializer: [makeFloatTensor('c', [], [0.5])],
      input: [vi('x', [1, 64])],
      output: [vi('y'), vi('b')],
      valueInfo: [],
    },
  } as OnnxModel;
  // Before: the plan was rebuilt from full/range only once inner tensors were lifted, and the
  // sampled tensor then got no output at all.
  const inst = instrumentModel(m, { full: ['t_o'], range: ['x', 'b'], sampled: ['a'] });
  expect([...inst.sampledOutputs.keys()]).toEqual(['a']);
  expect(inst.fullOutputs.has('t_o')).toBe(true);
  // b = a + c is not derived: its source a is sampled, not a range tensor.
  expect(inst.packedRange!.entries.map((e) => [e.tensor, e.derived?.source ?? null])).toEqual([['x', null], ['a', null], ['b', null]]);
});
