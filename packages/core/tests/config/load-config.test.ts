import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../src/errors';
import { loadConfig, CONFIG_DEFAULTS } from '../../src/config';

let dir: string;
const write = (file: string, text: string) => {
  const p = path.join(dir, file);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
};
async function caught(p: Promise<unknown>): Promise<ConfigError> {
  try { await p; } catch (e) { return e as ConfigError; }
  throw new Error('expected a rejection');
}

beforeEach(() => { dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-config-'))); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('loadConfig', () => {
  test('defaults, frozen, when there is no config file', async () => {
    const c = await loadConfig({ cwd: dir, noSearch: true });
    expect(c).toEqual({ ...CONFIG_DEFAULTS, out: path.join(dir, 'calib-out'), configDir: dir, cwd: dir });
    expect(Object.isFrozen(c)).toBe(true);
    expect(c.configFile).toBeUndefined();
  });
  test('the DESIGN.md example: paths resolve against the config folder, flags override', async () => {
    write('proj/qcal.config.json', JSON.stringify({
      model: 'model.onnx', data: 'calib/list.txt', numSamples: 200, batchSize: 1,
      collectors: ['minmax', ['entropy', { quantizedDtype: 'int8', exclude: ['op:Add'] }], '@acme/qcal-x'],
      plugins: ['./my-collector.js'], exclude: ['op:Softmax', '*/head/*'], out: 'calib-out', formats: ['json', 'tensorrt'], qdq: true,
    }));
    fs.mkdirSync(path.join(dir, 'proj/sub'));
    const c = await loadConfig({ cwd: path.join(dir, 'proj/sub'), flags: { numSamples: 8, out: 'o', shard: '2/4', collectors: undefined } });
    expect(c.configFile).toBe(path.join(dir, 'proj/qcal.config.json'));
    expect(c.configDir).toBe(path.join(dir, 'proj'));
    expect(c.model).toBe(path.join(dir, 'proj/model.onnx'));
    expect(c.data).toBe(path.join(dir, 'proj/calib/list.txt'));
    expect(c.out).toBe(path.join(dir, 'proj/sub/o')); // flag: against cwd
    expect(c.numSamples).toBe(8);
    expect(c.shard).toEqual({ index: 2, count: 4 });
    expect(c.collectors).toEqual(['minmax', ['entropy', { quantizedDtype: 'int8', exclude: ['op:Add'] }], '@acme/qcal-x']);
    expect(Object.isFrozen(c.collectors[1])).toBe(true);
    expect(c.formats).toEqual(['json', 'tensorrt']);
    expect(c.quantizeMode).toBe('smart');
  });
  test.each([
    ['.qcalrc', 'numSamples: 3\n'],
    ['.qcalrc.json', '{"numSamples": 3}'],
    ['.qcalrc.yaml', 'numSamples: 3\n'],
    ['.qcalrc.yml', 'numSamples: 3\n'],
    ['.qcalrc.js', 'module.exports = { numSamples: 3 };'],
    ['.qcalrc.cjs', 'module.exports = { numSamples: 3 };'],
    ['qcal.config.json', '{"numSamples": 3}'],
    ['qcal.config.yaml', 'numSamples: 3\n'],
    ['qcal.config.yml', 'numSamples: 3\n'],
    ['qcal.config.js', 'module.exports = { numSamples: 3 };'],
    ['qcal.config.cjs', 'module.exports = { numSamples: 3 };'],
    ['qcal.config.ts', 'interface C { numSamples: number }\nconst c: C = { numSamples: 3 };\nexport default c;\n'],
    ['package.json', '{"name": "x", "qcal": {"numSamples": 3}}'],
  ])('finds %s', async (file, text) => {
    write(file, text);
    const c = await loadConfig({ cwd: dir });
    expect(c.numSamples).toBe(3);
    expect(c.configFile).toBe(path.join(dir, file));
  });
  test('--config FILE, relative to cwd; a missing one', async () => {
    write('conf/x.yaml', 'model: m.onnx\n');
    expect((await loadConfig({ cwd: dir, configFile: 'conf/x.yaml' })).model).toBe(path.join(dir, 'conf/m.onnx'));
    expect((await caught(loadConfig({ cwd: dir, configFile: 'nope.json' }))).message).toBe(`config file not found: ${path.join(dir, 'nope.json')} (given with --config)`);
  });
  test('a syntax error names the file', async () => {
    write('qcal.config.json', '{ "model": ');
    const e = await caught(loadConfig({ cwd: dir }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(new RegExp(`^cannot read the config file found from ${dir}: `));
  });
  test('every problem at once: file keys, unknown keys, flags, missing required keys', async () => {
    const file = write('qcal.config.json', JSON.stringify({
      numSample: 3, batchSize: 0, shuffle: 'yes', collectors: ['minmax', 3, ['entropy', 5], ['hfmg', { include: '*' }]],
      formats: ['json', 'onnx'], quantizeMode: 'fast', targetCos: 1.5, maxFloatLayers: -1, shard: '5/4',
      exclude: ['/(/'], plugins: [1], preprocess: 7, frobnicate: true,
    }));
    const e = await caught(loadConfig({ cwd: dir, flags: { numSamples: 0, evalSamples: 1.5, seed: 'x', model: undefined }, require: ['model', 'data'] }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.code).toBe('QCAL_CONFIG');
    expect(e.problems).toEqual([
      `${file}: numSample: unknown key (did you mean "numSamples"?)`,
      `${file}: batchSize: found 0, expected an integer > 0`,
      `${file}: shuffle: found "yes", expected true or false`,
      `${file}: collectors[1]: found 3, expected a collector name or [name, options]`,
      `${file}: collectors[2][1]: found 5, expected an options object for collector "entropy"`,
      `${file}: collectors[3][1].include: found "*", expected an array of patterns (tensor names, globs, /regexes/, op:Type)`,
      `${file}: formats[1]: found "onnx", expected one of "json", "tensorrt", "tpu-mlir", "ort"`,
      `${file}: quantizeMode: found "fast", expected "smart" or "full"`,
      `${file}: targetCos: found 1.5, expected a number in (0, 1]`,
      `${file}: maxFloatLayers: found -1, expected an integer >= 0`,
      `${file}: shard: found "5/4", expected "i/n" or { index: i, count: n } with 1 <= i <= n (e.g. "1/4")`,
      expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: exclude\\[0\\]: "/\\(/" is not a valid regular expression`)),
      `${file}: plugins[0]: found 1, expected a module name or path`,
      `${file}: preprocess: found 7, expected a preprocessing preset name (string) or an object`,
      `${file}: frobnicate: unknown key; known keys: model, data, preprocess, numSamples, batchSize, shuffle, seed, collectors, plugins, include, exclude, out, formats, qdq, allTensors, quantizeMode, evaluate, biasCorrection, crossLayerEqualization, isotone, smoothQuant, foldAffine, saturationRanges, fuseActivations, targetCos, target, targetMetric, fallbackInt16, maxFloatLayers, shard, force, quiet, evalData, evalSamples, inputs, sequence, limits, hookTimeout, report, histogramStride, fastSample`,
      '--num-samples: found 0, expected an integer > 0',
      '--eval-samples: found 1.5, expected an integer > 0',
      '--seed: found "x", expected an integer',
      `${file}: model: missing; set "model" in qcal.config.json or pass --model`,
      `${file}: data: missing; set "data" in qcal.config.json or pass --data`,
    ]);
    expect(e.message.split('\n')[0]).toBe('20 configuration problems:');
    expect(e.message).toContain(`  - ${file}: batchSize: found 0, expected an integer > 0`);
  });
  test('unknown flags and a non-object config', async () => {
    write('.qcalrc.json', '[1]');
    const e = await caught(loadConfig({ cwd: dir, flags: { numSampels: 3 } }));
    expect(e.problems).toEqual([
      `${path.join(dir, '.qcalrc.json')}: found [1], expected an object of settings such as { "model": "model.onnx", "data": "calib/" }`,
      '--num-sampels: unknown option (did you mean "--num-samples"?)',
    ]);
  });
  test('shard as an object; preprocess object frozen; evalData resolved', async () => {
    write('qcal.config.yml', 'shard: { index: 1, count: 2 }\npreprocess: { resize: [32, 320], mean: 0.5 }\nevalData: ev/\n');
    const c = await loadConfig({ cwd: dir });
    expect(c.shard).toEqual({ index: 1, count: 2 });
    expect(c.preprocess).toEqual({ resize: [32, 320], mean: 0.5 });
    expect(Object.isFrozen((c.preprocess as { resize: number[] }).resize)).toBe(true);
    expect(c.evalData).toBe(path.join(dir, 'ev'));
  });
});
