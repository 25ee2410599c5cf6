import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Batch, OpenedData } from '../../src/data';

/** A fresh temp folder with `write(rel, bytes|text)`; removed by `cleanup()`. */
export function tempDir(): { dir: string; write(rel: string, data: Uint8Array | string): string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'qcal-data-'));
  return {
    dir,
    write(rel, data) {
      const p = path.join(dir, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, data);
      return p;
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

export async function allBatches(d: OpenedData): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of d.batches()) out.push(b);
  return out;
}
