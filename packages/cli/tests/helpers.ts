import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '@qcal/cli';
import { writeNpy, mulberry32 } from '@qcal/core';

/** Runs `qcal ...args` in-process with captured output. */
export async function qcal(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => (o += d.toString()));
  (stderr as unknown as PassThrough).on('data', (d: Buffer) => (e += d.toString()));
  const code = await main(args, { stdout, stderr, cwd });
  return { code, stdout: o, stderr: e };
}

export function tmpDir(prefix = 'qcal-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A seeded generator (mulberry32) for reproducible synthetic inputs. */
export const rng = mulberry32;

/** Writes `count` float32 .npy samples of the given dims (uniform in [-1, 1]) into dir. */
export function writeSamples(dir: string, dimsList: number[][], seed = 1): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(seed);
  return dimsList.map((dims, i) => {
    const n = dims.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    for (let j = 0; j < n; j++) a[j] = r() * 2 - 1;
    const file = path.join(dir, `sample_${String(i).padStart(3, '0')}.npy`);
    fs.writeFileSync(file, writeNpy(a, dims, 'float32'));
    return file;
  });
}

export function readJson<T = any>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Smooth, image-like inputs (the classifier sits on a decision boundary for pure noise). */
export function writeImageLike(dir: string, n: number, seed: number): void {
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(seed);
  for (let i = 0; i < n; i++) {
    const a = new Float32Array(3 * 48 * 192);
    const f = 20 + 40 * r();
    for (let j = 0; j < a.length; j++) a[j] = 0.8 * Math.sin(j / f) + 0.4 * (r() - 0.5);
    fs.writeFileSync(path.join(dir, `s${String(i).padStart(2, '0')}.npy`), writeNpy(a, [1, 3, 48, 192], 'float32'));
  }
}
