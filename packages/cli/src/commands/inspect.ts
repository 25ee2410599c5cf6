import * as path from 'node:path';
import { loadModel, indexGraph, explainSelection, type TensorInfo, type IndexedTensor } from '@qcal/core';
import { parseFlags } from '../args';
import { INSPECT_HELP } from '../help';
import { out, type CliIo } from '../io';
import { UsageError } from '@qcal/core';

const FLAGS = {
  include: { type: 'string', multiple: true },
  exclude: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `qcal inspect M.onnx`: the calibratable tensors, so users can write filters. */
export async function inspectCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseFlags('inspect', argv, FLAGS, true);
  if (v.help) {
    out(io, INSPECT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`qcal inspect: expected one model path, got ${positionals.length}; usage: qcal inspect M.onnx`);
  const file = positionals[0]!;
  const { model } = loadModel(path.resolve(io.cwd, file));
  const index = indexGraph(model);
  const filtered = Boolean(v.include?.length || v.exclude?.length);
  const rows = filtered
    ? explainSelection(index.calibratable, { ...(v.include ? { include: v.include } : {}), exclude: v.exclude ?? [] }, 'inspect')
    : index.calibratable.map((t) => ({ tensor: t, selected: true, reason: '' }));
  if (v.json) {
    out(io, JSON.stringify({
      model: file,
      opset: index.opset,
      subgraphs: index.subgraphs.map((g) => ({ path: g.path, owner: g.owner.opType, nodes: g.graph.node.length })),
      tensors: rows.map((r) => ({ name: r.tensor.name, op: r.tensor.opName, opType: r.tensor.opType, graph: (r.tensor as IndexedTensor).graphPath ?? '', shape: r.tensor.shape ?? null, consumers: r.tensor.consumers.map((c) => c.opType), ...(filtered ? { selected: r.selected, reason: r.reason } : {}) })),
    }, null, 2));
    return 0;
  }
  const shape = (t: TensorInfo): string => (t.shape ? `[${t.shape.join(', ')}]` : '?');
  const shown = filtered && !v.all ? rows.filter((r) => r.selected) : rows;
  const table = shown.map((r) => [filtered ? (r.selected ? '+' : '-') : '', r.tensor.name, r.tensor.opType, r.tensor.opName || '(graph input)', shape(r.tensor), r.tensor.consumers.map((c) => c.opType).join(',')]);
  const head = [filtered ? 'sel' : '', 'tensor', 'op type', 'producer', 'shape', 'consumers'];
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...table.map((r) => r[i]!.length))));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out(io, `${file}: opset ${index.opset}, ${index.calibratable.length} calibratable float tensors${filtered ? `, ${rows.filter((r) => r.selected).length} selected` : ''}`);
  out(io, line(head));
  for (const r of table) out(io, line(r));
  const byOp = new Map<string, number>();
  for (const t of index.calibratable) byOp.set(t.opType, (byOp.get(t.opType) ?? 0) + 1);
  const inner = index.calibratable.filter((t) => t.graphPath !== '');
  if (inner.length) {
    const byGraph = new Map<string, number>();
    for (const t of inner) byGraph.set(t.graphPath, (byGraph.get(t.graphPath) ?? 0) + 1);
    out(io, `\n${inner.length} of them inside ${byGraph.size} If/Loop/Scan bod${byGraph.size === 1 ? 'y' : 'ies'} (producer = path/node; select with globs such as "If_0/then_branch/*"):`);
    for (const [g, n] of byGraph) out(io, `  ${g}: ${n}`);
  }
  const dynamicInputs = index.calibratable.filter((t) => t.isGraphInput && t.shape?.some((d) => typeof d === 'string'));
  if (dynamicInputs.length) out(io, `dynamic input dims: ${dynamicInputs.map((t) => `${t.name} [${t.shape!.join(', ')}]`).join('; ')}`);
  if (shown.length < rows.length) out(io, `(${rows.length - shown.length} tensors not selected; --all lists them with the pattern that decided)`);
  out(io, `\nby producer op type: ${[...byOp].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  out(io, `filter with --include/--exclude: exact name, glob (*conv*), /regex/, op:Conv`);
  return 0;
}
