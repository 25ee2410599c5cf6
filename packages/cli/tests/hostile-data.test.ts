import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { encodeModel, writeNpy, compilePatterns, DataType, type OnnxModel } from '@qcal/core';
import { writeTinyProject } from '../../../test-support/tiny-model';
import { qcal, tmpDir } from './helpers';

/** y = Relu(x), x: [1, 3, h, w] with symbolic h and w: any image size fits the model. */
function dynamicModel(): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'dyn',
      node: [{ input: ['x'], output: ['y'], name: 'relu', opType: 'Relu', attribute: [] }],
      initializer: [],
      input: [{ name: 'x', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimParam: 'h' }, { dimParam: 'w' }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } }],
      valueInfo: [],
    },
  } as OnnxModel;
}

function project(): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'dyn.onnx'), encodeModel(dynamicModel()));
  return dir;
}

const calibrate = (dir: string, data = 'data', extra: string[] = []) => qcal(['calibrate', '--model', 'dyn.onnx', '--data', data, '--out', 'out', '--quiet', ...extra], dir);

/** The 10-byte v1 .npy preamble + header dict for `shape` float32, padded to 64. */
function npyHeader(shape: number[]): Buffer {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, dict.length & 0xff, dict.length >> 8]);
  return Buffer.concat([pre, Buffer.from(dict, 'latin1')]);
}

/** A one-member zip whose central directory says `size` (and crc 0), whatever `data` inflates to. */
function zipOne(name: string, data: Buffer, method: number, size: number): Buffer {
  const fname = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(method, 8);
  local.writeUInt32LE(data.length, 18); local.writeUInt32LE(size, 22); local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(method, 10);
  central.writeUInt32LE(data.length, 20); central.writeUInt32LE(size, 24); central.writeUInt16LE(fname.length, 28);
  const cdOffset = 30 + fname.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0); eocd.writeUInt16LE(1, 8); eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(46 + fname.length, 12); eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, fname, data, central, fname, eocd]);
}

function expectDataError(r: { code: number; stderr: string }, msg: RegExp): void {
  expect(r.stderr).toMatch(/^qcal: error: \[QCAL_(DATA|MODEL)\] /);
  expect(r.stderr).toMatch(msg);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.code).toBe(2);
}

describe('hostile data: every size bounded before allocation, every failure one coded line', () => {
  it('a 128-byte .npy whose v2 header length is 2^31 (was a native abort, exit 134)', async () => {
    const dir = project();
    const b = Buffer.alloc(128, 0x20);
    Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0, 0, 0x80]).copy(b);
    fs.writeFileSync(path.join(dir, 'data', 'a.npy'), b);
    expectDataError(await calibrate(dir), /a\.npy: \.npy header claims 2147483648 bytes; headers are at most/);
  });

  it('an .npz member that inflates far beyond what its directory says is stopped at that size', async () => {
    const dir = project();
    const header = npyHeader([1, 3, 8, 8]);
    const honest = header.length + 3 * 8 * 8 * 4;
    // 64 MiB of zeros after the header, deflated (~64 KB); the directory claims the honest size.
    const bomb = zlib.deflateRawSync(Buffer.concat([header, Buffer.alloc(64 * 1024 * 1024)]), { level: 1 });
    fs.writeFileSync(path.join(dir, 'data', 'b.npz'), zipOne('x.npy', bomb, 8, honest));
    const before = process.memoryUsage().rss;
    expectDataError(await calibrate(dir), /b\.npz\[x\.npy\]: inflates to more than the \d+ bytes the zip directory says/);
    // Not a timing or exact-memory assertion: the 64 MiB were never materialised (generous bound).
    expect(process.memoryUsage().rss - before).toBeLessThan(48 * 1024 * 1024);
  });

  it('a directory size that disagrees with the .npy header is refused before inflating', async () => {
    const dir = project();
    const npy = Buffer.concat([npyHeader([1, 3, 8, 8]), Buffer.alloc(3 * 8 * 8 * 4)]);
    fs.writeFileSync(path.join(dir, 'data', 'c.npz'), zipOne('x.npy', zlib.deflateRawSync(npy), 8, 1_000_000_000));
    expectDataError(await calibrate(dir), /c\.npz\[x\.npy\]: the zip directory says 1000000000 bytes, but shape \[1, 3, 8, 8\] float32 takes 896 \(corrupt \.npz\)/);
  });

  it.each(['npy', 'npz'])('a genuine %s of shape [1, 3, 8192, 8192] (805 MB) is refused by limits.maxSampleElements, before reading it', async (kind) => {
    const dir = project();
    const header = npyHeader([1, 3, 8192, 8192]);
    const bytes = 3 * 8192 * 8192 * 4;
    const file = path.join(dir, 'data', `big.${kind}`);
    if (kind === 'npy') {
      fs.writeFileSync(file, header);
      fs.truncateSync(file, header.length + bytes); // sparse: no disk used
    } else {
      // A stored member of the full size, built sparse: local header, then a hole, then the directory.
      const fname = Buffer.from('x.npy');
      const zip = zipOne('x.npy', Buffer.alloc(0), 0, header.length + bytes);
      const local = zip.subarray(0, 30 + fname.length);
      local.writeUInt32LE(header.length + bytes, 18);
      const tail = Buffer.from(zip.subarray(30 + fname.length));
      tail.writeUInt32LE(header.length + bytes, 20);
      tail.writeUInt32LE(30 + fname.length + header.length + bytes, 46 + fname.length + 16);
      const fd = fs.openSync(file, 'w');
      fs.writeSync(fd, local, 0, local.length, 0);
      fs.writeSync(fd, header, 0, header.length, local.length);
      fs.writeSync(fd, tail, 0, tail.length, local.length + header.length + bytes);
      fs.closeSync(fd);
    }
    const r = await calibrate(dir);
    expectDataError(r, /input 'x' gets \[1, 3, 8192, 8192\] = 201326592 elements, more than limits\.maxSampleElements \(67108864\); raise it with "limits": \{ "maxSampleElements": N \}/);
  });

  it('a 24000×24000 1-bpp BMP (own BMP decoder) is refused by the pixel limit before decoding', async () => {
    const dir = project();
    const w = 24000;
    const rowBytes = Math.ceil(w / 32) * 4;
    const head = Buffer.alloc(62);
    head.write('BM', 0); head.writeUInt32LE(62, 10); head.writeUInt32LE(40, 14);
    head.writeInt32LE(w, 18); head.writeInt32LE(w, 22); head.writeUInt16LE(1, 26); head.writeUInt16LE(1, 28);
    head.writeUInt32LE(0x00ffffff, 58); // palette: black, white
    const file = path.join(dir, 'data', 'huge.bmp');
    fs.writeFileSync(file, head);
    fs.truncateSync(file, 62 + rowBytes * w);
    const r = await qcal(['calibrate', '--model', 'dyn.onnx', '--data', 'data', '--out', 'out', '--quiet', '--preprocess', 'imagenet'], dir);
    expectDataError(r, /huge\.bmp: image of 24000×24000 pixels is larger than limits\.maxImagePixels \(268402689\)/);
  });

  it.each([
    ['/dev/zero', () => '/dev/zero', /\/dev\/zero: not a regular file \(a device\)/],
    ['a FIFO', (dir: string) => { execFileSync('mkfifo', [path.join(dir, 'm.onnx')]); return 'm.onnx'; }, /m\.onnx: not a regular file \(a FIFO\)/],
    ['a directory', (dir: string) => { fs.mkdirSync(path.join(dir, 'm.onnx')); return 'm.onnx'; }, /m\.onnx: not a regular file \(a directory\)/],
  ])('--model %s: exit 2 at once', async (_what, make, msg) => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'data', 'a.npy'), writeNpy(new Float32Array(12), [1, 3, 2, 2], 'float32'));
    const r = await qcal(['calibrate', '--model', make(dir), '--data', 'data', '--out', 'out'], dir);
    expectDataError(r, msg);
  });

  it('--data naming a FIFO: exit 2 at once (no read that never ends)', async () => {
    const dir = project();
    execFileSync('mkfifo', [path.join(dir, 'list.txt')]);
    expectDataError(await calibrate(dir, 'list.txt'), /list\.txt: not a directory or a regular file/);
  });

  it('symbolic links to . and to a parent: each real directory walked once, each file counted once', async () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'data', 'a.npy'), writeNpy(Float32Array.from({ length: 12 }, (_, i) => i), [1, 3, 2, 2], 'float32'));
    fs.mkdirSync(path.join(dir, 'data', 'sub'));
    fs.writeFileSync(path.join(dir, 'data', 'sub', 'b.npy'), writeNpy(Float32Array.from({ length: 12 }, (_, i) => -i), [1, 3, 2, 2], 'float32'));
    for (const n of ['l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8']) fs.symlinkSync('.', path.join(dir, 'data', n));
    fs.symlinkSync('..', path.join(dir, 'data', 'sub', 'up'));
    fs.symlinkSync('../a.npy', path.join(dir, 'data', 'sub', 'a-again.npy'));
    const r = await qcal(['calibrate', '--model', 'dyn.onnx', '--data', 'data', '--out', 'out'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/directory \S+ \(2 \.npy\): 2 of 2 samples/);
  });

  it('a zero-size shape is bad input (exit 2), not a failed run (exit 1)', async () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'data', 'z.npy'), writeNpy(new Float32Array(0), [1, 3, 0, 4], 'float32'));
    expectDataError(await calibrate(dir), /z\.npy: input 'x' gets an empty array \[1, 3, 0, 4\]/);
  });

  it('limits can be raised in the config (and are validated)', async () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'data', 'a.npy'), writeNpy(new Float32Array(12), [1, 3, 2, 2], 'float32'));
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ limits: { maxSampleElements: 8 } }));
    expectDataError(await calibrate(dir), /= 12 elements, more than limits\.maxSampleElements \(8\)/);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ limits: { maxSampleElements: 12, maxPixels: 5 } }));
    const r = await calibrate(dir);
    expect(r.stderr).toMatch(/limits\.maxPixels: unknown limit/);
    expect(r.code).toBe(2);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ limits: { maxSampleElements: 12 } }));
    expect((await calibrate(dir)).code).toBe(0);
  });
});

describe('user regular expressions cannot run away', () => {
  const long = { name: `${'a'.repeat(60)}Y`, opName: '', opType: 'Relu', consumers: [] } as never;
  it('/^(.+)+X$/ on a 61-character tensor name returns (linear-time engine; backtracking would take ~2^60 steps)', () => {
    const [p] = compilePatterns(['/^(.+)+X$/'], 'exclude');
    expect(p!.test(long)).toBe(false);
    expect(compilePatterns(['/^(.+)+Y$/'], 'exclude')[0]!.test(long)).toBe(true);
  });
  it('a pattern that needs backtracking (a backreference) with a nested quantifier is refused with a reason; lookbehind without one works', () => {
    expect(() => compilePatterns(['/^(a+)+\\1$/'], 'exclude')).toThrow(/exclude\[0\]: "\/\^\(a\+\)\+\\1\$\/" has a nested quantifier/);
    expect(compilePatterns(['/(?<=conv)_out/'], 'include')[0]!.test({ name: 'conv_out', opName: '' } as never)).toBe(true);
    expect(() => compilePatterns([`/${'a'.repeat(1001)}/`], 'include')).toThrow(/at most 1000/);
  });
  it('a nested-quantifier pattern in the config: calibrate completes with the right selection', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out', '--exclude', '/^(.*)+h$/', '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'minmax.table.json'), 'utf8')).tensors).sort()).toEqual(['x', 'y']);
  });
});

describe('configs and batches that expand', () => {
  it('a YAML config whose aliases expand to 10^9 values: exit 2 at once (was a RangeError stack)', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    const lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
    fs.writeFileSync(path.join(dir, 'qcal.config.yaml'), `${lines.join('\n')}\npreprocess: *a8\n`);
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out'], dir);
    expect(r.stderr).toMatch(/qcal\.config\.yaml: expands to more than 100000 values/);
    expect(r.stderr).not.toMatch(/RangeError|    at /);
    expect(r.code).toBe(2);
  });

  it('a batch larger than limits.maxBatchElements is refused on the headers, before loading', async () => {
    const dir = tmpDir();
    writeTinyProject(dir, 4);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({ limits: { maxBatchElements: 12 } }));
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out', '--batch-size', '4'], dir);
    expect(r.stderr).toMatch(/stacks 16 elements for input 'x' \(4 samples, batchSize 4\), more than limits\.maxBatchElements \(12\); use a smaller --batch-size/);
    expect(r.code).toBe(2);
    expect((await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out', '--batch-size', '1', '--quiet'], dir)).code).toBe(0);
  });
});

describe('deeply nested JSON (recursive code downstream would overflow the stack)', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  it('a table nested 10^6 levels: exit 2, one line (was a RangeError stack)', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'deep.table.json'), `{"collector":"c","tensors":{"x":{"op":"o","min":0,"max":1,"e":${deep(1_000_000)}}}}`);
    const r = await qcal(['convert', 'deep.table.json', '--to', 'json', '--out', 'y.json'], dir);
    expect(r.stderr).toMatch(/^qcal: error: \[QCAL_TABLE\] \S+deep\.table\.json: values nested more than 64 levels deep/);
    expect(r.code).toBe(2);
  });
  it('a config nested 50,000 levels: exit 2', async () => {
    const dir = tmpDir();
    writeTinyProject(dir);
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), `{"preprocess":{"x":${deep(50_000)}}}`);
    const r = await qcal(['calibrate', '--model', 'tiny.onnx', '--data', 'data', '--out', 'out'], dir);
    expect(r.stderr).toMatch(/qcal\.config\.json: values nested more than 64 levels deep/);
    expect(r.code).toBe(2);
  });
});

describe('table files that would read back as a different table', () => {
  it.each([
    ['a TensorRT cache naming a tensor twice', 'd.cache', 'TRT-8601-EntropyCalibration2\nx: 3c010204\nx: 3d010204\n', /d\.cache:3: tensor "x" appears twice/],
    ['a tpu-mlir table naming a tensor twice', 'd.cali_table', '# tpu\nx 1.0 -1.0 1.0\nx 2.0 -2.0 2.0\n', /d\.cali_table:3: tensor "x" appears twice/],
    ['an onnxruntime cache naming a tensor twice', 'calibration.cache', 'x 1.0\nx 2.0\n', /calibration\.cache:2: tensor "x" appears twice/],
  ])('%s: exit 2 (was last-one-wins, exit 0)', async (_what, name, text, msg) => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, name), text);
    const r = await qcal(['convert', name, '--to', 'json', '--out', 'o.json'], dir);
    expect(r.stderr).toMatch(msg);
    expect(r.code).toBe(2);
  });

  it('a tensor named __proto__ in a TensorRT cache is a tensor like any other (was silently dropped)', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'p.cache'), 'TRT-8601-EntropyCalibration2\n__proto__: 3c010204\ny: 3c010204\n');
    const r = await qcal(['convert', 'p.cache', '--to', 'json', '--out', 'o.json'], dir);
    expect(r.code).toBe(0);
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'o.json'), 'utf8')).tensors).sort()).toEqual(['__proto__', 'y']);
  });
});
