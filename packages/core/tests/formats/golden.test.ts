import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatFiles, writeTableFormats } from '../../src/formats';
import { fixture, goldenTable, hexFixture, tmpDir } from './helpers';

// Every expected file below was written by hand from the format's description (see the
// fixture files and src/formats/*.ts); the TensorRT hex by hand from the float32 layout
// (1/127 = 2^-7 * (1 + 1/127) -> 3c010204) and cross-checked with Python's struct.
describe('golden files from the fixed table', () => {
  const table = goldenTable();

  it('json: 2-space JSON, keys in the documented order', () => {
    expect(formatFiles(table, 'json')).toEqual([{ name: 'entropy.table.json', data: fixture('entropy.table.json') }]);
  });

  it('tensorrt: TRT-8601-EntropyCalibration2 and big-endian float32 scale hex', () => {
    expect(formatFiles(table, 'tensorrt')).toEqual([{ name: 'entropy.trt.cache', data: fixture('entropy.trt.cache') }]);
  });

  it('tensorrt: the known pair 3c010204 <-> amax 1.0', () => {
    const data = formatFiles({ ...table, tensors: { x: { op: '', min: -1, max: 1 } } }, 'tensorrt')[0]!.data;
    expect(data).toBe('TRT-8601-EntropyCalibration2\nx: 3c010204\n');
  });

  it('tensorrt: version and algorithm options, minmax default', () => {
    const t = { ...table, collector: 'minmax', tensors: { x: { op: '', min: 0, max: 1 } } };
    expect(formatFiles(t, 'tensorrt')[0]!.data).toBe('TRT-8601-MinMaxCalibration\nx: 3c010204\n');
    expect(formatFiles(t, 'tensorrt', { trtVersion: 100300, trtAlgorithm: 'LegacyCalibration' })[0]!.data)
      .toBe('TRT-100300-LegacyCalibration\nx: 3c010204\n');
  });

  it('tpu-mlir: header, then name threshold min max with 7 decimals', () => {
    expect(formatFiles(table, 'tpu-mlir')).toEqual([{ name: 'entropy.cali_table', data: fixture('entropy.cali_table') }]);
  });

  it('tpu-mlir: header options, tune number only when tuned', () => {
    const data = formatFiles({ ...table, tensors: {} }, 'tpu-mlir', {
      tpuMlir: { tool: 'qcal 9.9', model: 'm', method: 'kl', histogramBins: 4096, sampleNumber: 100, tuneNumber: 5 },
    })[0]!.data;
    expect(data).toBe('# tool: qcal 9.9\n# model: m\n# quantization threshold calculation method: kl\n# histogram number: 4096\n'
      + '# sample number: 100\n###\n# tune number: 5\n###\n# op_name    threshold    min    max\n');
  });

  it('ort: calibration.json, calibration.flatbuffers, calibration.cache in <collector>.ort/', () => {
    const files = formatFiles(table, 'ort');
    expect(files.map((f) => f.name)).toEqual(['entropy.ort/calibration.json', 'entropy.ort/calibration.flatbuffers', 'entropy.ort/calibration.cache']);
    expect(files[0]!.data).toBe(fixture('entropy.ort/calibration.json'));
    expect(Buffer.from(files[1]!.data as Uint8Array).toString('hex')).toBe(Buffer.from(hexFixture('entropy.ort/calibration.flatbuffers.hex')).toString('hex'));
    expect(files[2]!.data).toBe(fixture('entropy.ort/calibration.cache'));
  });

  it('ort: MinMax ranges are one-element arrays, as MinMaxCalibrater leaves them', () => {
    const data = formatFiles({ ...table, collector: 'minmax', tensors: { x: { op: '', min: -0.5, max: 2 } } }, 'ort')[0]!.data;
    expect(data).toBe('{"CLS": "TensorsData", "data": {"x": {"lowest": {"data": [-0.5], "dtype": "float32", "CLS": "numpy.array"}, '
      + '"highest": {"data": [2.0], "dtype": "float32", "CLS": "numpy.array"}, "CLS": "TensorData"}}, '
      + '"calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.MinMax"}}');
  });

  it('writeTableFormats writes every format at once under the documented names', () => {
    const dir = tmpDir();
    const written = writeTableFormats(dir, table, ['json', 'tensorrt', 'tpu-mlir', 'ort', 'json']);
    expect(written.map((p) => path.relative(dir, p))).toEqual([
      'entropy.table.json', 'entropy.trt.cache', 'entropy.cali_table',
      path.join('entropy.ort', 'calibration.json'), path.join('entropy.ort', 'calibration.flatbuffers'), path.join('entropy.ort', 'calibration.cache'),
    ]);
    expect(fs.readFileSync(path.join(dir, 'entropy.trt.cache'), 'utf8')).toBe(fixture('entropy.trt.cache'));
    expect(fs.readdirSync(dir).sort()).toEqual(['entropy.cali_table', 'entropy.ort', 'entropy.table.json', 'entropy.trt.cache']);
  });

  it('writeTableFormats writes nothing when one format cannot hold the table', () => {
    const dir = tmpDir();
    const bad = { ...table, tensors: { 'has space': { op: '', min: -1, max: 1 } } };
    expect(() => writeTableFormats(dir, bad, ['json', 'tpu-mlir'])).toThrow(/cannot be written to a tpu-mlir table/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('names namespaced collectors safely', () => {
    expect(formatFiles({ ...table, collector: 'acme/percentile' }, 'tensorrt')[0]!.name).toBe('acme_percentile.trt.cache');
    expect(formatFiles(table, 'tensorrt', { stem: 'run1' })[0]!.name).toBe('run1.trt.cache');
  });
});
