import { collectEvalSet } from '../../src/sensitivity/eval-set';
import { cosineMetric } from '../../src/sensitivity/fidelity-metric';
import { createSensitivityProbe } from '../../src/sensitivity/sensitivity-probe';
import { restrictSwitchModel } from '../../src/sensitivity/switch-subset';
import { splitAtSwitches } from '../../src/sensitivity/split-at-switches';
import { SWITCH_INPUT } from '../../src/sensitivity/switch-model';
import { encodeModel } from '../../src/onnx/model';
import { measureSensitivity } from '../../src/sensitivity';
import { minMaxTable, samples, sensitiveModel } from './helpers';

const ACTS = ['x', 'h1', 'r1', 't2', 'y'];

describe('restricted switch models', () => {
  const { model } = sensitiveModel();
  let table: Awaited<ReturnType<typeof minMaxTable>>;
  beforeAll(async () => { table = await minMaxTable(model, samples(32, 1), ACTS); });

  test('score what the full switch model scores, for masks that agree outside the group', async () => {
    const evalSet = await collectEvalSet(samples(6, 3), 6);
    const probe = await createSensitivityProbe({ model, bytes: encodeModel(model), where: 'test', table, evalSet, metric: cosineMetric, qdq: { quantizeMode: 'full' } });
    try {
      const all = probe.switches;
      expect(all.length).toBeGreaterThanOrEqual(4);
      const masks = [new Set<string>(), new Set(all), ...all.map((t) => new Set([t])), ...all.map((t) => new Set(all.filter((x) => x !== t)))];
      const full = [];
      for (const m of masks) full.push(await probe.score(m));
      // Off-rest group with two tensors, then on-rest: the masks that fit run the restricted model.
      const group = all.slice(1, 3);
      for (const rest of ['off', 'on'] as const) {
        await probe.focus(group, rest);
        for (const [i, m] of masks.entries()) {
          const fits = all.every((t) => group.includes(t) || m.has(t) === (rest === 'on'));
          // Equal up to onnxruntime's kernel choices: constant float weights are prepacked (another summation order).
          if (fits) expect(Math.abs((await probe.score(m)) - full[i]!)).toBeLessThan(1e-9);
        }
      }
      // The restriction drops the fixed switches' nodes: off leaves no Q/DQ of tensors outside the group.
      const off = restrictSwitchModel(probe.switchModel, new Set(group), 'off');
      const full0 = probe.switchModel.model.graph!.node.length;
      expect(off.graph!.node.length).toBeLessThan(full0);
      const quantizedOutside = off.graph!.node.filter((n) => n.opType === 'QuantizeLinear' && !group.some((t) => n.input[0] === t) && all.includes(n.input[0]!));
      expect(quantizedOutside).toEqual([]);
    } finally {
      await probe.release();
    }
  });

  test('measureSensitivity gives the same numbers whatever the block size', async () => {
    const evalData = samples(8, 2);
    const a = await measureSensitivity({ model, table, data: evalData, evalSamples: 8, qdq: { quantizeMode: 'full' }, groupSize: 1 });
    const b = await measureSensitivity({ model, table, data: evalData, evalSamples: 8, qdq: { quantizeMode: 'full' }, groupSize: 1000 });
    expect(b.layers.map((l) => l.tensor)).toEqual(a.layers.map((l) => l.tensor));
    b.layers.forEach((l, i) => {
      expect(Math.abs(l.loss! - a.layers[i]!.loss!)).toBeLessThan(1e-9);
      expect(Math.abs(l.gain! - a.layers[i]!.gain!)).toBeLessThan(1e-9);
    });
    expect(Math.abs(b.baseline.allQuantized - a.baseline.allQuantized)).toBeLessThan(1e-9);
  });
});

describe('split at the switches (the prefix once per batch)', () => {
  const { model } = sensitiveModel();
  let table: Awaited<ReturnType<typeof minMaxTable>>;
  beforeAll(async () => { table = await minMaxTable(model, samples(32, 1), ACTS); });

  test('the prefix holds no switch, the suffix everything the switches reach', async () => {
    const evalSet = await collectEvalSet(samples(2, 3), 2);
    const probe = await createSensitivityProbe({ model, bytes: encodeModel(model), where: 'test', table, evalSet, metric: cosineMetric, qdq: { quantizeMode: 'full' } });
    try {
      const all = probe.switches;
      const late = all.slice(2);
      const split = splitAtSwitches(restrictSwitchModel(probe.switchModel, new Set(late), 'off'))!;
      expect(split).toBeDefined();
      expect(split.prefix.graph!.node.some((n) => n.input.includes(SWITCH_INPUT))).toBe(false);
      expect(split.suffix.graph!.input.map((i) => i.name)).toContain(SWITCH_INPUT);
      expect(split.frontier.length).toBeGreaterThan(0);
      expect(split.suffixNodes).toBeLessThan(split.nodes);
      expect([...split.fixedOutputs, ...split.suffixOutputs].sort()).toEqual(model.graph!.output.map((o) => o.name).sort());
      // Weights' DequantizeLinear (constants) stay with the nodes that read them, not in the prefix.
      expect(split.prefix.graph!.node.every((n) => n.input.some((x) => x === 'x' || split.prefix.graph!.node.some((m) => m.output.includes(x))))).toBe(true);
    } finally {
      await probe.release();
    }
  });

  test('measureSensitivity gives the same losses and gains split or not', async () => {
    const evalData = samples(8, 2);
    const a = await measureSensitivity({ model, table, data: evalData, evalSamples: 8, qdq: { quantizeMode: 'full' }, groupSize: 2, splitPrefix: false });
    const b = await measureSensitivity({ model, table, data: evalData, evalSamples: 8, qdq: { quantizeMode: 'full' }, groupSize: 2 });
    expect(b.layers.map((l) => l.tensor)).toEqual(a.layers.map((l) => l.tensor));
    b.layers.forEach((l, i) => {
      expect(Math.abs(l.loss! - a.layers[i]!.loss!)).toBeLessThan(1e-9);
      expect(Math.abs(l.gain! - a.layers[i]!.gain!)).toBeLessThan(1e-9);
    });
  });
});
