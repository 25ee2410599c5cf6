/** @jest-environment ./packages/core/tests/tuning/ort-environment.js */
/**
 * The runner must hold no activations across batches (memory bounded by one batch, whatever the
 * data-set size), must hand collectors the batches in order, and must give the same tables
 * whatever the session settings (overlapped or sequential inference).
 *
 * Liveness is checked for real: the test collector keeps WeakRefs to every Float32Array it is
 * handed, and at the start of each batch forces a full GC (gc() exposed at runtime through
 * v8.setFlagsFromString) and counts how many arrays of earlier batches are still alive. A control
 * array pinned by the test itself must survive the same GC, so the check cannot pass vacuously.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DataType, encodeModel, defineCollector, prepareCalibration, collectPass, finishCalibration, loadCollectors,
  type OnnxModel, type OnnxNode, type ResolvedCollector, type CalibrationCollector, type DataSource, type SessionSettings,
} from '@qcal/core';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const W = 4096;
const node = (opType: string, input: string[], output: string[]): OnnxNode => ({ opType, input, output, name: `${opType}_${output[0]}`, attribute: [] });
/** x → Relu → a → Sigmoid → b ; y = a + b ; z = Neg(y): four float activations per sample. */
function tinyModel(): OnnxModel {
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }, { dimValue: 1 }, { dimValue: W }] } } } });
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: { name: 'g', node: [node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['b']), node('Add', ['a', 'b'], ['y']), node('Neg', ['y'], ['z'])], initializer: [], input: [vi('x')], output: [vi('z')], valueInfo: [] },
  } as OnnxModel;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}
function source(n: number): DataSource {
  return {
    async *[Symbol.asyncIterator]() {
      const r = rng(3);
      for (let i = 0; i < n; i++) yield { x: { type: 'float32' as const, data: Float32Array.from({ length: W }, () => (r() * 2 - 1) * (1 + i)), dims: [1, 1, 1, W] } };
    },
  };
}

interface Probe { batches: number; maxLiveEarlier: number; controlAlive: boolean[]; collected: number; order: number[]; sameArrayTwice: boolean }

/** A collector that watches what it is handed (see the file comment); min/max computed in JS. */
function watcher(probe: Probe, pinControl: boolean): ResolvedCollector {
  const definition = defineCollector({
    name: 'test/watch', apiVersion: 1, optionsSchema: {}, defaultOptions: {},
    create(_o, ctx): CalibrationCollector {
      const names = ctx.tensors.map((t) => t.name);
      const refs: WeakRef<Float32Array>[][] = [];
      const seen = new WeakSet<Float32Array>();
      let control: Float32Array | undefined;
      const ranges: Record<string, { min: number; max: number }> = {};
      return {
        async collect(name, _op, t) {
          if (name === names[0]) {
            // A new batch: let the runner's turn end, collect garbage, count survivors of earlier batches.
            await new Promise((r) => setImmediate(r));
            gc();
            let live = 0;
            for (const batch of refs) for (const w of batch) if (w.deref() && w.deref() !== control) live++;
            probe.maxLiveEarlier = Math.max(probe.maxLiveEarlier, live);
            if (control) probe.controlAlive.push(refs[0]!.some((w) => w.deref() === control));
            refs.push([]);
            probe.batches++;
          }
          if (seen.has(t.data)) probe.sameArrayTwice = true;
          seen.add(t.data);
          refs[refs.length - 1]!.push(new WeakRef(t.data));
          if (pinControl && !control) control = t.data;
          if (name === 'y') probe.order.push(t.data[0]!);
          let mn = Infinity;
          let mx = -Infinity;
          for (let i = 0; i < t.data.length; i++) { const v = t.data[i]!; if (v < mn) mn = v; if (v > mx) mx = v; }
          const r = ranges[name];
          ranges[name] = r ? { min: Math.min(r.min, mn), max: Math.max(r.max, mx) } : { min: mn, max: mx };
        },
        postCollect() {
          gc();
          probe.collected = refs.flat().filter((w) => !w.deref()).length;
          return ranges;
        },
      };
    },
  });
  return { name: 'test/watch', definition: definition as never, options: {}, source: 'bench/tests' };
}

let dir: string;
let modelFile: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-bench-'));
  modelFile = path.join(dir, 'tiny.onnx');
  fs.writeFileSync(modelFile, encodeModel(tinyModel()));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(collectors: ResolvedCollector[], n: number, session?: SessionSettings) {
  const prepared = await prepareCalibration({ model: modelFile, data: { data: source(n) }, collectors, ...(session ? { session } : {}) });
  const { instances, counts } = await collectPass(prepared);
  return finishCalibration(prepared, instances, counts);
}

describe('runner memory', () => {
  test.each([[{} as SessionSettings], [{ overlap: false } as SessionSettings]])('no activation of an earlier batch is alive when the next batch is collected (%j)', async (session) => {
    const probe: Probe = { batches: 0, maxLiveEarlier: 0, controlAlive: [], collected: 0, order: [], sameArrayTwice: false };
    const res = await run([watcher(probe, true)], 6, session);
    expect(res.samples).toBe(6);
    expect(probe.batches).toBe(6);
    // The control (pinned by the collector itself) survives every GC: the liveness check works…
    expect(probe.controlAlive).toEqual([true, true, true, true, true]);
    // …and nothing the runner handed out earlier survives it.
    expect(probe.maxLiveEarlier).toBe(0);
    expect(probe.collected).toBeGreaterThanOrEqual(6 * 4 - 1 - 5);
    // A fresh array per tensor per batch (no buffer handed twice, which would alias batches).
    expect(probe.sameArrayTwice).toBe(false);
  });

  test('batches reach collectors in data order', async () => {
    const probe: Probe = { batches: 0, maxLiveEarlier: 0, controlAlive: [], collected: 0, order: [], sameArrayTwice: false };
    await run([watcher(probe, false)], 5);
    // y[0] = relu(x0) + sigmoid(relu(x0)) for each sample's first value x0, in data order.
    const r = rng(3);
    const expected = [0, 1, 2, 3, 4].map((i) => {
      const x0 = Math.fround((r() * 2 - 1) * (1 + i));
      for (let k = 1; k < W; k++) r();
      const a = Math.max(0, x0);
      return a + 1 / (1 + Math.exp(-a));
    });
    expect(probe.order).toHaveLength(5);
    probe.order.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  test('minmax tables (in-graph ReduceMin/ReduceMax) equal a full-tensor JS min/max, with and without overlap', async () => {
    const { collectors } = loadCollectors(['minmax'], { configDir: process.cwd(), cwd: process.cwd() });
    const tables: Record<string, unknown>[] = [];
    for (const session of [{}, { overlap: false }, { overlap: false, graphOptimizationLevel: 'disabled' }] as SessionSettings[]) {
      const probe: Probe = { batches: 0, maxLiveEarlier: 0, controlAlive: [], collected: 0, order: [], sameArrayTwice: false };
      const res = await run([...collectors, watcher(probe, false)], 7, session);
      const [mm, watch] = res.results;
      const strip = (t: Record<string, { min: number; max: number }>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, [v.min, v.max]]));
      expect(strip(mm!.table.tensors)).toEqual(strip(watch!.table.tensors));
      tables.push(strip(mm!.table.tensors));
    }
    expect(tables[1]).toEqual(tables[0]);
    expect(tables[2]).toEqual(tables[0]);
  });
});
