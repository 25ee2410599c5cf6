/**
 * AssemblyScript source of auto-tune's elementwise kernel (built by `npm run build:wasm` into
 * dist/wasm/pointwise.wasm; the TypeScript twin and reference is src/tuning/pointwise.ts, which
 * the loader in src/tuning/pointwise-wasm.ts falls back to when the module is not built).
 *
 * For candidates j < k: Σᵢ (ref[i] − op(fq_j(x[i]), o[i]))², four values at a time (f32x4), the
 * fake quantization and the op in float32 exactly as JavaScript's Math.fround arithmetic and
 * onnxruntime compute them (`nearest` is round half to even), the difference and its square in
 * double (f64x2). Per candidate, lanes accumulate separately: acc[j] holds two f64x2 (values
 * 4m, 4m+1 | 4m+2, 4m+3), tail[j] the values past the last multiple of 4; the caller adds them up.
 * NaN propagates (wasm min/max return NaN when either operand is NaN).
 *
 * kind: 0 Add, 1 Sub, 2 Mul, 3 Div, 4 Relu, 5 Clip; role: 0 x is the first operand, 1 the
 * second, 2 both (Relu and Clip use 0).
 */

const BLOCK: i32 = 1024;

// @ts-ignore: decorator
@inline
function fq(x: v128, s: v128): v128 {
  let r = f32x4.nearest(f32x4.mul(x, s));
  r = f32x4.min(f32x4.max(r, f32x4.splat(-128)), f32x4.splat(127));
  return f32x4.div(r, s);
}

// @ts-ignore: decorator
@inline
function fq1(x: f32, s: f32): f32 {
  let r = nearest<f32>(x * s);
  r = min<f32>(max<f32>(r, -128), 127);
  return r / s;
}

// @ts-ignore: decorator
@inline
function apply(kind: i32, role: i32, q: v128, o: v128, lo: v128, hi: v128): v128 {
  if (kind == 0) return role == 2 ? f32x4.add(q, q) : f32x4.add(q, o);
  if (kind == 1) return role == 2 ? f32x4.sub(q, q) : role == 0 ? f32x4.sub(q, o) : f32x4.sub(o, q);
  if (kind == 2) return role == 2 ? f32x4.mul(q, q) : f32x4.mul(q, o);
  if (kind == 3) return role == 2 ? f32x4.div(q, q) : role == 0 ? f32x4.div(q, o) : f32x4.div(o, q);
  if (kind == 4) return f32x4.max(q, f32x4.splat(0));
  return f32x4.min(f32x4.max(q, lo), hi);
}

// @ts-ignore: decorator
@inline
function apply1(kind: i32, role: i32, q: f32, o: f32, lo: f32, hi: f32): f32 {
  if (kind == 0) return role == 2 ? q + q : q + o;
  if (kind == 1) return role == 2 ? q - q : role == 0 ? q - o : o - q;
  if (kind == 2) return role == 2 ? q * q : q * o;
  if (kind == 3) return role == 2 ? q / q : role == 0 ? q / o : o / q;
  if (kind == 4) return max<f32>(q, 0);
  return min<f32>(max<f32>(q, lo), hi);
}

// @ts-ignore: decorator
@inline
function body(kind: i32, role: i32, x: usize, o: usize, ref: usize, n: i32, scales: usize, k: i32, acc: usize, tail: usize, lo: f32, hi: f32): void {
  const n4 = n & ~3;
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  for (let b = 0; b < n4; b += BLOCK) {
    const e = min(n4, b + BLOCK);
    for (let j = 0; j < k; j++) {
      const s = f32x4.splat(load<f32>(scales + (<usize>j << 2)));
      const at = acc + (<usize>j << 5);
      let a0 = v128.load(at);
      let a1 = v128.load(at, 16);
      for (let i = b; i < e; i += 4) {
        const off = <usize>i << 2;
        const out = apply(kind, role, fq(v128.load(x + off), s), v128.load(o + off), vlo, vhi);
        const r = v128.load(ref + off);
        const dl = f64x2.sub(f64x2.promote_low_f32x4(r), f64x2.promote_low_f32x4(out));
        const dh = f64x2.sub(
          f64x2.promote_low_f32x4(v128.shuffle<f32>(r, r, 2, 3, 0, 1)),
          f64x2.promote_low_f32x4(v128.shuffle<f32>(out, out, 2, 3, 0, 1)),
        );
        a0 = f64x2.add(a0, f64x2.mul(dl, dl));
        a1 = f64x2.add(a1, f64x2.mul(dh, dh));
      }
      v128.store(at, a0);
      v128.store(at, a1, 16);
    }
  }
  for (let j = 0; j < k; j++) {
    const s = load<f32>(scales + (<usize>j << 2));
    let t = load<f64>(tail + (<usize>j << 3));
    for (let i = n4; i < n; i++) {
      const off = <usize>i << 2;
      const out = apply1(kind, role, fq1(load<f32>(x + off), s), load<f32>(o + off), lo, hi);
      const d = <f64>load<f32>(ref + off) - <f64>out;
      t += d * d;
    }
    store<f64>(tail + (<usize>j << 3), t);
  }
}

/** See the file comment; pointers are byte offsets into this module's memory, 16-byte aligned. */
export function sqErrors(kind: i32, role: i32, x: usize, o: usize, ref: usize, n: i32, scales: usize, k: i32, acc: usize, tail: usize, lo: f32, hi: f32): void {
  switch (kind * 3 + role) {
    case 0: case 1: body(0, 0, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 2: body(0, 2, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 3: body(1, 0, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 4: body(1, 1, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 5: body(1, 2, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 6: case 7: body(2, 0, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 8: body(2, 2, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 9: body(3, 0, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 10: body(3, 1, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 11: body(3, 2, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    case 12: body(4, 0, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
    default: body(5, 0, x, o, ref, n, scales, k, acc, tail, lo, hi); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Stacked candidates for ops onnxruntime runs (see src/tuning/stack-kernel.ts): the fake
// quantization of the tuned input at every candidate, and the distance of the op's stacked output
// to the FP32 reference, each in one pass, so onnxruntime runs only the op.

/** out[j·n + i] = fq(x[i], scales[j]) for j < k, i < n: the k candidates stacked, blocks of x kept in cache. */
export function fakeQuantStack(x: usize, n: i32, scales: usize, k: i32, out: usize): void {
  const n4 = n & ~3;
  for (let b = 0; b < n4; b += BLOCK) {
    const e = min(n4, b + BLOCK);
    for (let j = 0; j < k; j++) {
      const s = f32x4.splat(load<f32>(scales + (<usize>j << 2)));
      const dst = out + ((<usize>j * <usize>n) << 2);
      for (let i = b; i < e; i += 4) {
        const off = <usize>i << 2;
        v128.store(dst + off, fq(v128.load(x + off), s));
      }
    }
  }
  for (let j = 0; j < k; j++) {
    const s = load<f32>(scales + (<usize>j << 2));
    const dst = out + ((<usize>j * <usize>n) << 2);
    for (let i = n4; i < n; i++) {
      const off = <usize>i << 2;
      store<f32>(dst + off, fq1(load<f32>(x + off), s));
    }
  }
}

/**
 * For j < k: Σᵢ (ref[i] − out[j·m + i])² over i < m, in double, lanes as in `body` (acc[j]: two
 * f64x2, tail[j]: the values past the last multiple of 4).
 */
export function sqDiffStack(ref: usize, out: usize, m: i32, k: i32, acc: usize, tail: usize): void {
  const m4 = m & ~3;
  for (let b = 0; b < m4; b += BLOCK) {
    const e = min(m4, b + BLOCK);
    for (let j = 0; j < k; j++) {
      const src = out + ((<usize>j * <usize>m) << 2);
      const at = acc + (<usize>j << 5);
      let a0 = v128.load(at);
      let a1 = v128.load(at, 16);
      for (let i = b; i < e; i += 4) {
        const off = <usize>i << 2;
        const r = v128.load(ref + off);
        const o = v128.load(src + off);
        const dl = f64x2.sub(f64x2.promote_low_f32x4(r), f64x2.promote_low_f32x4(o));
        const dh = f64x2.sub(
          f64x2.promote_low_f32x4(v128.shuffle<f32>(r, r, 2, 3, 0, 1)),
          f64x2.promote_low_f32x4(v128.shuffle<f32>(o, o, 2, 3, 0, 1)),
        );
        a0 = f64x2.add(a0, f64x2.mul(dl, dl));
        a1 = f64x2.add(a1, f64x2.mul(dh, dh));
      }
      v128.store(at, a0);
      v128.store(at, a1, 16);
    }
  }
  for (let j = 0; j < k; j++) {
    const src = out + ((<usize>j * <usize>m) << 2);
    let t = load<f64>(tail + (<usize>j << 3));
    for (let i = m4; i < m; i++) {
      const off = <usize>i << 2;
      const d = <f64>load<f32>(ref + off) - <f64>load<f32>(src + off);
      t += d * d;
    }
    store<f64>(tail + (<usize>j << 3), t);
  }
}

/**
 * For j < k: Σᵢ w[i]·(x[i] − fq(x[i], scales[j]))² over i < n, in double: the squared error of an
 * op whose output copies each tuned value x[i] w[i] times (Concat, nearest Resize, reshapes).
 */
export function copyErrors(x: usize, w: usize, n: i32, scales: usize, k: i32, acc: usize, tail: usize): void {
  const n4 = n & ~3;
  for (let b = 0; b < n4; b += BLOCK) {
    const e = min(n4, b + BLOCK);
    for (let j = 0; j < k; j++) {
      const s = f32x4.splat(load<f32>(scales + (<usize>j << 2)));
      const at = acc + (<usize>j << 5);
      let a0 = v128.load(at);
      let a1 = v128.load(at, 16);
      for (let i = b; i < e; i += 4) {
        const off = <usize>i << 2;
        const v = v128.load(x + off);
        const q = fq(v, s);
        const c = v128.load(w + off);
        const dl = f64x2.sub(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(q));
        const dh = f64x2.sub(
          f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)),
          f64x2.promote_low_f32x4(v128.shuffle<f32>(q, q, 2, 3, 0, 1)),
        );
        a0 = f64x2.add(a0, f64x2.mul(f64x2.promote_low_f32x4(c), f64x2.mul(dl, dl)));
        a1 = f64x2.add(a1, f64x2.mul(f64x2.promote_low_f32x4(v128.shuffle<f32>(c, c, 2, 3, 0, 1)), f64x2.mul(dh, dh)));
      }
      v128.store(at, a0);
      v128.store(at, a1, 16);
    }
  }
  for (let j = 0; j < k; j++) {
    const s = load<f32>(scales + (<usize>j << 2));
    let t = load<f64>(tail + (<usize>j << 3));
    for (let i = n4; i < n; i++) {
      const off = <usize>i << 2;
      const v = load<f32>(x + off);
      const d = <f64>v - <f64>fq1(v, s);
      t += <f64>load<f32>(w + off) * (d * d);
    }
    store<f64>(tail + (<usize>j << 3), t);
  }
}
