import { DataType, opsetVersion, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../onnx/model';
import { NameScope, int64Vector, intAttr, intsAttr, makeNode } from '../../onnx/graph-builder';
import type { BiasSite } from './bias-sites';

/**
 * The model with one extra float output per site: the mean of `site.output` over every axis but
 * its channel axis (ReduceMean in the graph, so only C values per site leave onnxruntime).
 * Returns the output names in site order. Axes go in an attribute below opset 18, an input from 18.
 */
export function withChannelMeans(model: OnnxModel, sites: readonly BiasSite[]): { model: OnnxModel; outputs: string[] } {
  const g = model.graph!;
  const names = new NameScope(g);
  const opset = opsetVersion(model);
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const outputs: string[] = [];
  const reduce = (x: string, axes: number[], out: string): void => {
    if (opset >= 18) {
      const a = names.fresh(`${out}_axes`);
      inits.push(int64Vector(a, axes));
      nodes.push(makeNode('ReduceMean', [x, a], [out], names.fresh(`${out}_ReduceMean`), [intAttr('keepdims', 0)]));
    } else nodes.push(makeNode('ReduceMean', [x], [out], names.fresh(`${out}_ReduceMean`), [intsAttr('axes', axes), intAttr('keepdims', 0)]));
  };
  for (const s of sites) {
    const out = names.fresh(`${s.output}_qcal_channel_mean`);
    if (s.layout.kind === 'conv') {
      reduce(s.output, [0, ...Array.from({ length: s.layout.rank - 2 }, (_, i) => i + 2)], out);
    } else {
      const shape = names.fresh(`${out}_shape`), flat = names.fresh(`${out}_flat`);
      inits.push(int64Vector(shape, [-1, s.channels]));
      nodes.push(makeNode('Reshape', [s.output, shape], [flat], names.fresh(`${out}_Reshape`)));
      reduce(flat, [0], out);
    }
    outputs.push(out);
  }
  const outInfo = outputs.map((name, i) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: sites[i]!.channels }] } } } }));
  return { model: { ...model, graph: { ...g, node: [...g.node, ...nodes], initializer: [...g.initializer, ...inits], output: [...g.output, ...outInfo] } }, outputs };
}
