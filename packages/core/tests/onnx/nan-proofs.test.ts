/**
 * NaN checks proven instead of reduced (onnx/nan-proofs.ts): which tensors get a proof, when a
 * proof fails at run time (a non-finite input, a bound that may overflow), and that tables with
 * proofs equal the min/max and non-finite counts of the full tensors onnxruntime computes — also
 * when a NaN arises inside the graph from finite inputs (an overflow, then ∞ − ∞).
 */
import * as ort from 'onnxruntime-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttributeType, DataType, calibrate, encodeModel, instrumentModel, loadCollectors, makeFloatTensor, type DataSource, type OnnxModel, type OnnxNode } from '@qcal/core';
import { nanProofs } from '../../src/onnx/nan-proofs';

const DIMS = [1, 2, 4, 4];
const node = (opType: string, input: string[], output: string, attribute: OnnxNode['attribute'] = []): OnnxNode => ({ opType, input, output: [output], name: `n_${output}`, attribute });
const vi = (n: string, dims?: number[]) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } } });

/** x → Conv → …: ops with a proof rule, ops without one, and a NaN made from finite values (z). */
function model(): OnnxModel {
  const k = (name: string, v: number) => makeFloatTensor(name, [], [v]);
  const w = Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => ((i * 5) % 7) / 7 - 0.4);
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        node('Conv', ['x', 'W', 'B'], 'c', [{ name: 'pads', type: AttributeType.INTS, ints: [1, 1, 1, 1] }]),
        node('Mul', ['c', 'half'], 'm'), // not calibrated: proven through its rule
        node('Add', ['m', 'c'], 'a'),
        node('GlobalAveragePool', ['a'], 'g'),
        node('GlobalAveragePool', ['m'], 'g2'), // a mean of a tensor not known to be non-empty
        node('HardSigmoid', ['g'], 'h'),
        node('Sqrt', ['a'], 'q'), // NaN from negative values: no rule
        node('Div', ['a', 'c'], 'dv'), // by a tensor (0/0): no rule
        node('Div', ['a', 'six'], 'dk'),
        node('BatchNormalization', ['c', 'S', 'B', 'M', 'V'], 'bn'),
        node('Mul', ['x', 'huge'], 'big'), // not calibrated; ±∞ for |x| > 3.4e8
        node('Sub', ['big', 'big'], 'z'), // ∞ − ∞ = NaN
      ],
      initializer: [
        makeFloatTensor('W', [2, 2, 3, 3], w), makeFloatTensor('B', [2], [0.25, -0.5]), k('half', 0.5), k('six', 6), k('huge', 1e30),
        makeFloatTensor('S', [2], [1.5, -2]), makeFloatTensor('M', [2], [0.1, -0.2]), makeFloatTensor('V', [2], [0.5, 2]),
      ],
      input: [vi('x', DIMS)],
      output: ['h', 'g2', 'q', 'dv', 'dk', 'bn', 'z'].map((n) => vi(n)),
      valueInfo: [],
    },
  } as OnnxModel;
}
const RANGE = ['x', 'c', 'a', 'g', 'g2', 'h', 'q', 'dv', 'dk', 'bn', 'z'];

test('which reduced tensors get a proof instead of a ReduceSum', () => {
  const p = nanProofs(model().graph!, RANGE, new Set(RANGE));
  // x: a graph input; g2: mean of a non-range tensor; q: Sqrt; dv: Div by a tensor.
  expect([...p.proven].sort()).toEqual(['a', 'bn', 'c', 'dk', 'g', 'h', 'z']);
  // Only reduced tensors drop their sum (derived ones have none).
  expect([...nanProofs(model().graph!, RANGE, new Set(['a'])).proven]).toEqual(['a']);
});

test('a proof holds for finite inputs with small bounds, fails for a non-finite input or a possible overflow', () => {
  const p = nanProofs(model().graph!, RANGE, new Set(RANGE));
  const check = (x: [number, number, number], c: [number, number, number] = [-1, 1, 0]) => {
    const stats = new Map<string, [number, number, number]>([['x', x], ['c', c]]);
    const ok = p.checker((t) => stats.get(t));
    return { c: ok('c'), a: ok('a'), z: ok('z'), x: ok('x') };
  };
  // x itself has no proof (its sum is its check).
  expect(check([-2, 3, 1])).toEqual({ c: true, a: true, z: true, x: false });
  // A NaN in x (its sum): nothing computed from it is proven.
  expect(check([-2, 3, NaN])).toEqual({ c: false, a: true, z: false, x: false });
  // a from c: c not finite, a not proven.
  expect(check([-2, 3, 1], [-1, Infinity, 0]).a).toBe(false);
  // |x| ≤ 1e7: x · 1e30 ≤ 1e37 may be near float32's limit, and big − big doubles it: no proof.
  expect(check([-1e7, 1, 0]).z).toBe(false);
  expect(check([-1e6, 1, 0]).z).toBe(true);
});

/** Deterministic values, with an overflowing batch (z = NaN where x·1e30 overflows), a NaN and an infinity in x. */
function batches(): Float32Array[] {
  let s = 11;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const n = DIMS.reduce((a, b) => a * b, 1);
  const out = Array.from({ length: 6 }, () => Float32Array.from({ length: n }, () => (r() - 0.5) * 2 ** (r() * 12 - 4)));
  out[2]![5] = 4e9; // x·1e30 = +∞ there: z = ∞ − ∞ = NaN at one place (a ReduceMin/Max would skip it)
  out[3]![9] = NaN;
  out[4]![0] = -Infinity;
  return out;
}

test('tables with proven NaN checks equal the full tensors\' min/max and non-finite counts', async () => {
  const m = model();
  const data = batches();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-nanproof-'));
  try {
    const file = path.join(dir, 'm.onnx');
    fs.writeFileSync(file, encodeModel(m));
    const source: DataSource = { async *[Symbol.asyncIterator]() { for (const x of data) yield { x: { type: 'float32' as const, data: x, dims: DIMS } }; } };
    const { collectors, registry } = loadCollectors(['minmax'], { configDir: dir, cwd: dir });
    // m and big stay uncalibrated: the proofs go through them.
    const res = await calibrate({ model: file, data: { data: source, batchSize: 1 }, collectors, registry, include: RANGE, session: { collectWorkers: 0, inferenceWorkers: 0 } });
    const table = res.results[0]!.table.tensors;
    expect(Object.keys(table).sort()).toEqual([...RANGE].sort());
    const inst = instrumentModel(m, { full: RANGE, range: [] });
    const session = await ort.InferenceSession.create(encodeModel(inst.model));
    const ref: Record<string, { min: number; max: number; nan: number; inf: number }> = {};
    for (const x of data) {
      const out = await session.run({ x: new ort.Tensor('float32', x, DIMS) }, inst.fetches as string[]);
      for (const t of RANGE) {
        const e = (ref[t] ??= { min: Infinity, max: -Infinity, nan: 0, inf: 0 });
        for (const v of out[t]!.data as Float32Array) {
          if (Number.isNaN(v)) e.nan++;
          else if (!Number.isFinite(v)) e.inf++;
          else { e.min = Math.min(e.min, v); e.max = Math.max(e.max, v); }
        }
      }
    }
    await session.release();
    // The overflow made NaN in z from finite x values (the case a proof must not miss).
    expect(ref.z!.nan).toBeGreaterThan(0);
    for (const t of RANGE) {
      const e = table[t]!;
      expect({ t, min: e.min, max: e.max, nan: e.nanCount ?? 0, inf: e.infCount ?? 0 }).toEqual({ t, ...ref[t]! });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
