'use strict';
/**
 * Trains the tiny transformer text classifier of dataset.js with @tensorflow/tfjs (pure-JS CPU
 * backend; not a project dependency: the committed model.onnx is what tests use) and writes it as
 * ONNX (opset 17) with qcal's own protobuf schema:
 *   npm install --no-save @tensorflow/tfjs@4.22.0 && npx tsc -b
 *   node test-fixtures/tiny-transformer/make.js        (~1 min on 2 cores; STEPS=N to change)
 * Output: model.onnx beside this file (committed, ~90 KB) and its FP32 accuracy on the eval set.
 *
 * Architecture (pre-LN encoder, 2 layers, d=32, 2 heads, FFN 64, GELU via Erf): token Gather
 * embedding + learned positions (sliced to the input's length: the seq dim is symbolic), per layer
 * LayerNormalization → Q/K/V MatMul+Add → Reshape/Transpose to heads → MatMul(Q, Kᵀ) · 1/√d →
 * Softmax → MatMul(P, V) → Transpose/Reshape → MatMul+Add → residual Add; LayerNormalization → MatMul
 * → 0.5·x·(1+Erf(x/√2)) → MatMul → residual Add; final LayerNormalization, ReduceMean over the
 * sequence, MatMul+Add to 3 logits. Input `input_ids` int64 [batch, seq], output `logits` [batch, 3].
 */
const fs = require('node:fs');
const path = require('node:path');
// The umbrella package's node bundle registers the gradients (tfjs-core's CJS bundle does not).
const tf = require('@tensorflow/tfjs');
const core = require('../../packages/core/dist');
const { VOCAB, SEQ, CLASSES, mulberry32, makeSamples, accuracy, TRAIN_SEED, EVAL_SEED } = require('./dataset');

const D = 32, H = 2, DH = D / H, FF = 64, LAYERS = 2, STEPS = Number(process.env.STEPS ?? 600), BATCH = 64;

async function main() {
  await tf.setBackend('cpu');
  const r = mulberry32(42);
  const randn = (shape, std) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()) * std;
    return tf.variable(tf.tensor(v, shape));
  };
  const zeros = (shape) => tf.variable(tf.zeros(shape));
  const ones = (shape) => tf.variable(tf.ones(shape));
  const P = { tok: randn([VOCAB, D], 0.3), pos: randn([SEQ, D], 0.1), layers: [] };
  for (let l = 0; l < LAYERS; l++) {
    const s = 1 / Math.sqrt(D);
    P.layers.push({
      ln1g: ones([D]), ln1b: zeros([D]), wq: randn([D, D], s), bq: zeros([D]), wk: randn([D, D], s), bk: zeros([D]),
      wv: randn([D, D], s), bv: zeros([D]), wo: randn([D, D], s), bo: zeros([D]),
      ln2g: ones([D]), ln2b: zeros([D]), w1: randn([D, FF], s), b1: zeros([FF]), w2: randn([FF, D], 1 / Math.sqrt(FF)), b2: zeros([D]),
    });
  }
  P.lnfg = ones([D]); P.lnfb = zeros([D]); P.wc = randn([D, CLASSES], 1 / Math.sqrt(D)); P.bc = zeros([CLASSES]);

  // tfjs-core without chained ops (their registration is ESM-only): plain function calls.
  const { add, sub, mul, div, sqrt, matMul, reshape, transpose, erf, mean } = tf;
  const layerNorm = (x, g, b) => {
    const m = tf.moments(x, -1, true);
    return add(mul(div(sub(x, m.mean), sqrt(add(m.variance, 1e-5))), g), b);
  };
  // [B, S, in] × [in, out]: as a 2-D product on [B·S, in].
  const dense = (x, W, B) => {
    const [b, s, i] = x.shape;
    return add(reshape(matMul(reshape(x, [b * s, i]), W), [b, s, W.shape[1]]), B);
  };
  const forward = (ids) => {
    const B = ids.shape[0];
    let x = add(tf.gather(P.tok, ids), P.pos);
    for (const L of P.layers) {
      const h = layerNorm(x, L.ln1g, L.ln1b);
      const heads = (t) => transpose(reshape(t, [B, SEQ, H, DH]), [0, 2, 1, 3]);
      const q = heads(dense(h, L.wq, L.bq));
      const k = heads(dense(h, L.wk, L.bk));
      const v = heads(dense(h, L.wv, L.bv));
      const p = tf.softmax(mul(matMul(q, k, false, true), 1 / Math.sqrt(DH)));
      const o = reshape(transpose(matMul(p, v), [0, 2, 1, 3]), [B, SEQ, D]);
      x = add(x, dense(o, L.wo, L.bo));
      const h2 = layerNorm(x, L.ln2g, L.ln2b);
      const f = dense(h2, L.w1, L.b1);
      const g = mul(mul(f, 0.5), add(erf(div(f, Math.SQRT2)), 1));
      x = add(x, dense(g, L.w2, L.b2));
    }
    const pooled = mean(layerNorm(x, P.lnfg, P.lnfb), 1);
    return add(matMul(pooled, P.wc), P.bc);
  };

  const train = makeSamples(TRAIN_SEED, STEPS * BATCH);
  const opt = tf.train.adam(3e-3);
  for (let step = 0; step < STEPS; step++) {
    const b = train.slice(step * BATCH, (step + 1) * BATCH);
    const ids = tf.tensor2d(b.map((s) => s.ids), [BATCH, SEQ], 'int32');
    const y = tf.oneHot(tf.tensor1d(b.map((s) => s.label), 'int32'), CLASSES);
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(ids)), true);
    if (step % 100 === 0) console.log(`step ${step} loss ${(await loss.data())[0].toFixed(4)}`);
    tf.dispose([ids, y, loss]);
  }
  const evalSet = makeSamples(EVAL_SEED, 500);
  const logits = forward(tf.tensor2d(evalSet.map((s) => s.ids), [evalSet.length, SEQ], 'int32'));
  console.log(`tfjs eval accuracy ${accuracy(await logits.array(), evalSet).toFixed(3)}`);

  const file = path.join(__dirname, 'model.onnx');
  fs.writeFileSync(file, core.encodeModel(toOnnx(P, core)));
  console.log(`wrote ${file} (${fs.statSync(file).size} bytes)`);
}

/** The trained weights as an ONNX graph (opset 17). */
function toOnnx(P, core) {
  const { DataType, AttributeType, makeFloatTensor, makeIntTensor } = core;
  const inits = [];
  const nodes = [];
  const w = (name, v) => { inits.push(makeFloatTensor(name, v.shape, v.dataSync())); return name; };
  const i64 = (name, vals) => { inits.push(makeIntTensor(name, [vals.length], DataType.INT64, vals)); return name; };
  const f32 = (name, x) => { inits.push(makeFloatTensor(name, [], [x])); return name; };
  const ints = (name, v) => ({ name, type: AttributeType.INTS, ints: v });
  const int = (name, v) => ({ name, type: AttributeType.INT, i: v });
  const flt = (name, v) => ({ name, type: AttributeType.FLOAT, f: v });
  const node = (opType, input, name, attribute = []) => { nodes.push({ opType, input, output: [`/${name}_output_0`], name: `/${name}`, attribute, domain: '' }); return `/${name}_output_0`; };

  i64('shape_heads', [0, 0, H, DH]); i64('shape_model', [0, 0, D]); i64('zero', [0]); i64('one_axis', [1]);
  f32('scale', 1 / Math.sqrt(DH)); f32('half', 0.5); f32('one', 1); f32('sqrt2', Math.SQRT2);
  const seqShape = node('Shape', ['input_ids'], 'embed/Shape');
  const seqLen = node('Slice', [seqShape, 'one_axis', i64('two_axis', [2]), 'zero'], 'embed/SeqLen');
  const pos = node('Slice', [w('pos_embedding', P.pos), 'zero', seqLen, 'zero'], 'embed/PosSlice');
  let x = node('Add', [node('Gather', [w('token_embedding', P.tok), 'input_ids'], 'embed/Gather', [int('axis', 0)]), pos], 'embed/Add');
  const ln = (xin, g, b, name) => node('LayerNormalization', [xin, g, b], name, [int('axis', -1), flt('epsilon', 1e-5)]);
  const linear = (xin, W, B, name) => node('Add', [node('MatMul', [xin, W], `${name}/MatMul`), B], `${name}/Add`);
  P.layers.forEach((L, l) => {
    const p = `layer${l}`;
    const h = ln(x, w(`${p}.ln1.weight`, L.ln1g), w(`${p}.ln1.bias`, L.ln1b), `${p}/ln1/LayerNormalization`);
    const heads = (t, name, perm) => node('Transpose', [node('Reshape', [t, 'shape_heads'], `${p}/attn/${name}/Reshape`)], `${p}/attn/${name}/Transpose`, [ints('perm', perm)]);
    const q = heads(linear(h, w(`${p}.q.weight`, L.wq), w(`${p}.q.bias`, L.bq), `${p}/attn/q`), 'q', [0, 2, 1, 3]);
    const k = heads(linear(h, w(`${p}.k.weight`, L.wk), w(`${p}.k.bias`, L.bk), `${p}/attn/k`), 'k', [0, 2, 3, 1]);
    const v = heads(linear(h, w(`${p}.v.weight`, L.wv), w(`${p}.v.bias`, L.bv), `${p}/attn/v`), 'v', [0, 2, 1, 3]);
    const scores = node('Mul', [node('MatMul', [q, k], `${p}/attn/MatMul_qk`), 'scale'], `${p}/attn/Mul_scale`);
    const probs = node('Softmax', [scores], `${p}/attn/Softmax`, [int('axis', -1)]);
    const ctx = node('MatMul', [probs, v], `${p}/attn/MatMul_pv`);
    const merged = node('Reshape', [node('Transpose', [ctx], `${p}/attn/out/Transpose`, [ints('perm', [0, 2, 1, 3])]), 'shape_model'], `${p}/attn/out/Reshape`);
    x = node('Add', [x, linear(merged, w(`${p}.o.weight`, L.wo), w(`${p}.o.bias`, L.bo), `${p}/attn/o`)], `${p}/attn/residual`);
    const h2 = ln(x, w(`${p}.ln2.weight`, L.ln2g), w(`${p}.ln2.bias`, L.ln2b), `${p}/ln2/LayerNormalization`);
    const f = linear(h2, w(`${p}.fc1.weight`, L.w1), w(`${p}.fc1.bias`, L.b1), `${p}/mlp/fc1`);
    const erf = node('Erf', [node('Div', [f, 'sqrt2'], `${p}/mlp/gelu/Div`)], `${p}/mlp/gelu/Erf`);
    const gelu = node('Mul', [node('Mul', [f, 'half'], `${p}/mlp/gelu/Mul_half`), node('Add', [erf, 'one'], `${p}/mlp/gelu/Add_one`)], `${p}/mlp/gelu/Mul`);
    x = node('Add', [x, linear(gelu, w(`${p}.fc2.weight`, L.w2), w(`${p}.fc2.bias`, L.b2), `${p}/mlp/fc2`)], `${p}/mlp/residual`);
  });
  const hf = ln(x, w('final_ln.weight', P.lnfg), w('final_ln.bias', P.lnfb), 'final/LayerNormalization');
  const pooled = node('ReduceMean', [hf], 'pool/ReduceMean', [ints('axes', [1]), int('keepdims', 0)]);
  const logits = linear(pooled, w('classifier.weight', P.wc), w('classifier.bias', P.bc), 'classifier');
  nodes.push({ opType: 'Identity', input: [logits], output: ['logits'], name: '/output/Identity', attribute: [], domain: '' });
  const dim = (d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  return {
    irVersion: 8,
    producerName: 'qcal test-fixtures/tiny-transformer/make.js',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'tiny_transformer',
      node: nodes,
      initializer: inits,
      input: [{ name: 'input_ids', type: { tensorType: { elemType: DataType.INT64, shape: { dim: [dim('batch'), dim('seq')] } } } }],
      output: [{ name: 'logits', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [dim('batch'), dim(CLASSES)] } } } }],
      valueInfo: [],
    },
  };
}

main().catch((e) => { console.error(e); process.exit(1); });
