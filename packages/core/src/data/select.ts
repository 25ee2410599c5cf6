import { mulberry32 } from '@qcal/plugin-kit';
import { ConfigError } from '../errors';

export { mulberry32 };

export interface SelectOptions {
  numSamples?: number;
  shuffle?: boolean;
  seed?: number;
  shard?: { index: number; count: number };
}

/** Check the selection options; throws ConfigError naming the option. */
export function checkSelectOptions(o: SelectOptions & { batchSize?: number }): void {
  const posInt = (v: number | undefined, name: string): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new ConfigError(`${name} must be a positive integer, got ${String(v)}`);
  };
  posInt(o.numSamples, 'numSamples');
  posInt(o.batchSize, 'batchSize');
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new ConfigError(`seed must be an integer, got ${String(o.seed)}`);
  if (o.shard) {
    const { index, count } = o.shard;
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
      throw new ConfigError(`shard must be I/N with 1 <= I <= N, got ${String(index)}/${String(count)}`);
    }
  }
}

/**
 * The selected samples: shuffled (Fisher–Yates with mulberry32(seed)) when asked, the first
 * numSamples of those, then the contiguous shard: shard i of n is [floor((i-1)·L/n), floor(i·L/n)).
 */
export function selectSamples<T>(all: readonly T[], o: SelectOptions): T[] {
  let list = [...all];
  if (o.shuffle) {
    const rnd = mulberry32(o.seed ?? 0);
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
  }
  if (o.numSamples !== undefined) list = list.slice(0, o.numSamples);
  if (o.shard) {
    const L = list.length;
    list = list.slice(Math.floor(((o.shard.index - 1) * L) / o.shard.count), Math.floor((o.shard.index * L) / o.shard.count));
  }
  return list;
}
