/**
 * AssemblyScript source of the histogram collectors' per-value loops (built by `npm run build:wasm
 * -w @qcal/kernels` into dist/wasm/histograms.wasm). Each function is the twin of a JavaScript
 * kernel that stays in its collector as the reference and the fallback; the loader
 * (src/histogram-kernels.ts) hands them one chunk of a tensor at a time.
 *
 * Identity with JavaScript: every value is a float32 widened to float64 and the arithmetic is the
 * same float64 (or float32, where the reference rounds through a Float32Array) operations in the
 * same order, so results are the same bits. Counts are the collector's float64 counts, copied in and
 * out by the loader; adding 1 to an integer below 2^53 is exact.
 * Truncations use the saturating conversion (NaN gives 0, as JavaScript's `| 0`); the loader only
 * calls in where every truncated quantity is a small non-negative number.
 *
 * Pointers are byte offsets into this module's memory (the loader's layout); data is float32.
 */

/** 1.5·2^52: for an integer t with |t| < 2^31, t + MAGIC (exact) holds t in its low 32 bits. */
const MAGIC = f64x2.splat(6755399441055744.0);

// @ts-ignore: decorator
@inline
function bump(counts: usize, b: i32): void {
  const p = counts + (<usize>b << 3);
  store<f64>(p, load<f64>(p) + 1);
}

// @ts-ignore: decorator
@inline
function add(counts: usize, b: i32, delta: f64): void {
  const p = counts + (<usize>b << 3);
  store<f64>(p, load<f64>(p) + delta);
}

/**
 * torch.histc's bins: the twin of collector-hfmg's `histcRun` (see there): adds `delta` (±1) to the bin of each value
 * of `data[0..len)` until the first one outside [lo, hi] (or NaN); returns how many were binned.
 * The bin is torch's float32 formula `trunc(f32(f32(x − lo)·nbins) / range)` itself, four values at a
 * time: the JavaScript kernel computes it in float64 and goes to float32 only near bin edges,
 * where the two could differ, so both give torch's bin. lo, hi and range must be float32 values,
 * nbins a power of two and range·nbins below 2^128 (the product is then exact in float32, as it is in
 * the reference's float64).
 */
export function histc(data: usize, len: i32, counts: usize, nbins: i32, lo: f32, hi: f32, range: f32, delta: f64): i32 {
  const last = nbins - 1;
  const fn = <f32>nbins;
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const vn = f32x4.splat(fn);
  const vr = f32x4.splat(range);
  const vlast = i32x4.splat(last);
  let i = 0;
  while (i + 4 <= len) {
    const v = v128.load(data + (<usize>i << 2));
    if (!i32x4.all_true(v128.and(f32x4.ge(v, vlo), f32x4.le(v, vhi)))) break;
    const idx = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.div(f32x4.mul(f32x4.sub(v, vlo), vn), vr)), vlast);
    add(counts, i32x4.extract_lane(idx, 0), delta);
    add(counts, i32x4.extract_lane(idx, 1), delta);
    add(counts, i32x4.extract_lane(idx, 2), delta);
    add(counts, i32x4.extract_lane(idx, 3), delta);
    i += 4;
  }
  for (; i < len; i++) {
    const x = load<f32>(data + (<usize>i << 2));
    if (!(x >= lo && x <= hi)) return i;
    const b = <i32>(((x - lo) * fn) / range);
    add(counts, b > last ? last : b, delta);
  }
  return i;
}

/**
 * torch.histc's bins of |x| (modelopt's histogram): the twin of collector-entropy's `histcAbsIntoJs`.
 * Adds 1 to bin `trunc(f32(f32(|x| − lo)·n) / span)` (clamped to the last bin; torch's float32
 * formula itself, four values at a time) of each value of `data[0..len)` whose |x| lies in
 * [lo, hi]; others (NaN, ±Infinity, outside) are skipped. Returns how many were binned.
 * lo, hi, span = f32(hi − lo) > 0 are float32 values and span·n below 2^128 (no overflow to Infinity).
 */
export function histcAbs(data: usize, len: i32, counts: usize, n: i32, lo: f32, hi: f32, span: f32): i32 {
  const last = n - 1;
  const fn = <f32>n;
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const vn = f32x4.splat(fn);
  const vs = f32x4.splat(span);
  const vlast = i32x4.splat(last);
  let added = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const a = f32x4.abs(v128.load(data + (<usize>i << 2)));
    const idx = i32x4.min_s(i32x4.trunc_sat_f32x4_s(f32x4.div(f32x4.mul(f32x4.sub(a, vlo), vn), vs)), vlast);
    if (i32x4.all_true(v128.and(f32x4.ge(a, vlo), f32x4.le(a, vhi)))) {
      bump(counts, i32x4.extract_lane(idx, 0));
      bump(counts, i32x4.extract_lane(idx, 1));
      bump(counts, i32x4.extract_lane(idx, 2));
      bump(counts, i32x4.extract_lane(idx, 3));
      added += 4;
      continue;
    }
    for (let j = i; j < i + 4; j++) {
      const x = abs(load<f32>(data + (<usize>j << 2)));
      if (!(x >= lo && x <= hi)) continue;
      const b = <i32>(((x - lo) * fn) / span);
      bump(counts, b > last ? last : b);
      added++;
    }
  }
  for (; i < len; i++) {
    const x = abs(load<f32>(data + (<usize>i << 2)));
    if (!(x >= lo && x <= hi)) continue;
    const b = <i32>(((x - lo) * fn) / span);
    bump(counts, b > last ? last : b);
    added++;
  }
  return added;
}

/** tpu-mlir's bin of one |x| whose k = floor(f32(f32(a/width) + 0.5)) is known (the scalar part of {@link tpumlirFill}). */
// @ts-ignore: decorator
@inline
function tpumlirOne(a: f32, k: f32, counts: usize, edges: usize, last: i32): void {
  if (!(a > 0 && a < Infinity)) return; // zeros, NaN, ±Infinity
  if (!(k <= <f32>last)) return; // outside np.histogram's range
  let b = <i32>k;
  if (b != last && <f32>b >= load<f32>(edges + (<usize>(b + 1) << 2))) b++;
  bump(counts, b);
}

/**
 * The twin of collector-entropy's `tpumlirHistogramIntoJs` (tpu-mlir's `cali_math.histogram`):
 * for |x| of each value (zeros, NaN and ±Infinity skipped) k = floor(f32(f32(|x|/width) + 0.5)) in
 * float32 lanes, four at a time; k beyond the last bin skipped; then NumPy's one step up against the
 * float32 edges of range (0, n − 1) (`k >= edges[k + 1]`, not from the last bin), value by value.
 */
export function tpumlirFill(data: usize, len: i32, counts: usize, edges: usize, n: i32, width: f32): void {
  const last = n - 1;
  const vw = f32x4.splat(width);
  const half = f32x4.splat(0.5);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const a = f32x4.abs(v128.load(data + (<usize>i << 2)));
    const k = f32x4.floor(f32x4.add(f32x4.div(a, vw), half));
    tpumlirOne(f32x4.extract_lane(a, 0), f32x4.extract_lane(k, 0), counts, edges, last);
    tpumlirOne(f32x4.extract_lane(a, 1), f32x4.extract_lane(k, 1), counts, edges, last);
    tpumlirOne(f32x4.extract_lane(a, 2), f32x4.extract_lane(k, 2), counts, edges, last);
    tpumlirOne(f32x4.extract_lane(a, 3), f32x4.extract_lane(k, 3), counts, edges, last);
  }
  for (; i < len; i++) {
    const a = abs(load<f32>(data + (<usize>i << 2)));
    tpumlirOne(a, floor(a / width + 0.5), counts, edges, last);
  }
}

/** onnxruntime's |x| bin of one value (the scalar code of {@link ortAbsFill}); counts what is below the first edge. */
// @ts-ignore: decorator
@inline
function ortAbsOne(x: f32, counts: usize, edges: usize, n: i32, lo: f64, hi: f64, scale: f64, state: usize): void {
  const v = <f64>abs(x);
  if (!(v >= lo && v <= hi)) {
    if (v < lo) store<f64>(state, load<f64>(state) + 1); // finite, below the first edge: dropped
    return;
  }
  let k = <i32>floor((v - lo) * scale);
  if (k > n - 1) k = n - 1;
  while (k > 0 && v < <f64>load<f32>(edges + (<usize>k << 2))) k--;
  while (k < n - 1 && v >= <f64>load<f32>(edges + (<usize>(k + 1) << 2))) k++;
  bump(counts, k);
}

/**
 * The twin of collector-percentile's `ortAbsFillJs` (onnxruntime's later batches: |x| of the finite
 * values onto explicit float32 edges, NumPy's searchsorted-right bins, the last bin closed): the bin
 * estimate `min(n − 1, floor((|x| − lo)·scale))` in f64x2 lanes, then for four values at once the
 * edges around each estimate are gathered and checked; when every value is inside and every estimate
 * right, the four are counted, otherwise the four take the scalar code (the reference's loops that
 * step the estimate down and up). NaN and ±Infinity are skipped; finite |x| below the first edge
 * are counted in `state` (float64, in and out). lo = edges[0] < hi = edges[n], scale = n/(hi − lo).
 */
export function ortAbsFill(data: usize, len: i32, counts: usize, edges: usize, n: i32, scale: f64, state: usize): void {
  const lo32 = load<f32>(edges);
  const hi32 = load<f32>(edges + (<usize>n << 2));
  const lo = <f64>lo32;
  const hi = <f64>hi32;
  const vl32 = f32x4.splat(lo32);
  const vh32 = f32x4.splat(hi32);
  const vlo = f64x2.splat(lo);
  const vs = f64x2.splat(scale);
  const vlast = i32x4.splat(n - 1);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const p = data + (<usize>i << 2);
    const a = f32x4.abs(v128.load(p));
    if (i32x4.all_true(v128.and(f32x4.ge(a, vl32), f32x4.le(a, vh32)))) {
      const fa = f64x2.floor(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(a), vlo), vs));
      const fb = f64x2.floor(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 0, 1)), vlo), vs));
      const k = i32x4.min_s(v128.shuffle<i32>(f64x2.add(fa, MAGIC), f64x2.add(fb, MAGIC), 0, 2, 4, 6), vlast);
      const k0 = <usize>i32x4.extract_lane(k, 0) << 2;
      const k1 = <usize>i32x4.extract_lane(k, 1) << 2;
      const k2 = <usize>i32x4.extract_lane(k, 2) << 2;
      const k3 = <usize>i32x4.extract_lane(k, 3) << 2;
      let left = f32x4.splat(load<f32>(edges + k0));
      left = f32x4.replace_lane(left, 1, load<f32>(edges + k1));
      left = f32x4.replace_lane(left, 2, load<f32>(edges + k2));
      left = f32x4.replace_lane(left, 3, load<f32>(edges + k3));
      let right = f32x4.splat(load<f32>(edges + k0, 4));
      right = f32x4.replace_lane(right, 1, load<f32>(edges + k1, 4));
      right = f32x4.replace_lane(right, 2, load<f32>(edges + k2, 4));
      right = f32x4.replace_lane(right, 3, load<f32>(edges + k3, 4));
      // a step down where |x| < left edge, a step up where |x| >= right edge (not from the last bin)
      const off = v128.or(f32x4.lt(a, left), v128.and(f32x4.ge(a, right), i32x4.ne(k, vlast)));
      if (!v128.any_true(off)) {
        bump(counts, i32x4.extract_lane(k, 0));
        bump(counts, i32x4.extract_lane(k, 1));
        bump(counts, i32x4.extract_lane(k, 2));
        bump(counts, i32x4.extract_lane(k, 3));
        continue;
      }
    }
    for (let j = 0; j < 4; j++) ortAbsOne(load<f32>(p + (<usize>j << 2)), counts, edges, n, lo, hi, scale, state);
  }
  for (; i < len; i++) ortAbsOne(load<f32>(data + (<usize>i << 2)), counts, edges, n, lo, hi, scale, state);
}

/**
 * Min and max of the values of `data[0..len)` with |x| < `limit`, and the numbers of NaN and of the
 * others (±Infinity and |x| >= limit): with limit 2^100 (overflowed activations count as infinite)
 * the twin of collector-hfmg's `finiteRange` and of collector-ifmr's, with limit +Infinity of
 * collector-minmax's `finiteMinMax`, except for the sign of a zero extreme (four lanes each keep
 * their first zero; the loader settles it). `state` holds (min, max, nan, inf) as float64, in and
 * out, and 32 bytes of scratch after them.
 */
export function finiteRange(data: usize, len: i32, state: usize, limit: f32): void {
  const LIM = f32x4.splat(limit);
  let mn = f32x4.splat(Infinity);
  let mx = f32x4.splat(-Infinity);
  let nan = i32x4.splat(0);
  let bad = i32x4.splat(0);
  let mn1 = f32x4.splat(Infinity);
  let mx1 = f32x4.splat(-Infinity);
  let i = 0;
  // Eight values a step: when all are below the limit (the usual case), min/max lanes by
  // pmin/pmax (`v < mn ? v : mn`, one instruction, the reference's comparison) in two sets of
  // lanes; otherwise each four the masked way, counting NaN and the others.
  for (; i + 8 <= len; i += 8) {
    const p = data + (<usize>i << 2);
    const v = v128.load(p);
    const w = v128.load(p, 16);
    const okV = f32x4.lt(f32x4.abs(v), LIM);
    const okW = f32x4.lt(f32x4.abs(w), LIM);
    if (i32x4.all_true(v128.and(okV, okW))) {
      mn = f32x4.pmin(mn, v);
      mx = f32x4.pmax(mx, v);
      mn1 = f32x4.pmin(mn1, w);
      mx1 = f32x4.pmax(mx1, w);
      continue;
    }
    mn = v128.bitselect(v, mn, v128.and(okV, f32x4.lt(v, mn)));
    mx = v128.bitselect(v, mx, v128.and(okV, f32x4.gt(v, mx)));
    nan = i32x4.sub(nan, f32x4.ne(v, v));
    bad = i32x4.sub(bad, v128.not(okV));
    mn1 = v128.bitselect(w, mn1, v128.and(okW, f32x4.lt(w, mn1)));
    mx1 = v128.bitselect(w, mx1, v128.and(okW, f32x4.gt(w, mx1)));
    nan = i32x4.sub(nan, f32x4.ne(w, w));
    bad = i32x4.sub(bad, v128.not(okW));
  }
  let lo = <f64>load<f64>(state);
  let hi = <f64>load<f64>(state, 8);
  v128.store(state, mn, 32);
  v128.store(state, mx, 48);
  for (let l = 0; l < 4; l++) {
    const a = <f64>load<f32>(state + (<usize>l << 2), 32);
    const b = <f64>load<f32>(state + (<usize>l << 2), 48);
    if (a < lo) lo = a;
    if (b > hi) hi = b;
  }
  v128.store(state, mn1, 32);
  v128.store(state, mx1, 48);
  for (let l = 0; l < 4; l++) {
    const a = <f64>load<f32>(state + (<usize>l << 2), 32);
    const b = <f64>load<f32>(state + (<usize>l << 2), 48);
    if (a < lo) lo = a;
    if (b > hi) hi = b;
  }
  let nNan = <f64>(i32x4.extract_lane(nan, 0) + i32x4.extract_lane(nan, 1) + i32x4.extract_lane(nan, 2) + i32x4.extract_lane(nan, 3));
  let nBad = <f64>(i32x4.extract_lane(bad, 0) + i32x4.extract_lane(bad, 1) + i32x4.extract_lane(bad, 2) + i32x4.extract_lane(bad, 3));
  for (; i < len; i++) {
    const v = <f64>load<f32>(data + (<usize>i << 2));
    if (!(abs(v) < <f64>limit)) { nBad += 1; if (v != v) nNan += 1; continue; }
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<f64>(state, lo);
  store<f64>(state, hi, 8);
  store<f64>(state, load<f64>(state, 16) + nNan, 16);
  store<f64>(state, load<f64>(state, 24) + nBad - nNan, 24);
}

/** The first zero (its sign) of `data[0..len)`, which holds one. */
function firstZero(data: usize, len: i32): f64 {
  for (let i = 0; i < len; i++) {
    const v = load<f32>(data + (<usize>i << 2));
    if (v == 0) return <f64>v;
  }
  return 0;
}

// @ts-ignore: decorator
@inline
function momentAdd(counts: usize, sums: usize, j: i32, v: f64): void {
  bump(counts, j);
  const p = sums + (<usize>j << 3);
  store<f64>(p, load<f64>(p) + v);
}

/**
 * The twin of collector-ifmr's `binRun`: bins values on the power-of-two lattice (x = v·inv − o)
 * until one falls outside [0, top) or not above `bottom`; per bin a count and a float64 value sum,
 * plus the sum of squares and the min/max, all in value order. `state` holds (ss, lo, hi) as
 * float64 in and out. Returns how many values were binned. The lattice positions and the window
 * test run four values at a time; the sums and the sum of squares are added value by value in order,
 * as the reference does (float64 sums depend on the order); min/max in two f64x2 lanes (the same
 * values; a zero extreme gets the reference's sign afterwards).
 */
export function moment(data: usize, len: i32, counts: usize, sums: usize, inv: f64, o: f64, top: f64, bottom: f64, state: usize): i32 {
  let ss = load<f64>(state);
  let lo = load<f64>(state, 8);
  let hi = load<f64>(state, 16);
  const vinv = f64x2.splat(inv);
  const vo = f64x2.splat(o);
  const vtop = f64x2.splat(top);
  const vbot = f64x2.splat(bottom);
  const zero = f64x2.splat(0);
  let vlo = f64x2.splat(lo);
  let vhi = f64x2.splat(hi);
  let i = 0;
  while (i + 4 <= len) {
    const v = v128.load(data + (<usize>i << 2));
    const a = f64x2.promote_low_f32x4(v);
    const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    const xa = f64x2.sub(f64x2.mul(a, vinv), vo);
    const xb = f64x2.sub(f64x2.mul(b, vinv), vo);
    const okA = v128.and(v128.and(f64x2.ge(xa, zero), f64x2.lt(xa, vtop)), f64x2.gt(xa, vbot));
    const okB = v128.and(v128.and(f64x2.ge(xb, zero), f64x2.lt(xb, vtop)), f64x2.gt(xb, vbot));
    if (!i64x2.all_true(v128.and(okA, okB))) break; // the scalar loop below stops at the value
    const ja = f64x2.add(f64x2.trunc(xa), MAGIC); // the integer bin in the low 32 bits of each lane (0 <= x < top <= bins)
    const jb = f64x2.add(f64x2.trunc(xb), MAGIC);
    const v0 = f64x2.extract_lane(a, 0);
    const v1 = f64x2.extract_lane(a, 1);
    const v2 = f64x2.extract_lane(b, 0);
    const v3 = f64x2.extract_lane(b, 1);
    momentAdd(counts, sums, i32x4.extract_lane(ja, 0), v0);
    momentAdd(counts, sums, i32x4.extract_lane(ja, 2), v1);
    momentAdd(counts, sums, i32x4.extract_lane(jb, 0), v2);
    momentAdd(counts, sums, i32x4.extract_lane(jb, 2), v3);
    ss += v0 * v0;
    ss += v1 * v1;
    ss += v2 * v2;
    ss += v3 * v3;
    vlo = f64x2.pmin(f64x2.pmin(vlo, a), b); // lane by lane `v < lo ? v : lo`, in value order
    vhi = f64x2.pmax(f64x2.pmax(vhi, a), b);
    i += 4;
  }
  // The lanes' extremes. Where the reference's sequential min (or max) is a zero it is the first
  // zero met, the running value first: the lanes may hold another zero, so a zero extreme is settled
  // here (the running value if it was a zero, else the first zero of the values binned above).
  const l0 = f64x2.extract_lane(vlo, 0);
  const l1 = f64x2.extract_lane(vlo, 1);
  const h0 = f64x2.extract_lane(vhi, 0);
  const h1 = f64x2.extract_lane(vhi, 1);
  let vmin = l1 < l0 ? l1 : l0;
  let vmax = h1 > h0 ? h1 : h0;
  if (vmin == 0) vmin = lo == 0 ? lo : firstZero(data, i);
  if (vmax == 0) vmax = hi == 0 ? hi : firstZero(data, i);
  lo = vmin;
  hi = vmax;
  for (; i < len; i++) {
    const v = <f64>load<f32>(data + (<usize>i << 2));
    const x = v * inv - o;
    if (!(x >= 0 && x < top && x > bottom)) break;
    momentAdd(counts, sums, <i32>x, v);
    ss += v * v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  store<f64>(state, ss);
  store<f64>(state, lo, 8);
  store<f64>(state, hi, 16);
  return i;
}

// @ts-ignore: decorator
@inline
function numpyBin(v: f64, lo: f64, scale: f64, delta: f64, last: i32, edges: usize): i32 {
  const f = (v - lo) * scale;
  let k = <i32>f;
  const fr = f - <f64>k;
  if (fr < delta || fr > 1 - delta || k >= last) {
    if (k > last) k = last;
    if (v < <f64>load<f32>(edges + (<usize>k << 2))) k--;
    else if (k != last && v >= <f64>load<f32>(edges + (<usize>(k + 1) << 2))) k++;
  }
  return k;
}

/**
 * NumPy's bins of the four float32 lanes of `v` (all inside the edges), exactly as the reference
 * computes them one by one: the float64 estimate `trunc((v − lo)·scale)`, and for a lane whose
 * fractional part lies within `delta` of 0 or 1, or whose estimate is at or past the last bin, the
 * correction against the float32 edges (clamp to the last bin, one down if below its left edge,
 * else one up if at or past its right edge, except in the last bin). Lanes not near an edge keep
 * the estimate uncorrected, as in the reference.
 */
// @ts-ignore: decorator
@inline
function numpyBins4(v: v128, vlo: v128, vs: v128, vd: v128, vd1: v128, vlast: v128, edges: usize): v128 {
  const a = f64x2.promote_low_f32x4(v);
  const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  const fa = f64x2.mul(f64x2.sub(a, vlo), vs);
  const fb = f64x2.mul(f64x2.sub(b, vlo), vs);
  // trunc in float64 (one instruction); the integers' bits from t + 1.5·2^52, whose low 32 bits are
  // t as an i32 for |t| < 2^31 (cheaper than the saturating conversion, the same for these small t)
  const ta = f64x2.trunc(fa);
  const tb = f64x2.trunc(fb);
  const ra = f64x2.sub(fa, ta);
  const rb = f64x2.sub(fb, tb);
  const k = v128.shuffle<i32>(f64x2.add(ta, MAGIC), f64x2.add(tb, MAGIC), 0, 2, 4, 6);
  const nearA = v128.or(f64x2.lt(ra, vd), f64x2.gt(ra, vd1));
  const nearB = v128.or(f64x2.lt(rb, vd), f64x2.gt(rb, vd1));
  // 64-bit lane masks narrowed to the four 32-bit lanes of k, or'ed with "at or past the last bin"
  const near = v128.or(v128.shuffle<i32>(nearA, nearB, 0, 2, 4, 6), i32x4.ge_s(k, vlast));
  if (!v128.any_true(near)) return k;
  const kc = i32x4.min_s(k, vlast);
  const k0 = <usize>i32x4.extract_lane(kc, 0) << 2;
  const k1 = <usize>i32x4.extract_lane(kc, 1) << 2;
  const k2 = <usize>i32x4.extract_lane(kc, 2) << 2;
  const k3 = <usize>i32x4.extract_lane(kc, 3) << 2;
  let left = f32x4.splat(load<f32>(edges + k0));
  left = f32x4.replace_lane(left, 1, load<f32>(edges + k1));
  left = f32x4.replace_lane(left, 2, load<f32>(edges + k2));
  left = f32x4.replace_lane(left, 3, load<f32>(edges + k3));
  let right = f32x4.splat(load<f32>(edges + k0, 4));
  right = f32x4.replace_lane(right, 1, load<f32>(edges + k1, 4));
  right = f32x4.replace_lane(right, 2, load<f32>(edges + k2, 4));
  right = f32x4.replace_lane(right, 3, load<f32>(edges + k3, 4));
  const down = f32x4.lt(v, left); // all ones (−1) where one bin down
  const up = v128.andnot(v128.and(f32x4.ge(v, right), i32x4.ne(kc, vlast)), down); // −1 where one bin up
  const fixed = i32x4.add(i32x4.sub(kc, up), down);
  return v128.bitselect(fixed, k, near);
}

/**
 * The twin of collector-entropy's `histogramInto` with weight 1: NumPy's bin of every value of
 * `data[0..len)` within [edges[0], edges[n]] (float32 edges, n + 1 of them); others are skipped.
 * Returns how many values were binned. Four values at a time when all four are inside (lanes near a
 * bin edge corrected against the edges in the vector code too); otherwise the four take the scalar
 * code, the reference's.
 */
export function numpyFill(data: usize, len: i32, counts: usize, edges: usize, n: i32): i32 {
  const lo32 = load<f32>(edges);
  const hi32 = load<f32>(edges + (<usize>n << 2));
  const lo = <f64>lo32;
  const hi = <f64>hi32;
  const last = n - 1;
  const scale = hi > lo ? <f64>n / (hi - lo) : 0;
  const delta = <f64>n * 4.76837158203125e-7 + 1e-9; // n·2^-21
  const vl32 = f32x4.splat(lo32);
  const vh32 = f32x4.splat(hi32);
  const vlo = f64x2.splat(lo);
  const vs = f64x2.splat(scale);
  const vd = f64x2.splat(delta);
  const vd1 = f64x2.splat(1 - delta);
  const vlast = i32x4.splat(last);
  let added = 0;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = v128.load(data + (<usize>i << 2));
    if (i32x4.all_true(v128.and(f32x4.ge(v, vl32), f32x4.le(v, vh32)))) {
      const k = numpyBins4(v, vlo, vs, vd, vd1, vlast, edges);
      bump(counts, i32x4.extract_lane(k, 0));
      bump(counts, i32x4.extract_lane(k, 1));
      bump(counts, i32x4.extract_lane(k, 2));
      bump(counts, i32x4.extract_lane(k, 3));
      added += 4;
      continue;
    }
    for (let j = i; j < i + 4; j++) {
      const x = <f64>load<f32>(data + (<usize>j << 2));
      if (!(x >= lo && x <= hi)) continue;
      bump(counts, numpyBin(x, lo, scale, delta, last, edges));
      added++;
    }
  }
  for (; i < len; i++) {
    const x = <f64>load<f32>(data + (<usize>i << 2));
    if (!(x >= lo && x <= hi)) continue;
    bump(counts, numpyBin(x, lo, scale, delta, last, edges));
    added++;
  }
  return added;
}

/**
 * The twin of collector-entropy's `histogramScanInto`: bins values within [−limit, limit] and tracks
 * min/max/NaN/±Infinity; stops at the first finite value outside. `inner` is the largest float32
 * not above `limit` (a float32 is within [−limit, limit] exactly when |v| <= inner). `state` holds (min, max) as
 * float64 and then (nan, inf) as float64 counts, in and out, and 32 bytes of scratch. Returns the
 * index where it stopped, `len` when it ran through. The vector part keeps four min/max lanes, each
 * with its own first zero: the loader settles the sign of a zero extreme.
 */
export function numpyScan(data: usize, len: i32, counts: usize, edges: usize, n: i32, limit: f64, inner: f32, state: usize): i32 {
  const lo = <f64>load<f32>(edges);
  const hi = <f64>load<f32>(edges + (<usize>n << 2));
  const last = n - 1;
  const scale = hi > lo ? <f64>n / (hi - lo) : 0;
  const delta = <f64>n * 4.76837158203125e-7 + 1e-9;
  const neg = -limit;
  const vin = f32x4.splat(inner);
  const vlo = f64x2.splat(lo);
  const vs = f64x2.splat(scale);
  const vd = f64x2.splat(delta);
  const vd1 = f64x2.splat(1 - delta);
  const vlast = i32x4.splat(last);
  let vmn = f32x4.splat(Infinity);
  let vmx = f32x4.splat(-Infinity);
  let mn = load<f64>(state);
  let mx = load<f64>(state, 8);
  let nan = load<f64>(state, 16);
  let inf = load<f64>(state, 24);
  let i = 0;
  let stopped = false;
  while (i + 4 <= len) {
    const v = v128.load(data + (<usize>i << 2));
    // |v| <= inner, the largest float32 not above limit: v in [−limit, limit] (false for NaN)
    if (i32x4.all_true(f32x4.le(f32x4.abs(v), vin))) {
      const k = numpyBins4(v, vlo, vs, vd, vd1, vlast, edges);
      vmn = f32x4.pmin(vmn, v); // v < vmn ? v : vmn, lane by lane
      vmx = f32x4.pmax(vmx, v); // vmx < v ? v : vmx
      bump(counts, i32x4.extract_lane(k, 0));
      bump(counts, i32x4.extract_lane(k, 1));
      bump(counts, i32x4.extract_lane(k, 2));
      bump(counts, i32x4.extract_lane(k, 3));
      i += 4;
      continue;
    }
    const e = i + 4;
    for (; i < e; i++) {
      const v = <f64>load<f32>(data + (<usize>i << 2));
      if (v >= neg && v <= limit) {
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        bump(counts, numpyBin(v, lo, scale, delta, last, edges));
      } else if (v != v) nan += 1;
      else if (v == Infinity || v == -Infinity) inf += 1;
      else { stopped = true; break; }
    }
    if (stopped) break;
  }
  if (!stopped) {
    for (; i < len; i++) {
      const v = <f64>load<f32>(data + (<usize>i << 2));
      if (v >= neg && v <= limit) {
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        bump(counts, numpyBin(v, lo, scale, delta, last, edges));
      } else if (v != v) nan += 1;
      else if (v == Infinity || v == -Infinity) inf += 1;
      else break;
    }
  }
  v128.store(state, vmn, 32);
  v128.store(state, vmx, 48);
  for (let l = 0; l < 4; l++) {
    const a = <f64>load<f32>(state + (<usize>l << 2), 32);
    const b = <f64>load<f32>(state + (<usize>l << 2), 48);
    mn = a < mn ? a : mn;
    mx = b > mx ? b : mx;
  }
  store<f64>(state, mn);
  store<f64>(state, mx, 8);
  store<f64>(state, nan, 16);
  store<f64>(state, inf, 24);
  return i;
}

/**
 * The sum of `data[0..len)` in four float32x4 accumulators (16 values per step): not a collector's
 * kernel but the reference loop of bench/kernels.js, reading values as fast as the machine lets a
 * WebAssembly loop read them (memory or cache bandwidth).
 */
export function sum(data: usize, len: i32): f64 {
  let a = f32x4.splat(0);
  let b = f32x4.splat(0);
  let c = f32x4.splat(0);
  let d = f32x4.splat(0);
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const p = data + (<usize>i << 2);
    a = f32x4.add(a, v128.load(p));
    b = f32x4.add(b, v128.load(p, 16));
    c = f32x4.add(c, v128.load(p, 32));
    d = f32x4.add(d, v128.load(p, 48));
  }
  const t = f32x4.add(f32x4.add(a, b), f32x4.add(c, d));
  let s = <f64>f32x4.extract_lane(t, 0) + <f64>f32x4.extract_lane(t, 1) + <f64>f32x4.extract_lane(t, 2) + <f64>f32x4.extract_lane(t, 3);
  for (; i < len; i++) s += <f64>load<f32>(data + (<usize>i << 2));
  return s;
}
