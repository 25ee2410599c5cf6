/**
 * Non-finite activations through the whole runner: NaN and ±Infinity are left out of every range
 * and counted per element, also on the in-graph min/max path (onnxruntime's ReduceMin/ReduceMax
 * skip a NaN that is not the first value and return ±Infinity as an extreme).
 */
import { calibrate, loadCollectors, encodeModel, type OnnxModel, type DataSource } from '@qcal/core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { squareReluModel } from '../../../../test-support/tiny-model';

const W = 8;
const model = (): OnnxModel => squareReluModel(W);

const BATCHES = [
  [0.5, -4.5, 1, 2, -3, 0.25, 1.5, -1],
  [1, 2, 3, NaN, 1e20, -2, NaN, 0.5], // NaN not first: ReduceMin/Max would skip it; 1e20² = +Inf
  [-Infinity, 1, 2, 3, 4, 5, 6, 7],
  [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
];

function source(): DataSource {
  return { async *[Symbol.asyncIterator]() { for (const b of BATCHES) yield { x: { type: 'float32' as const, data: Float32Array.from(b), dims: [1, W] } }; } };
}

test('minmax (in-graph) and the histogram collectors leave NaN/±Infinity out and count them per element', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-nonfinite-'));
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, encodeModel(model()));
  const { collectors, registry } = loadCollectors(['minmax', ['entropy', { mode: 'tensorrt', threads: 1 }], 'ifmr', 'hfmg'], { configDir: dir, cwd: dir });
  const res = await calibrate({ model: file, data: { data: source(), batchSize: 1 }, collectors, registry });
  const mm = res.results[0]!.table.tensors;
  // x: finite values of all batches; NaN ×2, -Inf ×1.
  expect([mm.x!.min, mm.x!.max]).toEqual([-4.5, Math.fround(1e20)]);
  expect(mm.x!.nanCount).toBe(2);
  expect(mm.x!.infCount).toBe(1);
  // y = x²: batch 2 has NaN ×2 and +Inf (1e20²); batch 3: (-Inf)² = +Inf. Smallest 0.1², largest 7².
  expect([mm.y!.min, mm.y!.max]).toEqual([Math.fround(Math.fround(0.1) * Math.fround(0.1)), 49]);
  expect(mm.y!.nanCount).toBe(2);
  expect(mm.y!.infCount).toBe(2);
  expect(mm.z!.nanCount).toBe(2);
  expect(mm.z!.infCount).toBe(2);
  for (const r of res.results) {
    for (const [name, t] of Object.entries(r.table.tensors)) {
      expect(Number.isFinite(t.min) && Number.isFinite(t.max) && t.min <= t.max).toBe(true);
      expect({ c: r.label, name, nan: t.nanCount }).toEqual({ c: r.label, name, nan: 2 });
      // ifmr/hfmg also count values beyond 2^100 as overflowed: 1e20 is not.
      expect({ c: r.label, name, inf: t.infCount }).toEqual({ c: r.label, name, inf: name === 'x' ? 1 : 2 });
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
