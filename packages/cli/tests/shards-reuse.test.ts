import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { CLS_MODEL, REC_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, writeSamples, readJson } from './helpers';

const WIDTHS = [320, 160, 256, 320, 96, 200];

function samples(dir: string): void {
  writeSamples(path.join(dir, 'data'), WIDTHS.map((w) => [1, 3, 48, w]), 7);
}

describe('sharded calibration and qcal merge (PP-OCRv4 recognizer)', () => {
  const dir = tmpDir();
  samples(dir);
  const base = ['--model', REC_MODEL, '--data', 'data', '--quiet'];

  // One single run serves both shard counts.
  let single: Promise<{ code: number }> | undefined;

  it.each([2, 3])('%i shards merged equal the single run for min/max', async (n) => {
    single ??= qcal(['calibrate', ...base, '--out', 'single', '--collector', 'minmax'], dir);
    expect((await single).code).toBe(0);
    const dirs: string[] = [];
    for (let i = 1; i <= n; i++) {
      const r = await qcal(['calibrate', ...base, '--collector', 'minmax', '--shard', `${i}/${n}`, '--out', `s${n}_${i}`], dir);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const snap = readJson(path.join(dir, `s${n}_${i}`, 'minmax.snapshot'));
      expect(snap).toMatchObject({ format: 'qcal-snapshot', version: 2, collector: 'minmax', shard: { index: i, count: n } });
      dirs.push(`s${n}_${i}`);
    }
    // Merge order on the command line does not matter: slice order is used.
    const m = await qcal(['merge', ...dirs.reverse(), '--out', `merged${n}`, '--quiet'], dir);
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
    const a = readJson(path.join(dir, 'single', 'minmax.table.json'));
    const b = readJson(path.join(dir, `merged${n}`, 'minmax.table.json'));
    expect(b.samples).toBe(WIDTHS.length);
    expect(b.tensors).toEqual(a.tensors);
  });

  it('HFMG and entropy: 2 shards merged stay close to the single run (exact merge is not possible, see the READMEs)', async () => {
    // A cross-section of the network instead of all 377 tensors (the histogram fills and entropy's
    // threshold search are what made this the suite's slowest test): the convolutions, the
    // hard-swish outputs (Div) and the transformer's MatMuls — 84 tensors.
    // Every value (--exact): the bounds below were measured on exact tables.
    const coll = ['--collector', 'hfmg', '--collector', 'entropy', '--include', 'op:Conv', '--include', 'op:Div', '--include', 'op:MatMul', '--exact'];
    expect((await qcal(['calibrate', ...base, ...coll, '--out', 'hs-single'], dir)).code).toBe(0);
    for (const i of [1, 2]) expect((await qcal(['calibrate', ...base, ...coll, '--shard', `${i}/2`, '--out', `hs-${i}`], dir)).code).toBe(0);
    expect((await qcal(['merge', 'hs-1', 'hs-2', '--out', 'hs-merged', '--quiet'], dir)).code).toBe(0);
    const diff = (c: string) => {
      const a = readJson(path.join(dir, 'hs-single', `${c}.table.json`)).tensors;
      const b = readJson(path.join(dir, 'hs-merged', `${c}.table.json`)).tensors;
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      expect(Object.keys(a)).toHaveLength(84);
      const rel = Object.keys(a).map((k) => Math.max(Math.abs(a[k].min - b[k].min), Math.abs(a[k].max - b[k].max)) / Math.max(1e-12, a[k].max - a[k].min)).sort((x, y) => x - y);
      return { identical: rel.filter((d) => d === 0).length / rel.length, median: rel[rel.length >> 1]!, max: rel[rel.length - 1]! };
    };
    const h = diff('hfmg');
    const e = diff('entropy');
    // Measured on this data and selection: HFMG 75% of the 84 tensors bit-identical, max 0.09% of
    // the range; entropy median 0.08% (on all 377 tensors: 77%, 0.7%, 0.02%).
    expect(h.identical).toBeGreaterThan(0.5);
    expect(h.median).toBe(0);
    expect(h.max).toBeLessThan(0.2);
    expect(e.median).toBeLessThan(0.02);
  });

  it('refuses to merge shards of different options, or an incomplete set', async () => {
    const cfg = path.join(dir, 'sym.json');
    fs.writeFileSync(cfg, JSON.stringify({ collectors: [['minmax', { symmetric: true }]] }));
    let r = await qcal(['calibrate', ...base, '--config', cfg, '--shard', '2/2', '--out', 'sym2'], dir);
    expect(r.code).toBe(0);
    r = await qcal(['calibrate', ...base, '--collector', 'minmax', '--shard', '1/2', '--out', 'plain1'], dir);
    expect(r.code).toBe(0);
    r = await qcal(['merge', 'plain1', 'sym2', '--out', 'bad'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/different collector options/);
    r = await qcal(['merge', 'plain1', '--out', 'bad'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is shard 1 of 2, but 1 shard directory was given/);
    expect(fs.existsSync(path.join(dir, 'bad'))).toBe(false);
  });
});

describe('reuse of a finished calibration', () => {
  it('a second identical run performs no inference; a change of data or options recomputes', async () => {
    const dir = tmpDir();
    samples(dir);
    const create = jest.spyOn(ort.InferenceSession, 'create');
    const args = ['calibrate', '--model', CLS_MODEL, '--data', 'data', '--out', 'out', '--quiet', '--num-samples', '2'];
    expect((await qcal(args, dir)).code).toBe(0);
    expect(create).toHaveBeenCalledTimes(1);
    const first = fs.readFileSync(path.join(dir, 'out', 'minmax.table.json'), 'utf8');

    const again = await qcal([...args.filter((a) => a !== '--quiet')], dir);
    expect(again.code).toBe(0);
    expect(create).toHaveBeenCalledTimes(1); // no session, no inference
    expect(again.stderr).toMatch(/reusing the tables/);
    expect(fs.readFileSync(path.join(dir, 'out', 'minmax.table.json'), 'utf8')).toBe(first);

    expect((await qcal([...args, '--force'], dir)).code).toBe(0);
    expect(create).toHaveBeenCalledTimes(2);
    expect((await qcal(args.map((a) => (a === '2' ? '3' : a)), dir)).code).toBe(0); // other data subset
    expect(create).toHaveBeenCalledTimes(3);
    expect((await qcal([...args, '--exclude', 'x'], dir)).code).toBe(0); // other selection
    expect(create).toHaveBeenCalledTimes(4);
    const cfg = path.join(dir, 'ma.json');
    fs.writeFileSync(cfg, JSON.stringify({ collectors: [['minmax', { movingAverage: true }]] }));
    expect((await qcal([...args, '--config', cfg], dir)).code).toBe(0); // other options
    expect(create).toHaveBeenCalledTimes(5);
    create.mockRestore();
  });
});
