/**
 * Property and fuzz tests of the table formats (qcal JSON, TensorRT cache, tpu-mlir table,
 * onnxruntime json/flatbuffers/cache), snapshots, the config checker, option schemas and
 * include/exclude patterns.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { formatFiles, readQcalJson, readTensorrtCache, readTpuMlirTable, readOrtJson, readOrtFlatbuffers, readOrtCache } from '../../src/formats';
import type { TableFormat } from '../../src/formats';
import { validateTable, type CalibrationTable } from '../../src/table';
import { readSnapshot, snapshotChecksum } from '../../src/calibrate/snapshots';
import { checkConfigSource, CONFIG_KEYS } from '../../src/config';
import { validateOptions } from '../../src/options-schema';
import { compilePatterns } from '../../src/select';
import { minmaxCollector } from '@qcal/collector-minmax';
import entropy from '@qcal/collector-entropy';
import ifmr from '@qcal/collector-ifmr';
import hfmg from '@qcal/collector-hfmg';
import autotune from '@qcal/collector-autotune';
import { fuzzParams, outcome, mutated } from '../../../../test-support/fuzz';

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-3e38), max: Math.fround(3e38) });
const tensorName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_./:-]{0,30}$/);
const table = fc.dictionary(tensorName, fc.tuple(f32, f32), { minKeys: 1, maxKeys: 6 }).map((t): CalibrationTable => ({
  collector: 'entropy', options: {}, model: 'm.onnx', samples: 3,
  tensors: Object.fromEntries(Object.entries(t).map(([n, [a, b]]) => [n, { op: `${n}_op`, min: Math.min(a, b), max: Math.max(a, b) }])),
}));

const READERS: Record<string, { format: TableFormat; file: string; read: (d: string | Uint8Array) => CalibrationTable }> = {
  json: { format: 'json', file: '.table.json', read: (d) => readQcalJson(String(d), 't.json') },
  tensorrt: { format: 'tensorrt', file: '.trt.cache', read: (d) => readTensorrtCache(String(d), 't.cache') },
  'tpu-mlir': { format: 'tpu-mlir', file: '.cali_table', read: (d) => readTpuMlirTable(String(d), 't.cali') },
  'ort-json': { format: 'ort', file: 'calibration.json', read: (d) => readOrtJson(String(d), 'calibration.json') },
  'ort-flatbuffers': { format: 'ort', file: 'calibration.flatbuffers', read: (d) => readOrtFlatbuffers(d as Uint8Array, 'calibration.flatbuffers') },
  'ort-cache': { format: 'ort', file: 'calibration.cache', read: (d) => readOrtCache(String(d), 'calibration.cache') },
};

function written(t: CalibrationTable, r: (typeof READERS)[string]): string | Uint8Array | undefined {
  const w = outcome(() => formatFiles(t, r.format));
  if (!w.ok) return undefined; // a writer may refuse names its format cannot hold (with a TableError)
  const f = w.value.find((x) => x.name.endsWith(r.file));
  return f && (typeof f.data === 'string' ? f.data : Uint8Array.from(f.data));
}

describe.each(Object.keys(READERS))('%s tables', (kind) => {
  const r = READERS[kind]!;
  it('read(write(t)) keeps every tensor with a float32-finite range, min <= max [150 runs]', () => {
    fc.assert(fc.property(table, (t) => {
      const data = written(t, r);
      if (data === undefined) return;
      const back = validateTable(r.read(data), 'back');
      expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(t.tensors).sort());
      for (const e of Object.values(back.tensors)) {
        expect(Number.isFinite(Math.fround(e.min)) && Number.isFinite(Math.fround(e.max)) && e.min <= e.max).toBe(true);
      }
    }), fuzzParams(150));
  });

  it('mutated files: a valid table or a TableError, deterministic [300 runs]', () => {
    const seeds = fc.sample(table, { seed: 4, numRuns: 6 }).map((t) => written(t, r)).filter((x): x is string | Uint8Array => x !== undefined);
    const bytes = seeds.map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s));
    fc.assert(fc.property(fc.constantFrom(...bytes).chain(mutated), (b) => {
      const input = r.format === 'ort' && kind === 'ort-flatbuffers' ? b : Buffer.from(b).toString('utf8');
      const o = outcome(() => validateTable(r.read(input), 'fuzz'));
      if (!o.ok) expect(o.code).toBe('QCAL_TABLE');
      expect(outcome(() => validateTable(r.read(input), 'fuzz'))).toEqual(o);
    }), fuzzParams(300));
  });
});

describe('snapshots', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-snap-prop-'));
  const base = {
    format: 'qcal-snapshot', version: 2, collector: 'minmax', label: 'minmax', options: { symmetric: false }, model: 'm.onnx',
    modelSha256: 'a'.repeat(64), tensors: ['x', 'y'], shard: { index: 1, count: 2 }, samples: 3, batches: 3,
    dataFingerprint: 'f', dataset: 'd', state: { x: [0, 1], y: [-1, 2] },
  };
  const sealed = { ...base, checksum: snapshotChecksum(base as never) };
  let n = 0;
  const read = (text: string | Uint8Array) => {
    const file = path.join(dir, `s${n++ % 3}.snapshot`);
    fs.writeFileSync(file, text);
    return outcome(() => readSnapshot(file));
  };

  it('any field replaced by any JSON value (checksum recomputed, as a forger would): the snapshot passes every check or a TableError names what is wrong [400 runs]', () => {
    fc.assert(fc.property(fc.constantFrom(...Object.keys(base)), fc.jsonValue({ maxDepth: 3 }), fc.boolean(), (key, value, drop) => {
      const s: Record<string, unknown> = { ...base };
      if (drop) delete s[key]; else s[key] = value;
      const o = read(JSON.stringify({ ...s, checksum: snapshotChecksum(s as never) }));
      if (o.ok) {
        const v = o.value;
        expect(v.label).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/);
        expect(Number.isSafeInteger(v.samples) && v.samples >= 1 && v.batches >= 1 && v.batches <= v.samples).toBe(true);
        expect(v.shard.index >= 1 && v.shard.index <= v.shard.count && v.shard.count <= 100_000).toBe(true);
        expect(v.tensors.every((t) => typeof t === 'string')).toBe(true);
      } else expect(o.code).toBe('QCAL_TABLE');
    }), fuzzParams(400));
  });

  it('mutated bytes (checksum kept): refused unless the JSON means the same [300 runs]', () => {
    const text = Buffer.from(JSON.stringify(sealed));
    fc.assert(fc.property(mutated(text), (b) => {
      const o = read(b);
      if (o.ok) expect(JSON.parse(JSON.stringify(o.value))).toEqual(JSON.parse(JSON.stringify(sealed)));
      else expect(o.code).toBe('QCAL_TABLE');
    }), fuzzParams(300));
  });
});

describe('config and options', () => {
  const keys = fc.oneof(fc.constantFrom(...Object.keys(CONFIG_KEYS), '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'), fc.string({ maxLength: 10 }));
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(Infinity, -Infinity, NaN, -0, 1e308, 2 ** 53, '1/0', '0/4', '5/4', [['minmax', { __proto__: 1 }]]));
  const raw = fc.oneof(fc.dictionary(keys, value, { maxKeys: 8 }), value);

  it('checkConfigSource on any value: normalized known keys or problems naming the key, never a throw [600 runs]', () => {
    fc.assert(fc.property(raw, fc.boolean(), (r, isFlags) => {
      const out = checkConfigSource(r, { label: '/p/qcal.config.json', isFlags, baseDir: '/p' });
      for (const k of Object.keys(out.values)) expect(Object.prototype.hasOwnProperty.call(CONFIG_KEYS, k)).toBe(true);
      expect(Object.getPrototypeOf(out.values)).toBe(Object.prototype);
      for (const p of out.problems) expect(typeof p).toBe('string');
      expect(checkConfigSource(r, { label: '/p/qcal.config.json', isFlags, baseDir: '/p' })).toEqual(out);
    }), fuzzParams(600));
  });

  it('every built-in collector\'s schema: any options object validates or gives problems, never a throw, never a polluted prototype [600 runs]', () => {
    const defs: any[] = [minmaxCollector, entropy, ifmr, hfmg, autotune];
    expect(defs.length).toBeGreaterThanOrEqual(5);
    fc.assert(fc.property(fc.constantFrom(...defs), fc.dictionary(fc.oneof(fc.constantFrom(...new Set(defs.flatMap((d: any) => Object.keys(d.optionsSchema))), '__proto__', 'constructor'), fc.string({ maxLength: 6 })), value, { maxKeys: 5 }), (def: any, given) => {
      const { options, problems } = validateOptions(def.optionsSchema, def.defaultOptions, given, 'c');
      expect(Object.getPrototypeOf(options)).toBe(Object.prototype);
      if (problems.length === 0) for (const k of Object.keys(options)) expect(Object.prototype.hasOwnProperty.call(def.optionsSchema, k)).toBe(true);
    }), fuzzParams(600));
  });

  it('any include/exclude pattern: compiled (and testing any name terminates) or a ConfigError [500 runs]', () => {
    const pattern = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ maxLength: 16 }).map((s) => `/${s}/`), fc.constantFrom('/(a+)+$/', '/^(.*)*x$/', '/(a|a)*b/', '/(?<=a)b/', '/(a)\\1/', '/[/', 'op:', 'op:Conv', '[abc', '**'));
    fc.assert(fc.property(pattern, fc.string({ maxLength: 40 }), (p, name) => {
      const o = outcome(() => compilePatterns([p], 'include'));
      if (o.ok) o.value[0]!.test({ name: `${'a'.repeat(30)}${name}`, opName: name, opType: 'Conv' } as never);
      else expect(o.code).toBe('QCAL_CONFIG');
    }), fuzzParams(500));
  });
});
