import type { TensorInfo } from '../../src/collector';
import { ConfigError } from '../../src/errors';
import { compilePatterns, explainSelection, selectTensors } from '../../src/select';

const t = (name: string, opName: string, opType: string): TensorInfo => ({ name, opName, opType, consumers: [] });
const tensors: TensorInfo[] = [
  t('input', '', 'Input'),
  t('/backbone/conv1/Conv_output_0', '/backbone/conv1/Conv', 'Conv'),
  t('/backbone/relu1/Relu_output_0', '/backbone/relu1/Relu', 'Relu'),
  t('/head/conv2/Conv_output_0', '/head/conv2/Conv', 'Conv'),
  t('/head/Softmax_output_0', '/head/Softmax', 'Softmax'),
  t('logits', 'fc', 'Gemm'),
];
const names = (ts: TensorInfo[]) => ts.map((x) => x.name);

describe('selectTensors', () => {
  test('no filter keeps everything, in order', () => {
    expect(names(selectTensors(tensors, {}, 'cfg:'))).toEqual(names(tensors));
  });
  test('exact names match the tensor name or the node name', () => {
    expect(names(selectTensors(tensors, { include: ['logits', '/head/Softmax'] }, 'cfg:'))).toEqual(['/head/Softmax_output_0', 'logits']);
    expect(names(selectTensors(tensors, { exclude: ['fc'] }, 'cfg:'))).not.toContain('logits');
  });
  test('globs: * crosses "/", ** is the same, ? is one character', () => {
    expect(names(selectTensors(tensors, { include: ['*conv*'] }, 'cfg:'))).toEqual(['/backbone/conv1/Conv_output_0', '/head/conv2/Conv_output_0']);
    expect(names(selectTensors(tensors, { include: ['/head/**'] }, 'cfg:'))).toEqual(['/head/conv2/Conv_output_0', '/head/Softmax_output_0']);
    expect(names(selectTensors(tensors, { include: ['/backbone/conv?/Conv_output_0'] }, 'cfg:'))).toEqual(['/backbone/conv1/Conv_output_0']);
    expect(names(selectTensors(tensors, { include: ['f[a-c]'] }, 'cfg:'))).toEqual(['logits']); // node name "fc"
  });
  test('regexes match tensor or node names, with flags', () => {
    expect(names(selectTensors(tensors, { include: ['/^\\/BACKBONE\\//i'] }, 'cfg:'))).toEqual(['/backbone/conv1/Conv_output_0', '/backbone/relu1/Relu_output_0']);
    expect(names(selectTensors(tensors, { include: ['/^fc$/g'] }, 'cfg:'))).toEqual(['logits']);
  });
  test('op types, and include then exclude', () => {
    expect(names(selectTensors(tensors, { include: ['op:Conv', 'op:Relu'], exclude: ['*/head/*'] }, 'cfg:'))).toEqual(['/backbone/conv1/Conv_output_0', '/backbone/relu1/Relu_output_0']);
    expect(names(selectTensors(tensors, { exclude: ['op:Softmax', 'op:Input'] }, 'cfg:'))).toEqual(['/backbone/conv1/Conv_output_0', '/backbone/relu1/Relu_output_0', '/head/conv2/Conv_output_0', 'logits']);
  });
  test('an empty include list selects nothing', () => {
    expect(selectTensors(tensors, { include: [] }, 'cfg:')).toEqual([]);
  });
  test('a pattern matching nothing is a ConfigError naming it, with a close name', () => {
    const run = () => selectTensors(tensors, { include: ['logit'], exclude: ['op:Softmx', '*nothing*'] }, 'qcal.config.json:');
    expect(run).toThrow(ConfigError);
    try { run(); } catch (e) {
      const err = e as ConfigError;
      expect(err.code).toBe('QCAL_CONFIG');
      expect(err.problems).toEqual([
        'qcal.config.json: include[0]: pattern "logit" matches no tensor of the model (did you mean "logits"?)',
        'qcal.config.json: exclude[0]: pattern "op:Softmx" matches no tensor of the model (did you mean "op:Softmax"?)',
        'qcal.config.json: exclude[1]: pattern "*nothing*" matches no tensor of the model',
      ]);
      expect(err.message).toMatch(/^3 configuration problems:\n {2}- qcal.config.json: include\[0\]/);
    }
  });
  test('an op pattern with no close match lists the op types', () => {
    expect(() => selectTensors(tensors, { exclude: ['op:LSTM'] }, 'x')).toThrow('x exclude[0]: pattern "op:LSTM" matches no tensor of the model; op types in the model: Input, Conv, Relu, Softmax, Gemm');
  });
});

describe('compilePatterns', () => {
  test('kinds', () => {
    expect(compilePatterns(['a', 'a*', '/a/', 'op:A'], 'w').map((p) => p.kind)).toEqual(['exact', 'glob', 'regex', 'op']);
  });
  test('malformed patterns are all reported at once', () => {
    try {
      compilePatterns(['/(/', '', 3, 'op:'], 'cfg: exclude');
      throw new Error('no throw');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const p = (e as ConfigError).problems;
      expect(p).toHaveLength(4);
      expect(p[0]).toMatch(/^cfg: exclude\[0\]: "\/\(\/" is not a valid regular expression \(/);
      expect(p[1]).toBe('cfg: exclude[1]: found an empty pattern, expected a tensor name, glob, /regex/ or op:Type');
      expect(p[2]).toBe('cfg: exclude[2]: found 3, expected a string (tensor name, glob, /regex/ or op:Type)');
      expect(p[3]).toBe('cfg: exclude[3]: "op:" names no op type, expected e.g. "op:Conv"');
    }
  });
});

describe('explainSelection', () => {
  test('says which pattern kept or removed each tensor', () => {
    const ex = explainSelection(tensors, { include: ['op:Conv', '*relu*'], exclude: ['/head/'] }, 'cli');
    expect(ex.map((e) => [e.tensor.name, e.selected, e.reason])).toEqual([
      ['input', false, 'not matched by any include pattern'],
      ['/backbone/conv1/Conv_output_0', true, 'kept by include "op:Conv"'],
      ['/backbone/relu1/Relu_output_0', true, 'kept by include "*relu*"'],
      ['/head/conv2/Conv_output_0', false, 'removed by exclude "/head/"'],
      ['/head/Softmax_output_0', false, 'not matched by any include pattern'],
      ['logits', false, 'not matched by any include pattern'],
    ]);
    expect(ex[3]).toMatchObject({ keptBy: 'op:Conv', removedBy: '/head/' });
    expect(explainSelection(tensors, {}, 'cli')[0]!.reason).toBe('selected (no include list)');
  });
});
