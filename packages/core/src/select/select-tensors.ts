import type { TensorInfo } from '../collector';
import { closest } from '../options-schema';
import { compilePatterns, configError, type CompiledPattern } from './compile-patterns';

/** Which tensors to calibrate: run-wide, or per collector (`[name, { include, exclude }]`). */
export interface TensorFilter {
  /** If given (even empty), only tensors matching at least one of these are kept. */
  readonly include?: readonly string[];
  /** Tensors matching any of these are removed (after `include`). */
  readonly exclude?: readonly string[];
}

/** Why a tensor is, or is not, selected (`qcal inspect`). */
export interface SelectionExplanation {
  readonly tensor: TensorInfo;
  readonly selected: boolean;
  /** The first include pattern that kept it (undefined without `include`, or when none matched). */
  readonly keptBy?: string;
  /** The first exclude pattern that removed it. */
  readonly removedBy?: string;
  /** One line for people: `kept by "op:Conv"`, `removed by "*head*"`, `not matched by any include pattern`. */
  readonly reason: string;
}

function suggestion(p: CompiledPattern, tensors: readonly TensorInfo[]): string {
  if (p.kind === 'op') {
    const ops = [...new Set(tensors.map((t) => t.opType))];
    const hint = closest(p.source.slice(3).trim(), ops);
    return hint ? ` (did you mean "op:${hint}"?)` : ops.length ? `; op types in the model: ${ops.slice(0, 30).join(', ')}` : '';
  }
  if (p.kind === 'exact') {
    const names = [...new Set(tensors.flatMap((t) => (t.opName ? [t.name, t.opName] : [t.name])))];
    const hint = closest(p.source, names);
    return hint ? ` (did you mean "${hint}"?)` : '';
  }
  return '';
}

function compileChecked(patterns: readonly string[] | undefined, where: string, tensors: readonly TensorInfo[], problems: string[]): CompiledPattern[] | undefined {
  if (patterns === undefined) return undefined;
  let compiled: CompiledPattern[];
  try {
    compiled = compilePatterns(patterns, where);
  } catch (e) {
    problems.push(...((e as { problems?: string[] }).problems ?? [String(e)]));
    return [];
  }
  compiled.forEach((p, i) => {
    if (!tensors.some((t) => p.test(t))) {
      problems.push(`${where}[${i}]: pattern "${p.source}" matches no tensor of the model${suggestion(p, tensors)}`);
    }
  });
  return compiled;
}

/**
 * Explains, for every tensor, whether `filter` selects it and which pattern decided. Every pattern
 * must be well-formed and match at least one tensor of `tensors` (the whole model, before any
 * filtering — a typo would otherwise silently calibrate everything); all violations are reported
 * in one {@link ConfigError}, naming the pattern (`<where> include[2]: pattern "…" matches no tensor`)
 * and a close tensor/node name or op type where there is one.
 *
 * How MXNet's `quantize_model` arguments map onto patterns:
 * - `excluded_sym_names=['conv0', 'fc1']` → `exclude: ['conv0', 'fc1']` (exact names match the
 *   node name as well as the tensor name; ONNX node names play the role of MXNet symbol names);
 * - `exclude_layers_match=['dense', 'stage1_']` (substring match) → `exclude: ['*dense*', '*stage1_*']`
 *   or `exclude: ['/dense/', '/stage1_/']`;
 * - `excluded_op_names=['Convolution', 'Pooling']` → `exclude: ['op:Conv', 'op:MaxPool']` (ONNX op types);
 * - `calib_layer` / `include_layers` (the layers to calibrate) → `include`.
 */
export function explainSelection(tensors: readonly TensorInfo[], filter: TensorFilter, where: string): SelectionExplanation[] {
  const problems: string[] = [];
  const include = compileChecked(filter.include, `${where} include`.trim(), tensors, problems);
  const exclude = compileChecked(filter.exclude, `${where} exclude`.trim(), tensors, problems);
  if (problems.length) throw configError(problems);
  return tensors.map((tensor) => {
    let keptBy: string | undefined;
    if (include) {
      keptBy = include.find((p) => p.test(tensor))?.source;
      if (keptBy === undefined) return { tensor, selected: false, reason: 'not matched by any include pattern' };
    }
    const removedBy = exclude?.find((p) => p.test(tensor))?.source;
    if (removedBy !== undefined) return { tensor, selected: false, keptBy, removedBy, reason: `removed by exclude "${removedBy}"` };
    return { tensor, selected: true, keptBy, reason: keptBy !== undefined ? `kept by include "${keptBy}"` : 'selected (no include list)' };
  });
}

/**
 * The tensors `filter` selects, in their original order: with `include`, those matching any include
 * pattern; then minus those matching any exclude pattern. Patterns: exact tensor/node names, globs
 * (`*conv*`, `?`, `**`), regexes (`/^backbone\./i`) and op types (`op:Conv`) — see
 * {@link explainSelection} for the checks and the MXNet mapping. Throws {@link ConfigError}.
 */
export function selectTensors(tensors: readonly TensorInfo[], filter: TensorFilter, where: string): TensorInfo[] {
  return explainSelection(tensors, filter, where).filter((e) => e.selected).map((e) => e.tensor);
}
