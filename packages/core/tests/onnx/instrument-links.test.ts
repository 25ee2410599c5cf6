/**
 * The range chain over several Concat links (8 reduced tensors per link, with the derived ones
 * between them): exact packed statistics in plan order, and each tensor's reductions still run
 * right after it (before the op that reads it), in every link.
 */
import * as ort from 'onnxruntime-node';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataType, encodeModel, instrumentModel, type OnnxModel, type OnnxNode } from '@qcal/core';

const N = 64;
const STEPS = 30;
const node = (opType: string, input: string[], output: string[]): OnnxNode => ({ opType, input, output, name: `n_${output[0]}`, attribute: [] });
const vi = (n: string, dims?: number[]) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, ...(dims ? { shape: { dim: dims.map((d) => ({ dimValue: d })) } } : {}) } } });

/** t0 = x; t_k = Add(t_{k-1}, x), Mul(t_{k-1}, x) or Relu(t_{k-1}) (derived), in turn. */
function chain(): { model: OnnxModel; ops: string[] } {
  const ops = Array.from({ length: STEPS }, (_, k) => ['Add', 'Mul', 'Relu'][k % 3]!);
  const nodes = ops.map((op, k) => node(op, op === 'Relu' ? [k ? `t${k}` : 'x'] : [k ? `t${k}` : 'x', 'x'], [`t${k + 1}`]));
  return {
    ops,
    model: {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: { name: 'g', node: nodes, initializer: [], input: [vi('x', [1, N])], output: [vi(`t${STEPS}`)], valueInfo: [] },
    } as OnnxModel,
  };
}

/** The tensors' values as onnxruntime computes them (one float32 operation each). */
function reference(x: Float32Array, ops: string[]): Float32Array[] {
  const out = [x];
  for (const op of ops) {
    const p = out[out.length - 1]!;
    out.push(p.map((v, i) => (op === 'Add' ? Math.fround(v + x[i]!) : op === 'Mul' ? Math.fround(v * x[i]!) : Math.max(v, 0))));
  }
  return out;
}

const X = Float32Array.from({ length: N }, (_, i) => Math.fround(Math.sin(i * 1.7) * 0.9));

test('a chain of several links: exact statistics and each reduction right after its tensor', async () => {
  const { model, ops } = chain();
  const range = ['x', ...ops.map((_, k) => `t${k + 1}`)];
  const inst = instrumentModel(model, { full: [], range });
  const entries = inst.packedRange!.entries;
  const reduced = entries.filter((e) => !e.derived).map((e) => e.tensor);
  // Every Relu output derived from its source; 21 reduced tensors: 3 links (8 + 8 + 5).
  expect(entries.filter((e) => e.derived).map((e) => e.tensor)).toEqual(ops.flatMap((op, k) => (op === 'Relu' ? [`t${k + 1}`] : [])));
  expect(reduced).toHaveLength(21);
  expect(inst.model.graph!.node.filter((n) => n.opType === 'Concat')).toHaveLength(3);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-links-'));
  try {
    const session = await ort.InferenceSession.create(encodeModel(inst.model), { enableProfiling: true, profileFilePrefix: path.join(dir, 'p'), graphOptimizationLevel: 'all' });
    const out = await session.run({ x: new ort.Tensor('float32', X, [1, N]) }, inst.fetches as string[]);
    session.endProfiling();
    await session.release();
    const packed = out[inst.packedRange!.output]!.data as Float32Array;
    const ref = reference(X, ops);
    const stats = new Map<string, [number, number]>();
    for (const e of entries) {
      const v = ref[range.indexOf(e.tensor)]!;
      let got: [number, number];
      if (e.derived) got = e.derived.map(...stats.get(e.derived.source)!);
      else got = [packed[e.offset]!, packed[e.offset + 1]!];
      stats.set(e.tensor, got);
      expect({ t: e.tensor, got }).toEqual({ t: e.tensor, got: [Math.min(...v), Math.max(...v)] });
    }
    // Execution order: a tensor's statistics before the op that reads it.
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'))!;
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { cat: string; name: string }[];
    const order = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.name.replace(/_kernel_time$/, ''));
    const at = (name: string): number => {
      const i = order.indexOf(name);
      if (i < 0) throw new Error(`node ${name} did not run`);
      return i;
    };
    for (let k = 0; k < STEPS; k++) {
      const t = k ? `t${k}` : 'x';
      const stat = inst.model.graph!.node.filter((n) => /^(Reduce(Min|Max|Sum)|Slice)$/.test(n.opType) && n.input[0] === `${t}__qcal_flat`).map((n) => n.name!);
      expect(stat.length).toBeGreaterThan(0);
      for (const s of stat) expect({ t, s, ok: at(s) < at(`n_t${k + 1}`) }).toEqual({ t, s, ok: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
