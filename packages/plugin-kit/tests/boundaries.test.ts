/**
 * The plugin kit stays light and the collectors stay on it: what a third-party plugin can rely on
 * is exactly what the built-ins use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as kit from '@qcal/plugin-kit';
import * as testkit from '@qcal/plugin-kit/testkit';
import { REPO_ROOT } from '../../../test-support/paths';

const pkg = (dir: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, dir, 'package.json'), 'utf8'));
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|js)$/.test(e.name) ? [p] : [];
  });
}
const specifiers = (file: string) => [...fs.readFileSync(file, 'utf8').matchAll(/(?:from\s+|require\(|import\s+|import\()\s*'([^']+)'/g)].map((m) => m[1]!);

test('the kit has no dependency and imports nothing but its own files', () => {
  const p = pkg('packages/plugin-kit');
  expect(p.dependencies ?? {}).toEqual({});
  expect(p.peerDependencies ?? {}).toEqual({});
  const outside = sources(path.join(REPO_ROOT, 'packages/plugin-kit/src')).flatMap((f) => specifiers(f).filter((s) => !s.startsWith('.')).map((s) => `${path.basename(f)}: ${s}`));
  expect(outside).toEqual([]);
});

// A collector may build on another collector package's public kernels (collector-mse reuses the
// TensorRT/modelopt |x| histogram of collector-entropy) and on @qcal/kernels (the WebAssembly
// histogram kernels, a package without dependencies), as a third-party plugin could; never on the
// engine (@qcal/core, @qcal/cli, @qcal/report).
const allowed = (s: string) => s === '@qcal/plugin-kit' || s === '@qcal/kernels' || s.startsWith('@qcal/collector-');

test('@qcal/kernels, which collectors may use, depends on nothing and imports only Node built-ins', () => {
  const p = pkg('packages/kernels');
  expect(p.dependencies ?? {}).toEqual({});
  expect(p.peerDependencies ?? {}).toEqual({});
  const outside = sources(path.join(REPO_ROOT, 'packages/kernels/src')).flatMap((f) => specifiers(f).filter((s) => !s.startsWith('.') && !s.startsWith('node:')).map((s) => `${path.basename(f)}: ${s}`));
  expect(outside).toEqual([]);
});

test('built-in collectors and the example plugin import only @qcal/plugin-kit (and other collectors), never the engine', () => {
  const dirs = fs.readdirSync(path.join(REPO_ROOT, 'packages')).filter((d) => d.startsWith('collector-')).map((d) => `packages/${d}`);
  expect(dirs.length).toBeGreaterThanOrEqual(5);
  for (const dir of [...dirs, 'examples/collector-plugin']) {
    const p = pkg(dir);
    expect([dir, p.peerDependencies]).toEqual([dir, { '@qcal/plugin-kit': expect.any(String) }]);
    expect([dir, Object.keys(p.dependencies ?? {}).filter((d) => d.startsWith('@qcal/') && !allowed(d))]).toEqual([dir, []]);
    const src = dir.startsWith('examples') ? [path.join(REPO_ROOT, dir, 'index.js')] : sources(path.join(REPO_ROOT, dir, 'src'));
    const qcalImports = src.flatMap((f) => specifiers(f).filter((s) => s.startsWith('@qcal/')).map((s) => `${path.relative(REPO_ROOT, f)}: ${s}`));
    expect(qcalImports.filter((s) => !allowed(s.slice(s.lastIndexOf(': ') + 2)))).toEqual([]);
  }
});

test('the barrels export the chosen names', () => {
  expect(Object.keys(kit).sort()).toEqual([
    'COLLECTOR_API_VERSION', 'CalibrationError', 'ConfigError', 'DataError', 'ModelError', 'PluginError', 'QcalError', 'TableError', 'UsageError',
    'closest', 'decodeArray', 'decodeFloat64', 'defineCollector', 'editDistance', 'encodeArray', 'exitCodeFor', 'messageOf', 'mulberry32',
    'silentLogger', 'validateOptions', 'validateTable',
  ]);
  expect(Object.keys(testkit).sort()).toEqual(['expectArraysClose', 'expectClose', 'runCollector', 'testCollector']);
});
