import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeTinyProject } from '../../../test-support/tiny-model';
import { qcal, tmpDir, readJson } from './helpers';

const BIN = path.resolve(__dirname, '../dist/bin.js');

/** A plugin file whose postCollect returns `body` (JS source of an expression; `t` = the tensor names). */
function plugin(dir: string, body: string, extra = ''): string {
  const file = path.join(dir, 'evil.js');
  fs.writeFileSync(file, `${extra}
module.exports = { name: 'acme/evil', apiVersion: 1, optionsSchema: {}, defaultOptions: {},
  create(options, ctx) { const t = ctx.tensors.map((x) => x.name); return { collect() {}, postCollect() { return (${body}); } }; } };
`);
  return file;
}

function calibrateWith(dir: string, file: string, extra: string[] = []) {
  fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ plugins: [file], collectors: ['acme/evil'] }));
  return qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out', '--quiet', ...extra], dir);
}

/** Every tensor gets the range `expr` (JS source). */
const each = (expr: string) => `Object.fromEntries(t.map((n) => [n, ${expr}]))`;

describe('plugin output is validated as float32-finite plain data', () => {
  it.each([
    ['a range of ±1e300 (finite in float64, Infinity in float32)', each('({ min: -1e300, max: 1e300 })'), /min -1e\+300, max 1e\+300; expected float32-finite numbers .*float32 limit/],
    ['a range just past float32 max', each('({ min: -1, max: 3.4028236e38 })'), /float32 limit/],
    ['a throwing getter', `Object.fromEntries(t.map((n) => [n, { min: 0, get max() { throw new Error('boom'); } }]))`, /reading "max" threw: boom/],
    ['a cycle in an extra field', `Object.fromEntries(t.map((n) => { const r = { min: 0, max: 1 }; r.self = r; return [n, r]; }))`, /refers back to itself \(a cycle\)/],
    ['a BigInt', `Object.fromEntries(t.map((n) => [n, { min: 0n, max: 1 }]))`, /min 0n \(a BigInt\)/],
    ['a BigInt in an extra field', `Object.fromEntries(t.map((n) => [n, { min: 0, max: 1, count: 5n }]))`, /\.count is 5n \(a BigInt\) \(bigint\)/],
    ['a Proxy that throws on ownKeys', `new Proxy({}, { ownKeys() { throw new Error('trap'); } })`, /listing the returned tensors threw: trap/],
  ])('%s: exit 1, one coded line naming the plugin, no output', async (_what, body, msg) => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const r = await calibrateWith(dir, plugin(dir, body));
    expect(r.stderr).toMatch(/^qcal: error: \[QCAL_PLUGIN\] collector "acme\/evil" failed in postCollect/);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/TypeError|    at /);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('a float32-finite range with plain extras is written as given', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const r = await calibrateWith(dir, plugin(dir, each("({ min: -3.4e38, max: 2, note: { k: [1, 'a', null] } })")), ['--format', 'tensorrt']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = readJson(path.join(dir, 'out', 'acme__evil.table.json')).tensors;
    expect(t.y).toMatchObject({ min: -3.4e38, max: 2, note: { k: [1, 'a', null] } });
  });

  it('a hook that does not settle within --hook-timeout is an error naming the plugin (exit 1)', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    // setInterval keeps the event loop alive: only the timeout can end this.
    const r = await calibrateWith(dir, plugin(dir, `new Promise(() => { setInterval(() => {}, 1000).unref(); keep(); })`, 'let keep = () => { global.__k = setInterval(() => {}, 1000); };'), ['--hook-timeout', '0.5']);
    clearInterval((global as { __k?: NodeJS.Timeout }).__k);
    expect(r.stderr).toMatch(/\[QCAL_PLUGIN\] collector "acme\/evil" did not finish postCollect within 0\.5 s \(hookTimeout; raise it with --hook-timeout/);
    expect(r.code).toBe(1);
  });

  it('a plugin promise that never settles (empty event loop) ends with a coded error, not exit 0 without output', () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const file = plugin(dir, 'new Promise(() => {})');
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ plugins: [file], collectors: ['acme/evil'] }));
    const r = spawnSync(process.execPath, [BIN, 'calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out', '--quiet'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toMatch(/^qcal: error: \[QCAL_PLUGIN\] collector "acme\/evil" postCollect never settled/);
    expect(r.status).toBe(1);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('a config whose exported promise never settles: exit 2 naming the config', () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    fs.writeFileSync(path.join(dir, 'qcal.config.js'), 'module.exports = new Promise(() => {});\n');
    const r = spawnSync(process.execPath, [BIN, 'calibrate', '--model', 'tiny.onnx', '--data', 'data'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toMatch(/^qcal: error: \[QCAL_CONFIG\] loading the config .* never settled/);
    expect(r.status).toBe(2);
  });
});

describe('config keys are own keys', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('a config key %s is an unknown key (exit 2), not a crash or silently accepted', async (key) => {
    const dir = tmpDir();
    writeTinyProject(dir);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), `{ "model": "tiny.onnx", "data": "data", ${JSON.stringify(key)}: { "x": 1 } }`);
    const r = await qcal(['calibrate', '--out', 'out'], dir);
    expect(r.stderr).toMatch(new RegExp(`\\[QCAL_CONFIG\\] .*qcal\\.config\\.json: ${key.replace(/_/g, '_')}: unknown key`));
    expect(r.code).toBe(2);
  });

  it.each(['__proto__', 'constructor', 'toString'])('a collector option %s is an unknown option (exit 2)', async (key) => {
    const dir = tmpDir();
    writeTinyProject(dir);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), `{ "model": "tiny.onnx", "data": "data", "collectors": [["minmax", { ${JSON.stringify(key)}: { "symmetric": true } }]] }`);
    const r = await qcal(['calibrate', '--out', 'out'], dir);
    expect(r.stderr).toMatch(new RegExp(`unknown option "${key}"`));
    expect(r.code).toBe(2);
  });
});

describe('collector option schemas carry sane limits', () => {
  it.each([
    ['entropy', { numBins: 16777215 }, /option numBins must be <= 131072, got 16777215/],
    ['ifmr', { searchStep: 1e-9 }, /option searchStep must be >= 0\.0001, got 1e-9/],
    ['ifmr', { searchRange: [0, 1e9] }, /option searchRange must hold numbers <= 10/],
    ['autotune', { tuneSteps: 1e9 }, /option tuneSteps must be <= 1000, got 1000000000/],
  ])('%s %j: exit 2 before any inference', async (name, options, msg) => {
    const dir = tmpDir();
    writeTinyProject(dir);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ collectors: [[name, options]] }));
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out'], dir);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/qcal: tiny\.onnx: /); // the run's first log line: never reached
    expect(r.code).toBe(2);
  });
});

describe('plugin snapshots', () => {
  it('a snapshot() state with a cycle: exit 1 naming the plugin, no output (was a raw TypeError)', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const file = path.join(dir, 'snap.js');
    fs.writeFileSync(file, `module.exports = { name: 'acme/snap', apiVersion: 1, optionsSchema: {}, defaultOptions: {},
  create() { return { collect() {}, postCollect() { return {}; }, snapshot() { const s = { a: 1 }; s.self = s; return s; }, merge() {} }; } };\n`);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ plugins: [file], collectors: ['acme/snap'] }));
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 's1', '--shard', '1/2', '--quiet'], dir);
    expect(r.stderr).toMatch(/^qcal: error: \[QCAL_PLUGIN\] collector "acme\/snap" failed in snapshot: its state is not JSON data \(Converting circular structure to JSON/);
    expect(r.code).toBe(1);
    expect(fs.existsSync(path.join(dir, 's1'))).toBe(false);
  });
});
