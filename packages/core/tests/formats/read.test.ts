import * as fs from 'node:fs';
import * as path from 'node:path';
import { convertTable, formatFiles, readTableFile, writeTableFormats } from '../../src/formats';
import type { TableFormat } from '../../src/formats';
import { TableError } from '../../src/errors';
import { FIXTURES, expectRangesClose, fixture, goldenTable, hexFixture, tmpDir } from './helpers';

const F32 = 2 ** -23;
/** tpu-mlir keeps 7 decimals: half a unit of the last, plus the decimal-to-binary rounding. */
const TPU_7_DECIMALS = 0.5e-7 + 1e-15;
const table = goldenTable();
const ranges = Object.fromEntries(Object.entries(table.tensors).map(([n, e]) => [n, { min: e.min, max: e.max }]));
const symmetricRanges = Object.fromEntries(Object.entries(ranges).map(([n, r]) => {
  const a = Math.max(Math.abs(r.min), Math.abs(r.max));
  return [n, { min: -a, max: a }];
}));

function writeAll(): string {
  const dir = tmpDir();
  writeTableFormats(dir, table, ['json', 'tensorrt', 'tpu-mlir', 'ort']);
  return dir;
}

describe('read(write(t))', () => {
  const dir = writeAll();

  it('json is exact, meta and all', () => {
    const back = readTableFile(path.join(dir, 'entropy.table.json'));
    expect(back).toEqual(table);
  });

  it('tensorrt gives the symmetric [-amax, amax] to float32 precision, header kept in meta', () => {
    const back = readTableFile(path.join(dir, 'entropy.trt.cache'));
    expectRangesClose(back, symmetricRanges, { rel: F32 });
    expect(back.collector).toBe('entropy');
    expect(back.meta?.tensorrt).toEqual({ version: 8601, algorithm: 'EntropyCalibration2' });
    // and writes the same cache again
    expect(formatFiles(back, 'tensorrt')[0]!.data).toBe(fixture('entropy.trt.cache'));
  });

  it('tpu-mlir gives the ranges back (asymmetric included) to its 7 decimals', () => {
    const back = readTableFile(path.join(dir, 'entropy.cali_table'));
    expectRangesClose(back, ranges, { abs: TPU_7_DECIMALS });
    expect([back.collector, back.model, back.samples, back.options]).toEqual(['entropy', 'tiny.onnx', 8, { numBins: 2048 }]);
    expect(formatFiles(back, 'tpu-mlir')[0]!.data).toBe(fixture('entropy.cali_table'));
  });

  it('ort calibration.json gives [lowest, highest] as float32', () => {
    const back = readTableFile(path.join(dir, 'entropy.ort'));
    expectRangesClose(back, ranges, { rel: F32 });
    expect(back.tensors.Add_7!.max).toBe(Math.fround(0.1));
    expect(back.collector).toBe('entropy');
    expect(formatFiles(back, 'ort')[0]!.data).toBe(fixture('entropy.ort/calibration.json'));
  });

  it('ort calibration.flatbuffers and calibration.cache give [-amax, amax] as float32', () => {
    for (const f of ['calibration.flatbuffers', 'calibration.cache']) {
      const back = readTableFile(path.join(dir, 'entropy.ort', f));
      expectRangesClose(back, symmetricRanges, { rel: F32 });
      expect(back.collector).toBe('ort');
    }
  });
});

describe('readTableFile on the hand-written golden files', () => {
  it.each([
    ['entropy.table.json', 'json'], ['entropy.trt.cache', 'tensorrt'], ['entropy.cali_table', 'tpu-mlir'],
    ['entropy.ort/calibration.json', 'ort'], ['entropy.ort/calibration.cache', 'ort'],
  ])('%s (detected, and forced as %s)', (name, format) => {
    const a = readTableFile(path.join(FIXTURES, name));
    const b = readTableFile(path.join(FIXTURES, name), { format: format as TableFormat });
    expect(b.tensors).toEqual(a.tensors);
    expect(Object.keys(a.tensors)).toHaveLength(7);
  });

  it('the golden flatbuffers, from bytes on disk without a telling name', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'table.bin');
    fs.writeFileSync(p, hexFixture('entropy.ort/calibration.flatbuffers.hex'));
    const t = readTableFile(p);
    expect(t.tensors['head.logits']).toEqual({ op: '', min: -12.5, max: 12.5 });
    expect(t.tensors.zero).toEqual({ op: '', min: 0, max: 0 });
  });
});

describe('reading what the real tools write', () => {
  const dir = tmpDir();
  const put = (name: string, text: string): string => { const p = path.join(dir, name); fs.writeFileSync(p, text); return p; };

  it('tpu-mlir KL table: threshold below absmax gives the deploy range, observed columns kept', () => {
    const p = put('yolo_cali_table', '# mlir version: 1.9 cali version 1.0\n# mlir: yolov5s.mlir\n# genetated time: 2025-01-01 00:00:00\n'
      + '# quantization threshold calculation method: kl\n# histogram number: 2048\n# sample number: 100\n###\n# tune number: 5\n###\n'
      + '# op_name    threshold    min    max\nimages 1.0000000 0.0000000 1.0000000\n122_Conv 4.7480000 -12.0000000 11.5000000\n'
      + 'relu 3.0000000 0.0000000 5.0000000\n\n#int4_th\n122_Conv 1.0000000 -1.1428571 1.0000000\n');
    const t = readTableFile(p);
    expect(t.tensors).toEqual({
      images: { op: '', min: 0, max: 1 },
      '122_Conv': { op: '', min: -4.748, max: 4.748, observedMin: -12, observedMax: 11.5 },
      relu: { op: '', min: 0, max: 3, observedMin: 0, observedMax: 5 },
    });
    expect([t.collector, t.model, t.samples]).toEqual(['kl', 'yolov5s.mlir', 100]);
    expect(t.meta?.tpuMlir).toMatchObject({ tuneNumber: 5, histogramBins: 2048 });
  });

  it('TensorRT cache with colons in names, unpadded hex and CRLF', () => {
    const p = put('model.calib', 'TRT-7202-EntropyCalibration2\r\ndata: 3c008912\r\nconv1:0: 3c010204\r\n(Unnamed Layer* 4) [Fully Connected]_output: 3d65992f\r\nsmall: 1\r\n');
    const t = readTableFile(p);
    expect(Object.keys(t.tensors)).toEqual(['data', 'conv1:0', '(Unnamed Layer* 4) [Fully Connected]_output', 'small']);
    expect(t.tensors['conv1:0']!.max).toBe(1);
    expect(t.tensors.small!.max).toBeGreaterThan(0);
  });

  it('old onnxruntime calibration.json ({"name": [min, max]})', () => {
    const p = put('calibration.json', '{"a": [-1.5, 2.0], "b": [0.0, 3.25]}');
    expect(readTableFile(p).tensors).toEqual({ a: { op: '', min: -1.5, max: 2 }, b: { op: '', min: 0, max: 3.25 } });
  });
});

describe('errors name the file and the line', () => {
  const dir = tmpDir();
  const put = (name: string, text: string): string => { const p = path.join(dir, name); fs.writeFileSync(p, text); return p; };
  const err = (fn: () => unknown): TableError => {
    try { fn(); } catch (e) { expect(e).toBeInstanceOf(TableError); return e as TableError; }
    throw new Error('expected a TableError');
  };

  it('tensorrt: bad header, bad entry', () => {
    expect(err(() => readTableFile(put('a.cache', 'TRT-x\nfoo: 1\n'), { format: 'tensorrt' })).message).toMatch(/a\.cache:1: expected a TensorRT calibration cache header/);
    expect(err(() => readTableFile(put('b.cache', 'TRT-8601-EntropyCalibration2\nin: 3c010204\noops\n'))).message).toMatch(/b\.cache:3: expected "<tensor name>: <float32 scale as hex>", found "oops"/);
  });

  it('tpu-mlir: wrong field count or number', () => {
    expect(err(() => readTableFile(put('x_cali_table', '# h\na 1.0 -1.0 1.0\nb 1.0 -1.0\n'))).message).toMatch(/x_cali_table:3: expected "op_name threshold min max"/);
    expect(err(() => readTableFile(put('y_cali_table', '# h\na 1.0 -1.0 zz\n'))).message).toMatch(/y_cali_table:2:/);
  });

  it('ort: cache line without amax, bad json, per-channel json', () => {
    expect(err(() => readTableFile(put('calibration.cache', 'a 1.0\nb\n'))).message).toMatch(/calibration\.cache:2: expected "<tensor name> <amax>"/);
    expect(err(() => readTableFile(put('bad.json', '{\n"a": [1,\n'))).message).toMatch(/bad\.json(:\d+)?: not valid JSON/);
    expect(err(() => readTableFile(put('pc.json', '{"CLS": "TensorsData", "data": {"w": {"lowest": {"data": [1, 2]}, "highest": {"data": [3, 4]}}}}'))).message).toMatch(/pc\.json: "w"\.lowest has 2 values \(a per-channel range\)/);
  });

  it('qcal json: invalid ranges are reported by validateTable', () => {
    expect(err(() => readTableFile(put('t.table.json', '{"tensors": {"a": {"op": "", "min": 2, "max": 1}}}'))).message).toMatch(/t\.table\.json: 1 invalid tensor range/);
  });

  it('unrecognised content and missing files', () => {
    expect(err(() => readTableFile(put('what.txt', 'hello\n'))).message).toMatch(/what\.txt: not a calibration table qcal recognises/);
    expect(err(() => readTableFile(path.join(dir, 'missing.json'))).message).toMatch(/missing\.json: cannot read the calibration table \(ENOENT\)/);
  });
});

describe('convertTable', () => {
  it('converts any format to any other', () => {
    const dir = tmpDir();
    const cache = path.join(dir, 'out.trt.cache');
    expect(convertTable(path.join(FIXTURES, 'entropy.table.json'), 'tensorrt', cache)).toEqual([cache]);
    expect(fs.readFileSync(cache, 'utf8')).toBe(fixture('entropy.trt.cache'));

    const cali = path.join(dir, 'from-trt_cali_table');
    convertTable(cache, 'tpu-mlir', cali);
    const back = readTableFile(cali);
    expectRangesClose(back, symmetricRanges, { rel: F32, abs: TPU_7_DECIMALS });

    const ortDir = path.join(dir, 'ort');
    expect(convertTable(path.join(FIXTURES, 'entropy.cali_table'), 'ort', ortDir).map((p) => path.basename(p)))
      .toEqual(['calibration.json', 'calibration.flatbuffers', 'calibration.cache']);
    // the cali table kept 7 decimals: 0.00390625 came back as 0.0039062 (ties to even)
    expect(fs.readFileSync(path.join(ortDir, 'calibration.cache'), 'utf8'))
      .toBe(fixture('entropy.ort/calibration.cache').replace('tiny 0.00390625', 'tiny 0.0039061999414116144'));

    const fb = path.join(dir, 'only.flatbuffers');
    expect(convertTable(path.join(FIXTURES, 'entropy.table.json'), 'ort', fb)).toEqual([fb]);
    expect(Buffer.from(fs.readFileSync(fb)).equals(Buffer.from(hexFixture('entropy.ort/calibration.flatbuffers.hex')))).toBe(true);

    const json = path.join(dir, 'back.table.json');
    convertTable(path.join(FIXTURES, 'entropy.ort'), 'json', json);
    expectRangesClose(readTableFile(json), ranges, { rel: F32 });
  });
});
