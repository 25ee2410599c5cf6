/**
 * The packages as a user gets them: `npm pack --workspaces`, the tarballs installed into an empty
 * project (npm cache, --prefer-offline), and there `npx qcal calibrate` with the example plugin
 * kept in a folder of its own (nothing installed beside it: qcal supplies its peer dependency,
 * @qcal/plugin-kit). Needs the build (`npm test` runs `tsc -b` first) and `tar`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../../../test-support/paths';
import { writeTinyProject } from '../../../test-support/tiny-model';
import { version } from '../package.json';
import { readJson, tmpDir } from './helpers';

const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund'];

/** A user's shell: none of the npm_* variables `npm test` hands its children; the README's switch for onnxruntime-node's download. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ONNXRUNTIME_NODE_INSTALL: 'skip' };
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, extra?: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: userEnv(extra), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  return r;
}

let root: string;
let tarballs: Record<string, string>;
beforeAll(() => {
  root = tmpDir('qcal-pack-');
  const dest = path.join(root, 'tarballs');
  fs.mkdirSync(dest);
  run('npm', ['pack', '--workspaces', '--pack-destination', dest], REPO_ROOT);
  // qcal-core-0.1.0.tgz → core; example-qcal-collector-percentile-0.1.0.tgz → example-…
  tarballs = Object.fromEntries(fs.readdirSync(dest).map((f) => [f.replace(/^qcal-/, '').replace(/-\d+\.\d+\.\d+\.tgz$/, ''), path.join(dest, f)]));
}, 120_000);
afterAll(() => { fs.rmSync(root, { recursive: true, force: true }); });

const tensorsOf = (file: string) => readJson<{ tensors: Record<string, { min: number; max: number }> }>(file).tensors;

test('npm pack gives every package, each with its build and nothing of the monorepo', () => {
  expect(Object.keys(tarballs).sort()).toEqual(['cli', 'collector-autotune', 'collector-entropy', 'collector-hfmg', 'collector-ifmr', 'collector-minmax', 'collector-mse', 'collector-percentile', 'core', 'example-qcal-collector-percentile', 'kernels', 'plugin-kit', 'report']);
  const listing = run('tar', ['-tzf', tarballs['plugin-kit']!], root).stdout.split('\n');
  expect(listing).toEqual(expect.arrayContaining(['package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/testkit/index.js']));
  expect(listing.filter((f) => /tests\/|tsbuildinfo|tsconfig/.test(f))).toEqual([]);
});

test('the plugin kit installs alone, with no dependency at all', () => {
  const project = path.join(root, 'plugin-author');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'plugin-author', version: '1.0.0', private: true }));
  run('npm', [...NPM_INSTALL, tarballs['plugin-kit']!], project);
  expect(fs.readdirSync(path.join(project, 'node_modules')).filter((f) => !f.startsWith('.'))).toEqual(['@qcal']);
  expect(fs.readdirSync(path.join(project, 'node_modules', '@qcal'))).toEqual(['plugin-kit']);
  const out = run('node', ['-e', "const k = require('@qcal/plugin-kit'); const t = require('@qcal/plugin-kit/testkit'); console.log(typeof k.defineCollector, k.COLLECTOR_API_VERSION > 0, typeof t.runCollector)"], project).stdout;
  expect(out.trim()).toBe('function true function');
}, 120_000);

test('installed into an empty project, `npx qcal calibrate` runs with a plugin kept in another folder', () => {
  // The plugin: the example's tarball unpacked into a folder of its own, with no node_modules.
  const plugins = path.join(root, 'plugins');
  fs.mkdirSync(plugins);
  run('tar', ['-xzf', tarballs['example-qcal-collector-percentile']!, '-C', plugins], root);
  fs.renameSync(path.join(plugins, 'package'), path.join(plugins, 'percentile'));
  expect(readJson(path.join(plugins, 'percentile', 'package.json')).peerDependencies).toEqual({ '@qcal/plugin-kit': '^0.1.0' });

  const project = path.join(root, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
  const ours = ['plugin-kit', 'kernels', 'core', 'collector-minmax', 'collector-entropy', 'collector-ifmr', 'collector-hfmg', 'collector-percentile', 'collector-mse', 'collector-autotune', 'report', 'cli'];
  run('npm', [...NPM_INSTALL, ...ours.map((p) => tarballs[p]!)], project);

  // `npx qcal` and a plain `qcal` on PATH, with no npm warning.
  let r = run('npx', ['--no', '--', 'qcal', '--version'], project);
  expect([r.stdout.trim(), r.stderr]).toEqual([version, '']);
  r = run('qcal', ['--version'], project, { PATH: `${path.join(project, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` });
  expect(r.stdout.trim()).toBe(version);

  // y = Relu(x·W), x = [k, -k, k/2, 1] for k = 1, 2, 3; W = 0.5 on the diagonal, -0.25 elsewhere.
  writeTinyProject(project, 3);
  fs.writeFileSync(path.join(project, 'with-plugin.json'), JSON.stringify({
    model: 'tiny.onnx', data: 'data', out: 'calib-out',
    plugins: ['../plugins/percentile'],
    collectors: ['minmax', ['example/percentile', { percentile: 50 }]],
  }));
  r = run('npx', ['--no', '--', 'qcal', 'calibrate', '--config', 'with-plugin.json'], project);
  expect(r.stderr).not.toMatch(/npm warn|npm WARN/);
  // By hand: h = x·W = [0.625k − 0.25, −0.875k − 0.25, 0.25k − 0.25, 0.5 − 0.125k].
  const minmax = tensorsOf(path.join(project, 'calib-out', 'minmax.table.json'));
  expect(minmax.x).toMatchObject({ min: -3, max: 3 });
  expect(minmax.h).toMatchObject({ min: -2.875, max: 1.625 });
  expect(minmax.y).toMatchObject({ min: 0, max: 1.625 });
  // Nearest-rank 50th percentile of the 12 values of |t| (rank 6): x → 1, h → 0.375, y → 0.25.
  const pct = tensorsOf(path.join(project, 'calib-out', 'example__percentile.table.json'));
  expect(pct.x).toMatchObject({ min: -1, max: 1 });
  expect(pct.h).toMatchObject({ min: -0.375, max: 0.375 });
  expect(pct.y).toMatchObject({ min: -0.25, max: 0.25 });

  // Installed from its folder instead (npm links it; Node resolves from the real path outside the
  // project), and found by the naming convention alone: no "plugins".
  run('npm', [...NPM_INSTALL, '../plugins/percentile'], project);
  r = run('npx', ['--no', '--', 'qcal', 'calibrate', '--model', 'tiny.onnx', '--data', 'data', '--collector', 'example/percentile', '--out', 'calib-linked'], project);
  // default percentile 99.99: rank ceil(0.9999 · 12) = 12, the largest |h|.
  expect(tensorsOf(path.join(project, 'calib-linked', 'example__percentile.table.json')).h).toMatchObject({ min: -2.875, max: 2.875 });

  // An ES-module plugin in a folder of its own resolves its imports itself: the error says how to
  // make the kit reachable, and that way works (installed as a copy, found by the naming convention).
  const esm = path.join(plugins, 'esm');
  fs.mkdirSync(esm);
  fs.writeFileSync(path.join(esm, 'package.json'), JSON.stringify({ name: '@acme/qcal-collector-half', version: '1.0.0', type: 'module', main: 'index.js', peerDependencies: { '@qcal/plugin-kit': '^0.1.0' } }));
  fs.writeFileSync(path.join(esm, 'index.js'), [
    "import { defineCollector, COLLECTOR_API_VERSION } from '@qcal/plugin-kit';",
    '// [-1/2, 1/2] for every tensor: a fixed range, enough to see it was loaded and run.',
    "export const collectors = [defineCollector({ name: 'acme/half', apiVersion: COLLECTOR_API_VERSION, optionsSchema: {}, defaultOptions: {},",
    '  create: () => ({ collect() {}, postCollect: (ctx) => Object.fromEntries(ctx.tensors.map((t) => [t.name, { min: -0.5, max: 0.5 }])) }) })];',
  ].join('\n'));
  const esmArgs = ['--no', '--', 'qcal', 'calibrate', '--model', 'tiny.onnx', '--data', 'data', '--collector', 'acme/half', '--out', 'calib-esm'];
  fs.writeFileSync(path.join(project, 'esm-by-path.json'), JSON.stringify({ plugins: ['../plugins/esm'] }));
  const failed = spawnSync('npx', [...esmArgs, '--config', 'esm-by-path.json'], { cwd: project, env: userEnv(), encoding: 'utf8' });
  expect(failed.status).toBe(2);
  expect(failed.stderr).toContain('npm install --install-links <plugin folder>');
  run('npm', [...NPM_INSTALL, '--install-links', '../plugins/esm'], project);
  run('npx', esmArgs, project);
  expect(tensorsOf(path.join(project, 'calib-esm', 'acme__half.table.json')).h).toMatchObject({ min: -0.5, max: 0.5 });
}, 300_000);
