import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCollector } from '../../src/testkit';
import { loadConfig } from '../../src/config';
import { loadCollectors } from '../../src/plugins';

const repo = path.resolve(__dirname, '../../../..');
const exampleDir = path.join(repo, 'examples/collector-plugin');
let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-example-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

async function load(plugin: string, options: Record<string, unknown>) {
  fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ plugins: [plugin], collectors: [['example/percentile', options]] }));
  const config = await loadConfig({ cwd: dir });
  // cwd: the repo, where the workspace package is linked (node_modules/@example/…)
  return loadCollectors(config.collectors, { configDir: config.configDir, cwd: repo, plugins: config.plugins });
}

describe('@example/qcal-collector-percentile', () => {
  test.each([
    ['a relative path', () => path.relative(dir, exampleDir).split(path.sep).join('/')],
    ['its package name', () => '@example/qcal-collector-percentile'],
  ])('loads from a config file by %s and computes the nearest-rank percentile of |x|', async (_how, spec) => {
    const rel = spec();
    const { collectors } = await load(rel.startsWith('@') ? rel : `./${rel}`, { percentile: 90 });
    expect(collectors).toHaveLength(1);
    const c = collectors[0]!;
    expect(c.name).toBe('example/percentile');
    expect(c.options).toEqual({ percentile: 90, reservoirSize: 1 << 20, seed: 0 });
    // |x| over both batches of "a": 0.5 1 2 3 4 5 6 7 8 9 (n = 10); rank ceil(0.9 · 10) = 9 → 8.
    // "b": |x| = 1 3 10, NaN skipped; rank ceil(0.9 · 3) = 3 → 10.
    const out = await runCollector(c.definition, {
      options: { percentile: 90 },
      batches: { a: [[-9, 1, 2, -3, 0.5], [4, -5, 6, 7, 8]], b: [[NaN, -1, 3, 10]] },
    });
    expect(out.a).toMatchObject({ min: -8, max: 8, exact: true });
    expect(out.b).toMatchObject({ min: -10, max: 10, nonFiniteCount: 1 });
  });
  test('default percentile 99.99 and a reservoir smaller than the data', async () => {
    const { collectors } = await load('@example/qcal-collector-percentile', { reservoirSize: 4 });
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const out = await runCollector(collectors[0]!.definition, { options: { reservoirSize: 4 }, batches: { a: [values] } });
    // 99.99 % of 4 kept values → the largest kept, one of the sampled values, not necessarily 100.
    expect(values).toContain(out.a!.max);
    expect(out.a).toMatchObject({ exact: false });
    expect(out.a!.min).toBe(-out.a!.max);
  });
  test('its options are validated like any collector', async () => {
    await expect(load('@example/qcal-collector-percentile', { percentile: 0 })).rejects.toThrow('collector "example/percentile": option percentile must be > 0, got 0');
  });
});
