/**
 * Collect workers: built-in collectors on worker threads give exactly the tables of in-thread
 * collection (HFMG and MXNet entropy depend on batch order, so this also checks order), and a
 * collector error in a worker fails the run with the plugin named.
 */
import { DataType, calibrate, loadCollectors, encodeModel, type OnnxModel, type OnnxNode, type DataSource } from '@qcal/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

const W = 3000;
const node = (opType: string, input: string[], output: string[]): OnnxNode => ({ opType, input, output, name: `${opType}_${output[0]}`, attribute: [] });
function model(): OnnxModel {
  const vi = (n: string) => ({ name: n, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: W }] } } } });
  return {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [node('Relu', ['x'], ['a']), node('Sigmoid', ['x'], ['b']), node('Add', ['a', 'b'], ['y']), node('Mul', ['y', 'x'], ['z'])],
      initializer: [], input: [vi('x')], output: [vi('z')], valueInfo: [],
    },
  } as OnnxModel;
}

function source(n: number): DataSource {
  return {
    async *[Symbol.asyncIterator]() {
      let s = 7;
      const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
      // Growing ranges: later batches re-bin the histograms (order matters).
      for (let i = 0; i < n; i++) yield { x: { type: 'float32' as const, data: Float32Array.from({ length: W }, () => (r() * 2 - 1) * (1 + 0.1 * i)), dims: [1, W] } };
    },
  };
}

test('tables with collect workers equal in-thread collection', async () => {
  process.env.QCAL_TEST_COLLECT_WORKERS = '1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-workers-'));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, encodeModel(model()));
  const refs = ['minmax', ['entropy', { threads: 1 }], 'ifmr', 'hfmg'] as const;
  const tables = [];
  const hists = [];
  const logs: string[] = [];
  for (const collectWorkers of [0, 2]) {
    const { collectors, registry } = loadCollectors(refs as never, { configDir: dir, cwd: dir });
    const logger = { info: (m: string) => logs.push(m), warn: () => {}, debug: () => {} };
    // The report's histograms too (kept by the workers for the tensors they collect), every value and sampled.
    const res = await calibrate({ model: file, data: { data: source(6), batchSize: 1 }, collectors, registry, session: { collectWorkers }, logger, tensors: 'all', histograms: { stride: 2 } });
    tables.push(res.results.map((r) => [r.label, r.table.tensors]));
    hists.push(res.histograms!.tensors);
  }
  expect(logs.filter((m) => /worker/.test(m))).toEqual(['qcal: entropy, ifmr, hfmg collecting on 2 worker thread(s)']);
  expect(tables[1]).toEqual(tables[0]);
  // Same histograms, same (graph) order, each batch counted once: 6 batches of every 2nd block of 16 of 3000 values.
  expect(Object.keys(hists[1]!)).toEqual(Object.keys(hists[0]!));
  expect(hists[1]).toEqual(hists[0]);
  expect(hists[0]!.z!.values).toBe(6 * W);
  expect(hists[0]!.z!.count).toBe(6 * 1504);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('auto-tune collects in the workers and merges their state back for its postCollect: same tables', async () => {
  process.env.QCAL_TEST_COLLECT_WORKERS = '1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-workers-autotune-'));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, encodeModel(model()));
  for (const [base, moves] of [['mxnet', true], ['tpumlir', false]] as const) {
    const refs = [['autotune', { base: 'entropy', baseOptions: { threads: 1, mode: base }, tuneNum: 3 }]];
    const tables = [];
    const logs: string[] = [];
    for (const collectWorkers of [0, 2]) {
      const { collectors, registry } = loadCollectors(refs as never, { configDir: dir, cwd: dir });
      const logger = { info: (m: string) => logs.push(m), warn: () => {}, debug: () => {} };
      const res = await calibrate({ model: file, data: { data: source(6), batchSize: 1 }, collectors, registry, session: { collectWorkers }, logger, tensors: 'all' });
      tables.push(res.results.map((r) => [r.label, r.table.tensors]));
    }
    // tpu-mlir mode has no snapshot, so its auto-tune stays on the main thread.
    expect(logs.filter((m) => /worker/.test(m))).toEqual(moves ? ['qcal: autotune collecting on 2 worker thread(s) (autotune: state merged back on this thread for postCollect)'] : []);
    expect(Object.keys(tables[0]![0]![1] as object)).toHaveLength(5);
    expect(tables[1]).toEqual(tables[0]);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a plain node process (no other handles) runs to the end with collect workers', () => {
  // Regression: awaiting terminate() of unref'd workers let the event loop run empty and the
  // process exit 0 in the middle of postCollect, with no table. Run from the built package.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-workers-exit-'));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, encodeModel(model()));
  const core = path.resolve(__dirname, '..', '..', 'dist', 'index.js');
  const script = `
    const core = require(${JSON.stringify(core)});
    const { collectors, registry } = core.loadCollectors(['entropy', 'ifmr', 'hfmg'], { configDir: ${JSON.stringify(dir)}, cwd: ${JSON.stringify(dir)} });
    const data = { async *[Symbol.asyncIterator]() { for (let i = 0; i < 3; i++) yield { x: { type: 'float32', data: Float32Array.from({ length: ${W} }, (_, k) => Math.sin(k + i)), dims: [1, ${W}] } }; } };
    core.calibrate({ model: ${JSON.stringify(file)}, data: { data }, collectors, registry, session: { collectWorkers: 2 }, tensors: 'all' })
      .then((r) => console.log('tables', r.results.map((x) => Object.keys(x.table.tensors).length).join(',')));`;
  for (let run = 0; run < 3; run++) {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('tables 5,5,5');
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
