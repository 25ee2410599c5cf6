import type { TensorInfo } from '../collector';
import type { GraphIndex } from '../onnx/graph-index';
import type { ResolvedCollector } from '../plugins';
import { selectTensors } from '../select';
import { ConfigError, ModelError } from '../errors';

/** One collector of a run with the tensors it calibrates. */
export interface PlannedCollector {
  readonly resolved: ResolvedCollector;
  /** File-safe unique label: the table is `<label>.table.json`. */
  readonly label: string;
  readonly tensors: readonly TensorInfo[];
  /** Whether the runner may hand it in-graph [min, max] pairs instead of full tensors. */
  readonly rangeOnly: boolean;
}

export interface RunSelection {
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
  /**
   * The tensors worth calibrating when no `include` is given (the ones a QDQ model quantizes, see
   * `quantizedTensorNames`); undefined = every calibratable tensor. An explicit `include` selects
   * from every calibratable tensor.
   */
  readonly scope?: ReadonlySet<string>;
}

/** A file-safe label for a collector name: `acme/pct` → `acme__pct`, `@acme/x` → `acme__x`. */
export function collectorLabel(name: string): string {
  return name.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '__');
}

/**
 * Applies the run-wide filter, then each collector's own, and decides what the runner fetches:
 * full tensors for collectors that need values, in-graph min/max for the rest.
 */
export function planCollectors(index: GraphIndex, collectors: readonly ResolvedCollector[], run: RunSelection, modelPath: string): {
  collectors: PlannedCollector[];
  full: string[];
  range: string[];
  selected: TensorInfo[];
} {
  if (index.calibratable.length === 0) {
    throw new ModelError(`${modelPath}: the model has no float32 activations to calibrate`);
  }
  // Patterns are checked against every tensor (one that matches only tensors outside the scope is
  // not an error); the scope then narrows what no `include` asked for explicitly.
  const runAll = run.include?.length || run.exclude?.length
    ? selectTensors(index.calibratable, { ...(run.include ? { include: run.include } : {}), exclude: run.exclude ?? [] }, 'run')
    : [...index.calibratable];
  const inScope = (list: TensorInfo[]): TensorInfo[] => (run.scope ? list.filter((t) => run.scope!.has(t.name)) : list);
  const runTensors = run.include?.length ? runAll : inScope(runAll);
  const used = new Map<string, number>();
  if (runTensors.length === 0) throw new ConfigError('the include/exclude patterns leave no tensor to calibrate');
  const planned = collectors.map((c) => {
    let label = collectorLabel(c.name);
    const n = (used.get(label) ?? 0) + 1;
    used.set(label, n);
    if (n > 1) label = `${label}-${n}`;
    let tensors = runTensors;
    if (c.include?.length) tensors = selectTensors(runAll, { include: c.include, exclude: c.exclude ?? [] }, `collector "${c.name}"`);
    else if (c.exclude?.length) {
      const allowed = new Set(runTensors.map((t) => t.name));
      tensors = selectTensors(runAll, { exclude: c.exclude }, `collector "${c.name}"`).filter((t) => allowed.has(t.name));
    }
    return { resolved: c, label, tensors, rangeOnly: c.definition.needs?.activations === 'range' };
  });
  const fullSet = new Set<string>();
  const rangeSet = new Set<string>();
  for (const p of planned) for (const t of p.tensors) (p.rangeOnly ? rangeSet : fullSet).add(t.name);
  const order = new Map(index.calibratable.map((t, i) => [t.name, i]));
  const byGraphOrder = (a: string, b: string): number => order.get(a)! - order.get(b)!;
  const full = [...fullSet].sort(byGraphOrder);
  const range = [...rangeSet].filter((t) => !fullSet.has(t)).sort(byGraphOrder);
  const selectedNames = new Set([...full, ...range]);
  return { collectors: planned, full, range, selected: index.calibratable.filter((t) => selectedNames.has(t.name)) };
}
