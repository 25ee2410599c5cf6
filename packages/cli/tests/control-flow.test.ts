import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeModel, decodeModel, writeNpy, writeNpz, DataType, makeFloatTensor, makeIntTensor, AttributeType, type OnnxModel, type OnnxNode } from '@qcal/core';
import { qcal, tmpDir, readJson } from './helpers';

const f32 = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
const out = (name: string) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } });
const constant = (name: string, value: number): OnnxNode => ({ input: [], output: [name], name: `${name}_c`, opType: 'Constant', attribute: [{ name: 'value', type: AttributeType.TENSOR, t: makeFloatTensor(name, [], [value]) }] });

/**
 * A stateful model whose whole computation lives in If branches, like Silero VAD:
 * inputs x [batch, len], state [2, batch, 2] (batch on axis 1), mode int64 scalar.
 * mode == 1: y = x * 2, stateN = state + 1; else: y = x - 1, stateN = state.
 */
function statefulIfModel(): OnnxModel {
  const thenBranch = {
    name: 'then', initializer: [], input: [], valueInfo: [],
    node: [constant('two', 2), constant('one', 1),
      { input: ['x', 'two'], output: ['a'], name: 'mul', opType: 'Mul', attribute: [] },
      { input: ['state', 'one'], output: ['s'], name: 'inc', opType: 'Add', attribute: [] }],
    output: [out('a'), out('s')],
  };
  const elseBranch = {
    name: 'else', initializer: [], input: [], valueInfo: [],
    node: [constant('one_b', 1),
      { input: ['x', 'one_b'], output: ['b'], name: 'sub', opType: 'Sub', attribute: [] },
      { input: ['state'], output: ['keep'], name: 'keep_state', opType: 'Identity', attribute: [] }],
    output: [out('b'), out('keep')],
  };
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 16 }],
    graph: {
      name: 'stateful_if',
      node: [
        { input: ['mode', 'one_i'], output: ['cond'], name: 'is_one', opType: 'Equal', attribute: [] },
        { input: ['cond'], output: ['y', 'stateN'], name: 'If_0', opType: 'If', attribute: [
          { name: 'then_branch', type: AttributeType.GRAPH, g: thenBranch as never },
          { name: 'else_branch', type: AttributeType.GRAPH, g: elseBranch as never },
        ] },
      ],
      initializer: [makeIntTensor('one_i', [], DataType.INT64, [1])],
      input: [f32('x', ['batch', 'len']), f32('state', [2, 'batch', 2]), { name: 'mode', type: { tensorType: { elemType: DataType.INT64, shape: { dim: [] } } } }],
      output: [out('y'), out('stateN')],
      valueInfo: [],
    },
  };
}

/**
 * A Loop of 3 iterations over a carried value: v ← Relu(v · w) + x (w a constant inside the body),
 * with the body's inner product `p = v · w` computed each iteration. Inputs x [batch, 2].
 */
function loopModel(): OnnxModel {
  const body = {
    name: 'body', initializer: [], valueInfo: [],
    input: [{ name: 'i', type: { tensorType: { elemType: DataType.INT64, shape: { dim: [] } } } }, { name: 'cond_in', type: { tensorType: { elemType: DataType.BOOL, shape: { dim: [] } } } }, out('v')],
    node: [constant('w', 2),
      { input: ['cond_in'], output: ['cond_out'], name: 'keep_going', opType: 'Identity', attribute: [] },
      { input: ['v', 'w'], output: ['p'], name: 'scale', opType: 'Mul', attribute: [] },
      { input: ['p'], output: ['rp'], name: 'relu', opType: 'Relu', attribute: [] },
      { input: ['rp', 'x'], output: ['v_next'], name: 'add_x', opType: 'Add', attribute: [] }],
    output: [{ name: 'cond_out', type: { tensorType: { elemType: DataType.BOOL } } }, out('v_next')],
  };
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 16 }],
    graph: {
      name: 'loop_model',
      node: [{ input: ['trip', 'cond0', 'x'], output: ['v_final'], name: 'Loop_0', opType: 'Loop', attribute: [{ name: 'body', type: AttributeType.GRAPH, g: body as never }] }],
      initializer: [makeIntTensor('trip', [], DataType.INT64, [3]), { name: 'cond0', dims: [], dataType: DataType.BOOL, rawData: Uint8Array.of(1) }],
      input: [f32('x', ['batch', 2])],
      output: [out('v_final')],
      valueInfo: [],
    },
  };
}

/** Scan over the rows of x [T, 2]: s ← s + 2·x_t (state from s0), scan output y_t = Relu(s). */
function scanModel(): OnnxModel {
  const body = {
    name: 'scan_body', initializer: [], valueInfo: [],
    input: [out('s_in'), out('x_t')],
    node: [constant('k', 2),
      { input: ['x_t', 'k'], output: ['d'], name: 'double', opType: 'Mul', attribute: [] },
      { input: ['s_in', 'd'], output: ['s_out'], name: 'acc', opType: 'Add', attribute: [] },
      { input: ['s_out'], output: ['y_t'], name: 'relu', opType: 'Relu', attribute: [] }],
    output: [out('s_out'), out('y_t')],
  };
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 16 }],
    graph: {
      name: 'scan_model',
      node: [{ input: ['s0', 'x'], output: ['s_final', 'ys'], name: 'Scan_0', opType: 'Scan', attribute: [
        { name: 'body', type: AttributeType.GRAPH, g: body as never }, { name: 'num_scan_inputs', type: AttributeType.INT, i: 1 },
      ] }],
      initializer: [makeFloatTensor('s0', [2], [0, 0])],
      input: [f32('x', ['T', 2])],
      output: [out('s_final'), out('ys')],
      valueInfo: [],
    },
  };
}

describe('control flow and stateful inputs', () => {
  it('a Scan body: every step calibrated (scan outputs stacked), Q/DQ inside the body', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(scanModel()));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 's.npy'), writeNpy(Float32Array.of(1, -1, 2, 0.5, -4, 1), [3, 2], 'float32'));
    const r = await qcal(['calibrate', '--model', 'm.onnx', '--data', 'data', '--out', 'out', '--quiet', '--all-tensors', '--batch-size', '1', '--qdq', '--collector', 'minmax'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = readJson(path.join(dir, 'out', 'minmax.table.json')).tensors;
    // rows (1,-1), (2,0.5), (-4,1): d = (2,-2), (4,1), (-8,2); s = (2,-2), (6,-1), (-2,1); y = relu(s).
    expect(t.d).toMatchObject({ min: -8, max: 4, op: 'Scan_0/body/double' });
    expect(t.s_out).toMatchObject({ min: -2, max: 6 });
    expect(t.y_t).toMatchObject({ min: 0, max: 6 });
    expect(t.x_t).toMatchObject({ min: -4, max: 2, opType: 'SubgraphInput' });
    const q = decodeModel(fs.readFileSync(path.join(dir, 'out', 'minmax.qdq.onnx')));
    const body = q.graph!.node.find((n) => n.opType === 'Scan')!.attribute.find((a) => a.name === 'body')!.g!;
    expect(body.node.find((n) => n.opType === 'Add')!.input.every((i) => /_dequantized$/.test(i))).toBe(true);
  });

  it('a Loop body: its tensors calibrated over every iteration, Q/DQ inside the body', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(loopModel()));
    fs.mkdirSync(path.join(dir, 'data'));
    fs.writeFileSync(path.join(dir, 'data', 's.npy'), writeNpy(Float32Array.of(1, -1), [1, 2], 'float32'));
    const r = await qcal(['calibrate', '--model', 'm.onnx', '--data', 'data', '--out', 'out', '--all-tensors', '--qdq', '--collector', 'minmax'], dir);
    expect(r.code).toBe(0);
    // The summary counts what was quantized inside the body (v, p, rp, v_next: Mul, Relu and Add in and out).
    expect(r.stdout).toMatch(/\d+ activations and 0 weights of them inside If\/Loop\/Scan bodies/);
    const t = readJson(path.join(dir, 'out', 'minmax.table.json')).tensors;
    // x = [1, -1]: v0 = x; it1: p = [2, -2], v = [3, -1]; it2: p = [6, -2], v = [7, -1]; it3: p = [14, -2], v = [15, -1].
    expect(t.p).toMatchObject({ min: -2, max: 14, op: 'Loop_0/body/scale' });
    expect(t.v_next).toMatchObject({ min: -1, max: 15 });
    expect(t.v).toMatchObject({ min: -1, max: 7, opType: 'SubgraphInput' });
    expect(t.v_final).toMatchObject({ min: -1, max: 15 });
    const q = decodeModel(fs.readFileSync(path.join(dir, 'out', 'minmax.qdq.onnx')));
    const body = q.graph!.node.find((n) => n.opType === 'Loop')!.attribute[0]!.g!;
    expect(body.node.map((n) => n.opType)).toContain('QuantizeLinear');
    expect(body.node.find((n) => n.opType === 'Mul')!.input[0]).toMatch(/_dequantized$/);
  });

  it('inspect lists the tensors inside If branches with their paths', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(statefulIfModel()));
    const r = await qcal(['inspect', 'm.onnx', '--json'], dir);
    expect(r.stderr).toBe(''); expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout).tensors as { name: string; op: string; graph: string }[];
    const byName = Object.fromEntries(t.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(['a', 'b', 'keep', 's', 'state', 'stateN', 'x', 'y']);
    expect(byName.a).toMatchObject({ op: 'If_0/then_branch/mul', graph: 'If_0/then_branch' });
    expect(byName.b).toMatchObject({ op: 'If_0/else_branch/sub', graph: 'If_0/else_branch' });
    // Selection by path reaches inside the branch.
    const sel = await qcal(['inspect', 'm.onnx', '--json', '--include', 'If_0/then_branch/*'], dir);
    expect(JSON.parse(sel.stdout).tensors.filter((x: { selected: boolean }) => x.selected).map((x: { name: string }) => x.name).sort()).toEqual(['a', 's']);
  });

  it('sequence mode: state fed back chunk by chunk, a constant scalar from config, the branch never taken reported', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(statefulIfModel()));
    fs.mkdirSync(path.join(dir, 'data'));
    // One sequence of 4 values without a batch dim: 2 chunks of 2.
    fs.writeFileSync(path.join(dir, 'data', 'seq.npy'), writeNpy(Float32Array.of(1, 2, 3, 4), [4], 'float32'));
    fs.writeFileSync(path.join(dir, 'qcal.config.json'), JSON.stringify({
      model: 'm.onnx', data: 'data', out: 'out', quiet: true, allTensors: true,
      inputs: { mode: 1 },
      sequence: { feedback: { state: 'stateN' }, chunk: { x: { size: 2 } } },
    }));
    const r = await qcal(['calibrate'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/2 selected tensor\(s\) were never computed.*If_0\/else_branch \(2\)/s);
    const table = readJson(path.join(dir, 'out', 'minmax.table.json'));
    const t = table.tensors;
    expect(table.samples).toBe(2); // two steps
    // Step 0: x=[1,2], state=0 → a=[2,4], s=1; step 1: x=[3,4], state=1 (fed back) → a=[6,8], s=2.
    expect(t.x).toMatchObject({ min: 1, max: 4 });
    expect(t.state).toMatchObject({ min: 0, max: 1 });
    expect(t.a).toMatchObject({ min: 2, max: 8, op: 'If_0/then_branch/mul' });
    expect(t.s).toMatchObject({ min: 1, max: 2 });
    expect(t.stateN).toMatchObject({ min: 1, max: 2 });
    expect(t.b).toBeUndefined();
    expect(Object.keys(table.meta.notRun).sort()).toEqual(['b', 'keep']);

    // QDQ inside the branch: Mul's inputs and output quantized in then_branch, else_branch untouched,
    // and onnxruntime runs the result streaming on its own state.
    const q = await qcal(['calibrate', '--qdq', '--evaluate', '--force', '--collector', 'minmax'], dir);
    expect(q.code).toBe(0);
    const m = decodeModel(fs.readFileSync(path.join(dir, 'out', 'minmax.qdq.onnx')));
    const ifNode = m.graph!.node.find((n) => n.opType === 'If')!;
    const branch = (name: string) => ifNode.attribute.find((a) => a.name === name)!.g!;
    const thenOps = branch('then_branch').node.map((n) => n.opType);
    expect(thenOps.filter((o) => o === 'QuantizeLinear').length).toBeGreaterThanOrEqual(1);
    const mul = branch('then_branch').node.find((n) => n.opType === 'Mul')!;
    expect(mul.input.every((i) => i.endsWith('_dequantized'))).toBe(true);
    expect(branch('else_branch').node.map((n) => n.opType)).not.toContain('QuantizeLinear');
    const ev = readJson(path.join(dir, 'out', 'minmax.evaluation.json'));
    expect(ev.samples).toBe(2);
    expect(ev.outputs[0].cosine).toBeGreaterThan(0.99);
  });

  it('a scalar int input per sample in an .npz, batch axis 1 for state; a wrong batchAxis is named', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'm.onnx'), encodeModel(statefulIfModel()));
    fs.mkdirSync(path.join(dir, 'data'));
    const sample = (x: number[], st: number, mode: number) => writeNpz({
      x: writeNpy(Float32Array.from(x), [1, x.length], 'float32'),
      state: writeNpy(new Float32Array(4).fill(st), [2, 1, 2], 'float32'),
      mode: writeNpy(BigInt64Array.of(BigInt(mode)), [], 'int64'),
    });
    fs.writeFileSync(path.join(dir, 'data', 's0.npz'), sample([1, -1], 5, 1));
    fs.writeFileSync(path.join(dir, 'data', 's1.npz'), sample([3, 0.5], -2, 0));
    const r = await qcal(['calibrate', '--model', 'm.onnx', '--data', 'data', '--out', 'out', '--quiet', '--all-tensors'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const t = readJson(path.join(dir, 'out', 'minmax.table.json')).tensors;
    // s0 takes then (a = 2x = [2,-2], s = 6), s1 takes else (b = x-1 = [2,-0.5], keep = -2).
    expect(t.a).toMatchObject({ min: -2, max: 2 });
    expect(t.s).toMatchObject({ min: 6, max: 6 });
    expect(t.b).toMatchObject({ min: -0.5, max: 2 });
    expect(t.keep).toMatchObject({ min: -2, max: -2 });
    expect(t.y).toMatchObject({ min: -2, max: 2 });
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ inputs: { state: { batchAxis: 0 } } }));
    const bad = await qcal(['calibrate', '--config', 'bad.json', '--model', 'm.onnx', '--data', 'data', '--out', 'out2', '--quiet'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/inputs disagree on the batch dim \(1 vs 2 for 'state', its axis 0\)/);
  });
});
