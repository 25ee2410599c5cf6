import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeNpy } from '@qcal/core';
import { CLS_MODEL, REC_MODEL } from '../../../test-support/paths';
import { qcal, tmpDir, writeSamples } from './helpers';

/** Every bad input: exit 2, a message naming the culprit, and the existing table left untouched. */
describe('bad input gives a clear error, exit 2, and nothing written', () => {
  const SENTINEL = '{"sentinel": true}\n';
  let dir: string;
  beforeEach(() => {
    dir = tmpDir();
    writeSamples(path.join(dir, 'data'), [[1, 3, 48, 192]]);
    fs.mkdirSync(path.join(dir, 'out'));
    fs.writeFileSync(path.join(dir, 'out', 'minmax.table.json'), SENTINEL);
  });
  const expectUntouched = (): void => {
    expect(fs.readFileSync(path.join(dir, 'out', 'minmax.table.json'), 'utf8')).toBe(SENTINEL);
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual(['minmax.table.json']);
  };
  const run = (...args: string[]) => qcal(['calibrate', '--out', 'out', '--quiet', ...args], dir);

  it('a truncated model file', async () => {
    fs.writeFileSync(path.join(dir, 'cut.onnx'), fs.readFileSync(CLS_MODEL).subarray(0, 100_000));
    const r = await run('--model', 'cut.onnx', '--data', 'data');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/QCAL_MODEL.*cut\.onnx/);
    expectUntouched();
  });

  it('a file that is not an ONNX model', async () => {
    fs.writeFileSync(path.join(dir, 'notes.onnx'), 'hello, this is text\n'.repeat(50));
    const r = await run('--model', 'notes.onnx', '--data', 'data');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/notes\.onnx.*(not a readable ONNX model|not an ONNX model)/);
    expectUntouched();
  });

  it('a data file whose shape does not fit the input (height 32 for a fixed 48)', async () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'short.npy'), writeNpy(new Float32Array(3 * 32 * 100), [1, 3, 32, 100], 'float32'));
    const r = await run('--model', REC_MODEL, '--data', 'bad');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/QCAL_DATA/);
    expect(r.stderr).toMatch(/short\.npy/);
    expect(r.stderr).toMatch(/\bx\b/);
    expectUntouched();
  });

  it('a data file of the wrong dtype', async () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'ints.npy'), writeNpy(new BigInt64Array(3 * 48 * 192), [1, 3, 48, 192], 'int64'));
    const r = await run('--model', CLS_MODEL, '--data', 'bad');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ints\.npy/);
    expect(r.stderr).toMatch(/int64/);
    expectUntouched();
  });

  it('an .npz without the model input name', async () => {
    const bad = path.join(dir, 'bad');
    fs.mkdirSync(bad);
    // A stored (uncompressed) zip with one member "image.npy", written by hand.
    fs.writeFileSync(path.join(bad, 'other.npz'), storedZip('image.npy', writeNpy(new Float32Array(3 * 48 * 192), [1, 3, 48, 192], 'float32')));
    const r = await run('--model', CLS_MODEL, '--data', 'bad');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/other\.npz/);
    expect(r.stderr).toMatch(/\bx\b/);
    expectUntouched();
  });

  it('an empty data directory', async () => {
    fs.mkdirSync(path.join(dir, 'empty'));
    const r = await run('--model', CLS_MODEL, '--data', 'empty');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/QCAL_DATA.*empty/);
    expectUntouched();
  });

  it('an unknown collector, with a suggestion', async () => {
    const r = await run('--model', CLS_MODEL, '--data', 'data', '--collector', 'entropyy');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown collector "entropyy" \(did you mean "entropy"\?\)/);
    expectUntouched();
  });

  it('unknown collectors: the installed one meant, or the package a namespaced one comes from; never `npm install <word>`', async () => {
    let r = await run('--model', CLS_MODEL, '--data', 'data', '--collector', 'kl');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown collector "kl" \(did you mean "entropy"\?\)/);
    expect(r.stderr).not.toMatch(/npm install/);
    r = await run('--model', CLS_MODEL, '--data', 'data', '--collector', 'acme/x');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/`npm install @acme\/qcal-collector-x`/);
    expect(r.stderr).not.toMatch(/npm install acme\b/);
    expectUntouched();
  });

  it('an include pattern that matches nothing', async () => {
    const r = await run('--model', CLS_MODEL, '--data', 'data', '--include', 'op:LSTM');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"op:LSTM" matches no tensor/);
    expectUntouched();
  });

  it('a missing model and unknown flags', async () => {
    let r = await run('--model', 'missing.onnx', '--data', 'data');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.onnx/);
    r = await qcal(['calibrate', '--modle', 'x.onnx'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option --modle \(did you mean --model\?\)/);
    r = await qcal(['calibrat'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/did you mean "calibrate"/);
    expectUntouched();
  });
});

/** A minimal stored zip (no compression) with one member. */
function storedZip(name: string, data: Uint8Array): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const b of data) crc = crcTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  crc = (crc ^ 0xffffffff) >>> 0;
  const nameBuf = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBuf.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24); central.writeUInt16LE(nameBuf.length, 28);
  const cdOffset = 30 + nameBuf.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + nameBuf.length, 12); end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, nameBuf, Buffer.from(data), central, nameBuf, end]);
}
