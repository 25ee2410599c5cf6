import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadModel, encodeModel, indexGraph, quantizedTensorNames } from '@qcal/core';
import { CLS_MODEL, REC_MODEL, REPO_ROOT } from '../../../test-support/paths';
import { qcal, tmpDir, writeSamples, readJson } from './helpers';

/**
 * Min/max of every float tensor from a plain onnxruntime run: each tensor exposed as a graph
 * output by name only, all samples run, min and max taken in JS. Independent of qcal's runner,
 * its in-graph reductions and its collectors.
 */
async function referenceMinMax(modelPath: string, samples: Float32Array[], dims: number[][]): Promise<Map<string, { min: number; max: number }>> {
  const { model } = loadModel(modelPath);
  const names = indexGraph(model).calibratable.map((t) => t.name);
  const existing = new Set(model.graph!.output.map((o) => o.name));
  for (const n of names) if (!existing.has(n)) model.graph!.output.push({ name: n });
  const session = await ort.InferenceSession.create(encodeModel(model));
  const ranges = new Map<string, { min: number; max: number }>();
  for (let s = 0; s < samples.length; s++) {
    const out = await session.run({ x: new ort.Tensor('float32', samples[s]!, dims[s]!) });
    for (const n of names) {
      const d = out[n]!.data as Float32Array;
      let mn = Infinity;
      let mx = -Infinity;
      for (const v of d) { if (v < mn) mn = v; if (v > mx) mx = v; }
      const r = ranges.get(n);
      ranges.set(n, r ? { min: Math.min(r.min, mn), max: Math.max(r.max, mx) } : { min: mn, max: mx });
    }
  }
  await session.release();
  return ranges;
}

function readSamples(files: string[]): Float32Array[] {
  // .npy v1 header: magic(6) ver(2) len(2) header; data follows, float32 LE.
  return files.map((f) => {
    const b = fs.readFileSync(f);
    const hl = b.readUInt16LE(8);
    const start = 10 + hl;
    return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
  });
}

describe('qcal calibrate (min/max) on the PP-OCRv4 models', () => {
  it.each([
    ['classifier', CLS_MODEL, [[1, 3, 48, 192], [1, 3, 48, 192], [1, 3, 48, 192]]],
    ['recognizer (lines of different widths)', REC_MODEL, [[1, 3, 48, 320], [1, 3, 48, 160], [1, 3, 48, 256]]],
  ])('%s: the table equals an independent onnxruntime min/max for every float tensor', async (_label, model, dims) => {
    const dir = tmpDir();
    const files = writeSamples(path.join(dir, 'data'), dims as number[][]);
    const r = await qcal(['calibrate', '--model', model as string, '--data', 'data', '--out', 'out', '--quiet', '--all-tensors'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    expect(Object.keys(table)).toEqual(['collector', 'options', 'model', 'samples', 'tensors', 'meta']);
    expect(table.collector).toBe('minmax');
    expect(table.samples).toBe(3);
    const ref = await referenceMinMax(model as string, readSamples(files), dims as number[][]);
    expect(Object.keys(table.tensors).sort()).toEqual([...ref.keys()].sort());
    for (const [name, { min, max }] of ref) {
      expect(table.tensors[name].min).toBe(min);
      expect(table.tensors[name].max).toBe(max);
      expect(typeof table.tensors[name].op).toBe('string');
    }
  });
});

describe('default scope: the tensors a QDQ model quantizes', () => {
  it('calibrates only those by default, says so, and --qdq gives the same model as --all-tensors', async () => {
    const dir = tmpDir();
    writeSamples(path.join(dir, 'data'), [[1, 3, 48, 192], [1, 3, 48, 192]]);
    const a = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'a', '--qdq', '--collector', 'minmax'], dir);
    expect(a.code).toBe(0);
    const { model } = loadModel(CLS_MODEL);
    const q = quantizedTensorNames(model)!;
    const all = indexGraph(model).calibratable.length;
    expect(a.stderr).toContain(`${q.size} of ${all} float tensors selected — the ones a QDQ model quantizes`);
    const table = readJson(path.join(dir, 'a', 'minmax.table.json'));
    expect(Object.keys(table.tensors).sort()).toEqual([...q].sort());
    const b = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'b', '--qdq', '--all-tensors', '--collector', 'minmax', '--quiet'], dir);
    expect(b.code).toBe(0);
    expect(Object.keys(readJson(path.join(dir, 'b', 'minmax.table.json')).tensors)).toHaveLength(all);
    // The same Q/DQ placement: same nodes and the same quantized tensors. (Scales may differ in the
    // last bit: exposing more tensors changes which ops onnxruntime fuses, hence its float rounding.)
    const qdq = (f: string) => loadModel(path.join(dir, f, 'minmax.qdq.onnx')).model;
    expect(JSON.stringify(qdq('a').graph!.node)).toBe(JSON.stringify(qdq('b').graph!.node));
    expect(qdq('a').metadataProps).toEqual(qdq('b').metadataProps);
  });
});

describe('layer selection', () => {
  it('--include op:Conv keeps exactly the Conv outputs; --exclude removes what it matches', async () => {
    const dir = tmpDir();
    writeSamples(path.join(dir, 'data'), [[1, 3, 48, 192]]);
    const { model } = loadModel(CLS_MODEL);
    const idx = indexGraph(model);
    const convs = idx.calibratable.filter((t) => t.opType === 'Conv').map((t) => t.name);
    const r = await qcal(['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--quiet', '--include', 'op:Conv', '--exclude', convs[0]!, '--exclude', '/^conv2d_5[0-9]\\./'], dir);
    expect(r.code).toBe(0);
    const names = Object.keys(readJson(path.join(dir, 'out', 'minmax.table.json')).tensors).sort();
    const expected = convs.filter((n) => n !== convs[0] && !/^conv2d_5[0-9]\./.test(n)).sort();
    expect(expected.length).toBeGreaterThan(10);
    expect(names).toEqual(expected);
  });

  it('per-collector filters from a config file, and the example third-party plugin', async () => {
    const dir = tmpDir();
    writeSamples(path.join(dir, 'data'), [[1, 3, 48, 192], [1, 3, 48, 192]]);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({
      model: CLS_MODEL,
      data: 'data',
      plugins: [path.join(REPO_ROOT, 'examples', 'collector-plugin')],
      collectors: [['minmax', { symmetric: true, include: ['op:Softmax'] }], ['example/percentile', { percentile: 100, include: ['op:Softmax'] }]],
      out: 'out',
      quiet: true,
    }));
    const r = await qcal(['calibrate'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const mm = readJson(path.join(dir, 'out', 'minmax.table.json'));
    const pct = readJson(path.join(dir, 'out', 'example__percentile.table.json'));
    expect(Object.keys(mm.tensors)).toEqual(['softmax_0.tmp_0']);
    const t = mm.tensors['softmax_0.tmp_0'];
    expect(t.min).toBe(-t.max);
    // The 100th percentile of |x| is the absmax: the plugin agrees with symmetric min/max.
    expect(pct.tensors['softmax_0.tmp_0'].max).toBeCloseTo(t.max, 6);
  });
});
