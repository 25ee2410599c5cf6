import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COLLECTOR_API_VERSION } from '../../src/collector';
import { ConfigError, PluginError, exitCodeFor } from '../../src/errors';
import { createContainer, loadCollectors, loadInstalledCollectors, instantiateCollector } from '../../src/plugins';
import { conventionalPackage } from '../../src/plugins/collector-names';
import { COLLECTORS, COLLECTOR_DEFINITIONS, LOGGER, resolveToken } from '../../src/tokens';
import { silentLogger } from '../../src/logger';

let dir: string;
const cwd = path.resolve(__dirname, '../../../..');

/** Writes a CommonJS plugin file into the temp dir; `body` is the module source. */
function plugin(file: string, body: string): string {
  const p = path.join(dir, file);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, body);
  return `./${file}`;
}
const def = (fields: string) => `module.exports = { collectors: [{ apiVersion: ${COLLECTOR_API_VERSION}, optionsSchema: {}, defaultOptions: {}, create: () => ({ collect() {}, postCollect() { return {}; } }), ${fields} }] };`;

function caught(fn: () => unknown): Error & { problems: readonly string[]; plugin?: string } {
  try { fn(); } catch (e) { return e as Error & { problems: readonly string[] }; }
  throw new Error('expected a throw');
}

beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qcal-plugins-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe('built-ins', () => {
  test('"minmax" loads @qcal/collector-minmax through the plugin path, default collectors ["minmax"] shape', () => {
    const { collectors, registry, modules } = loadCollectors(['minmax', ['minmax', { symmetric: true }]].slice(1) as never, { configDir: dir, cwd });
    expect(collectors).toHaveLength(1);
    expect(collectors[0]).toMatchObject({ name: 'minmax', source: '@qcal/collector-minmax', options: { movingAverage: false, averagingConstant: 0.01, symmetric: true } });
    expect(Object.isFrozen(collectors[0]!.options)).toBe(true);
    expect(registry.get('minmax')!.builtin).toBe(true);
    expect(modules.map((m) => m.spec)).toEqual(['@qcal/collector-minmax']);
  });
  test('include/exclude are split off the options', () => {
    const { collectors } = loadCollectors([['minmax', { include: ['op:Conv'], exclude: ['*head*'], symmetric: true }]], { configDir: dir, cwd });
    expect(collectors[0]!.include).toEqual(['op:Conv']);
    expect(collectors[0]!.exclude).toEqual(['*head*']);
    expect(collectors[0]!.options).not.toHaveProperty('include');
  });
  test('unknown name: did you mean', () => {
    const e = caught(() => loadCollectors(['minmx'], { configDir: dir, cwd }));
    expect(e).toBeInstanceOf(PluginError);
    // cwd is the repository, where the example plugin is linked under its conventional name
    expect(e.message).toBe('unknown collector "minmx" (did you mean "minmax"?); installed collectors: minmax, entropy, ifmr, hfmg, autotune, percentile, mse, example/percentile');
    expect(exitCodeFor(e)).toBe(2);
  });
  test('every built-in loads through the plugin path and defines its collector', () => {
    const names = ['minmax', 'entropy', 'ifmr', 'hfmg', 'autotune', 'percentile', 'mse'];
    const { collectors } = loadCollectors(names, { configDir: dir, cwd });
    expect(collectors.map((c) => [c.name, c.source])).toEqual(names.map((n) => [n, `@qcal/collector-${n}`]));
  });
  test('option problems of every collector at once, before anything runs', () => {
    plugin('p.js', `module.exports = { collectors: [{ name: 'acme/p', apiVersion: 1, optionsSchema: { q: { type: 'number', min: 0, max: 100, description: 'q' } }, defaultOptions: { q: 50 }, create() {} }] };`);
    const e = caught(() => loadCollectors([['minmax', { symetric: true, averagingConstant: 2 }], ['acme/p', { q: 'x', include: 'conv' }], 7 as never], { configDir: dir, cwd, plugins: ['./p.js'] }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.problems).toEqual([
      'collectors[2]: found 7, expected a collector name or [name, options]',
      'collector "minmax": unknown option "symetric" (did you mean "symmetric"?); known options: movingAverage, averagingConstant, symmetric, meanMinMax',
      'collector "minmax": option averagingConstant must be <= 1, got 2',
      'collector "acme/p": option include must be an array of patterns (strings), got "conv"',
      'collector "acme/p": option q must be a finite number, got "x"',
    ]);
  });
  test('the same collector twice', () => {
    expect(() => loadCollectors(['minmax', 'minmax'], { configDir: dir, cwd })).toThrow('collector "minmax" is listed twice in "collectors"; its tables would overwrite each other');
  });
  test('loadInstalledCollectors lists the built-ins that define something', () => {
    const { registry } = loadInstalledCollectors({ configDir: dir, cwd });
    expect([...registry.keys()]).toContain('minmax');
  });
});

describe('unknown collector names', () => {
  const problemOf = (name: string) => caught(() => loadCollectors([name], { configDir: dir, cwd: dir })).problems[0]!;
  test('a bare word is never offered as a package: a synonym or typo of an installed collector', () => {
    expect(problemOf('kl')).toBe('unknown collector "kl" (did you mean "entropy"?); installed collectors: minmax, entropy, ifmr, hfmg, autotune, percentile, mse');
    expect(problemOf('MAX')).toMatch(/^unknown collector "MAX" \(did you mean "minmax"\?\)/);
    expect(problemOf('hfgm')).toMatch(/^unknown collector "hfgm" \(did you mean "hfmg"\?\)/);
    const far = problemOf('zzzz');
    expect(far).toBe('unknown collector "zzzz": bare names are the built-in collectors, and third-party collectors are namespaced ("<ns>/<name>", from the package "@<ns>/qcal-collector-<name>"); installed collectors: minmax, entropy, ifmr, hfmg, autotune, percentile, mse');
    for (const m of [problemOf('kl'), far]) expect(m).not.toMatch(/npm install/);
  });
  test('a namespaced name: the package the naming convention gives, not the namespace', () => {
    expect(conventionalPackage('acme/x')).toBe('@acme/qcal-collector-x');
    expect(conventionalPackage('@acme/x')).toBe('@acme/qcal-collector-x');
    expect(conventionalPackage('Acme/Percentile')).toBe('@acme/qcal-collector-percentile');
    expect(conventionalPackage('entropy')).toBeUndefined();
    expect(conventionalPackage('acme/x/y')).toBeUndefined();
    for (const name of ['acme/x', '@acme/x']) {
      const m = problemOf(name);
      expect(m).toContain('`npm install @acme/qcal-collector-x`');
      expect(m).not.toMatch(/npm install @?acme\b(?!\/qcal-collector-x)/);
    }
  });
  /** Writes node_modules/@acme/qcal-collector-<name> defining a collector `defines`. */
  function conventionalPackageDir(name: string, defines: string): void {
    const pkg = path.join(dir, 'node_modules', '@acme', `qcal-collector-${name}`);
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: `@acme/qcal-collector-${name}`, main: 'index.js' }));
    fs.writeFileSync(path.join(pkg, 'index.js'), def(`name: '${defines}'`));
  }
  test('a namespaced collector is loaded from its conventional package without "plugins"', () => {
    conventionalPackageDir('pct', 'acme/pct');
    const { collectors } = loadCollectors(['acme/pct'], { configDir: dir, cwd: dir });
    expect(collectors.map((c) => [c.name, c.source])).toEqual([['acme/pct', '@acme/qcal-collector-pct']]);
    // a typo of it is a typo, not a package to install (installed by the convention: no "plugins" needed)
    const e = caught(() => loadCollectors(['acme/pcd'], { configDir: dir, cwd: dir }));
    expect(e.problems[0]).toMatch(/^unknown collector "acme\/pcd" \(did you mean "acme\/pct"\?\); installed collectors: minmax, entropy, ifmr, hfmg, autotune, percentile, mse, acme\/pct$/);
    // and `qcal collectors` lists it
    const { registry } = loadInstalledCollectors({ configDir: dir, cwd: dir });
    expect(registry.get('acme/pct')).toMatchObject({ source: '@acme/qcal-collector-pct', builtin: false });
  });
  test('the conventional package must define the collector it is named for', () => {
    conventionalPackageDir('wrong', 'acme/other');
    const e = caught(() => loadCollectors(['acme/wrong'], { configDir: dir, cwd: dir }));
    expect(e.problems[0]).toBe('plugin @acme/qcal-collector-wrong (the package for collector "acme/wrong" by the naming convention) does not define "acme/wrong"; it defines "acme/other"');
  });
});

describe('third-party modules', () => {
  test('resolved from the config folder first, then the working directory', () => {
    const sub = path.join(dir, 'cfg');
    fs.mkdirSync(sub);
    plugin('cfg/x.js', def(`name: 'acme/from-config-dir'`));
    plugin('x.js', def(`name: 'acme/from-cwd'`));
    plugin('only-cwd.js', def(`name: 'acme/only-cwd'`));
    const { registry } = loadCollectors([], { configDir: sub, cwd: dir, plugins: ['./x.js', './only-cwd.js'] });
    expect([...registry.keys()]).toEqual(['acme/from-config-dir', 'acme/only-cwd']);
  });
  test('a collector named by its path (module defining one collector)', () => {
    plugin('one.js', def(`name: '@acme/one'`));
    expect(loadCollectors(['./one.js'], { configDir: dir, cwd }).collectors[0]!.name).toBe('@acme/one');
  });
  test('a missing path or package names the file or the package to install', () => {
    const e = caught(() => loadCollectors(['acme/x'], { configDir: dir, cwd: dir, plugins: ['./nope.js', '@acme/qcal-y/sub'] }));
    expect(e).toBeInstanceOf(PluginError);
    expect(e.problems).toEqual([
      `cannot find plugin module "./nope.js" (looked for ${path.join(dir, 'nope.js')})`,
      `cannot find plugin package "@acme/qcal-y": install it with \`npm install @acme/qcal-y\` in ${dir}`,
      `unknown collector "acme/x": no loaded plugin defines it ("./nope.js", "@acme/qcal-y/sub" failed to load (see above)), and its package by the naming convention, "@acme/qcal-collector-x", is not installed; install it with \`npm install @acme/qcal-collector-x\` in ${dir}, or add the module that defines "acme/x" to "plugins"; installed collectors: minmax, entropy, ifmr, hfmg, autotune, percentile, mse`,
    ]);
  });
  test('every shape problem, with what the author must fix', () => {
    plugin('bad.js', `module.exports = { collectors: [
      { apiVersion: 1, optionsSchema: {}, defaultOptions: {}, create() {} },
      { name: 'percentile', apiVersion: 1, optionsSchema: {}, defaultOptions: {}, create() {} },
      { name: 'acme/v', optionsSchema: {}, defaultOptions: {}, create() {} },
      { name: 'acme/v2', apiVersion: ${COLLECTOR_API_VERSION + 1}, optionsSchema: {}, defaultOptions: {}, create() {} },
      { name: 'acme/c', apiVersion: 1, optionsSchema: {}, defaultOptions: {}, create: 3 },
      { name: 'acme/s', apiVersion: 1, optionsSchema: [], defaultOptions: {}, create() {} },
      { name: 'acme/d', apiVersion: 1, optionsSchema: { p: { type: 'number', max: 100, description: 'p' } }, defaultOptions: { p: 101 }, create() {} },
    ] };`);
    const e = caught(() => loadCollectors([], { configDir: dir, cwd, plugins: ['./bad.js'] }));
    expect(e).toBeInstanceOf(PluginError);
    expect((e as PluginError).plugin).toBe('./bad.js');
    expect(e.problems).toEqual([
      'plugin ./bad.js: collector definition has no "name" (found undefined); set name: "<scope>/<collector>", e.g. "acme/percentile"',
      'plugin ./bad.js, collector "percentile": name "percentile" is not namespaced; third-party collectors must be named "<scope>/<name>" (e.g. "acme/percentile" or "@acme/percentile"): bare names are reserved for built-in collectors',
      'plugin ./bad.js, collector "acme/v": apiVersion must be set to COLLECTOR_API_VERSION (imported from @qcal/plugin-kit), found undefined',
      `plugin ./bad.js, collector "acme/v2": written for collector API version ${COLLECTOR_API_VERSION + 1}, but this @qcal/core implements version ${COLLECTOR_API_VERSION}; upgrade @qcal/core or use a release of the plugin for API version ${COLLECTOR_API_VERSION}`,
      'plugin ./bad.js, collector "acme/c": create must be a function (options, ctx) => collector, found number 3',
      'plugin ./bad.js, collector "acme/s": optionsSchema must be an object mapping each option to { type, description } (use {} when there are no options), found an array',
      "plugin ./bad.js, collector \"acme/d\": defaultOptions do not satisfy the plugin's own optionsSchema: defaultOptions: option p must be <= 100, got 101",
    ]);
    expect(e.message.split('\n')[0]).toBe('7 plugin problems:');
  });
  test('duplicate names across plugins and within one', () => {
    plugin('a.js', def(`name: 'acme/x'`));
    plugin('b.js', def(`name: 'acme/x'`));
    plugin('c.js', `const d = () => ({ name: 'acme/y', apiVersion: 1, optionsSchema: {}, defaultOptions: {}, create() {} }); module.exports = { collectors: [d()], default: d() };`);
    const e = caught(() => loadCollectors([], { configDir: dir, cwd, plugins: ['./a.js', './b.js', './c.js'] }));
    expect(e.problems).toEqual([
      'collector "acme/x" is defined twice: by ./a.js and by ./b.js; remove one of them from "plugins"',
      'plugin ./c.js: exports two different collectors named "acme/y"',
    ]);
  });
  test('a module with no collector, and one that throws on load', () => {
    plugin('none.js', 'exports.foo = 1;');
    plugin('throws.js', 'throw new Error("boom");');
    const e = caught(() => loadCollectors([], { configDir: dir, cwd, plugins: ['./none.js', './throws.js'] }));
    expect(e.problems[0]).toBe('plugin ./none.js: exports no collector; export { collectors: [definition] } or a default definition made with defineCollector (found exports: foo)');
    expect(e.problems[1]).toBe(`plugin ./throws.js (${path.join(dir, 'throws.js')}) failed to load: boom`);
  });
  test('classes and factories are wrapped, their options passed through; default export definitions', () => {
    plugin('fn.js', `
      class Cls { constructor(options, ctx) { this.options = options; this.n = ctx.tensors.length; } collect() {} postCollect() { return { a: { min: -this.options.k, max: this.n } }; } }
      const factory = (options) => ({ collect() {}, postCollect: () => ({ a: { min: 0, max: options.k } }) });
      function legacy(options) { return { collect() {}, postCollect: () => ({ a: { min: 1, max: options.k } }) }; }
      exports.collectors = { 'acme/cls': Cls, 'acme/factory': factory, 'acme/legacy': legacy };
      exports.default = { name: 'acme/def', apiVersion: 1, optionsSchema: {}, defaultOptions: {}, create: () => ({ collect() {}, postCollect: () => ({ a: { min: 0, max: 0 } }) }) };`);
    const { collectors, registry } = loadCollectors([['acme/cls', { k: 2 }], ['acme/factory', { k: 3 }], ['acme/legacy', { k: 4 }]], { configDir: dir, cwd, plugins: ['./fn.js'] });
    expect([...registry.keys()].sort()).toEqual(['acme/cls', 'acme/def', 'acme/factory', 'acme/legacy']);
    const ctx = { tensors: [{ name: 'a', opName: 'a_op', opType: 'X', consumers: [] }], logger: silentLogger };
    const post = { tensors: ctx.tensors, samples: 1, batches: 1, logger: silentLogger };
    expect(collectors.map((c) => instantiateCollector(c, ctx).postCollect(post))).toEqual([{ a: { min: -2, max: 1 } }, { a: { min: 0, max: 3 } }, { a: { min: 1, max: 4 } }]);
  });
  test('a bare function in a collectors array, a non-function register', () => {
    plugin('f.js', 'exports.collectors = [function Foo() {}]; exports.register = 1;');
    const e = caught(() => loadCollectors([], { configDir: dir, cwd, plugins: ['./f.js'] }));
    expect(e.problems).toEqual([
      'plugin ./f.js: collectors[0] is a function without a name; export collectors as an object { "acme/name": Foo } or wrap it with defineCollector',
      'plugin ./f.js: "register" must be a function (container) => void, found number',
    ]);
  });
});

describe('createContainer', () => {
  test('a child container with the registry, the collectors and the plugins\' register hooks', () => {
    plugin('r.js', `${def(`name: 'acme/r'`)}\nmodule.exports.register = (c) => c.register('acme.service', { useValue: 42 });`);
    const loaded = loadCollectors(['minmax'], { configDir: dir, cwd, plugins: ['./r.js'] });
    const c = createContainer(undefined, { collectors: loaded });
    expect(resolveToken(c, LOGGER)).toBe(silentLogger);
    expect([...resolveToken(c, COLLECTOR_DEFINITIONS).keys()]).toEqual(['acme/r', 'minmax']);
    expect(resolveToken(c, COLLECTORS).map((x) => x.name)).toEqual(['minmax']);
    expect(c.resolve('acme.service')).toBe(42);
    const child = createContainer(c);
    expect(child.resolve('acme.service')).toBe(42);
  });
  test('a failing register hook is a PluginError naming the plugin', () => {
    plugin('rf.js', `${def(`name: 'acme/rf'`)}\nmodule.exports.register = () => { throw new Error('nope'); };`);
    const loaded = loadCollectors([], { configDir: dir, cwd, plugins: ['./rf.js'] });
    expect(() => createContainer(undefined, { collectors: loaded })).toThrow('plugin ./rf.js failed in register(container): nope');
  });
});
