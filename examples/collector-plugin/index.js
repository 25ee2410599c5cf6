'use strict';
/**
 * @example/qcal-collector-percentile — an example third-party qcal collector plugin.
 *
 * For every tensor it calibrates, it keeps |x| of the finite activation values in a bounded
 * reservoir (Vitter's algorithm R, seeded, so runs are reproducible) and, at postCollect, returns
 * the symmetric range [-T, T] where T is the nearest-rank order statistic of the kept values:
 * T = sorted[ceil(p/100 · n) − 1]. While a tensor has produced no more than `reservoirSize`
 * values the result is the exact percentile of all of them; beyond that it is the percentile of
 * a uniform sample. NaN and ±Infinity are skipped (counted in `nonFiniteCount`).
 *
 * It depends only on @qcal/plugin-kit (a peer dependency: the host's copy is used), as every
 * plugin should.
 */
const { defineCollector, COLLECTOR_API_VERSION, mulberry32 } = require('@qcal/plugin-kit');

/**
 * @typedef {object} PercentileOptions
 * @property {number} percentile    percentile of |x| taken as the threshold, in (0, 100]
 * @property {number} reservoirSize most |x| values kept per tensor
 * @property {number} seed          seed of the reservoir's random choices
 */

/** Per-tensor state: the reservoir, how many finite values were seen, how many were skipped. */
class Reservoir {
  /** @param {number} capacity */
  constructor(capacity) {
    this.values = new Float64Array(Math.min(capacity, 1024));
    this.capacity = capacity;
    this.size = 0;
    this.seen = 0;
    this.nonFinite = 0;
  }

  /** @param {number} v a finite |x| @param {() => number} random */
  add(v, random) {
    this.seen++;
    if (this.size < this.capacity) {
      if (this.size === this.values.length) {
        const grown = new Float64Array(Math.min(this.capacity, this.values.length * 2));
        grown.set(this.values);
        this.values = grown;
      }
      this.values[this.size++] = v;
      return;
    }
    const j = Math.floor(random() * this.seen); // algorithm R: keep with probability capacity/seen
    if (j < this.capacity) this.values[j] = v;
  }

  /** Nearest-rank percentile of the kept values (0 when there are none). @param {number} p */
  percentile(p) {
    if (this.size === 0) return 0;
    const sorted = this.values.slice(0, this.size).sort();
    const rank = Math.min(this.size, Math.max(1, Math.ceil((p / 100) * this.size)));
    return sorted[rank - 1];
  }
}

/** @implements {import('@qcal/plugin-kit').CalibrationCollector} */
class PercentileCollector {
  /** @param {Readonly<PercentileOptions>} options @param {import('@qcal/plugin-kit').CollectorContext} ctx */
  constructor(options, ctx) {
    this.options = options;
    this.random = mulberry32(options.seed);
    /** @type {Map<string, Reservoir>} */
    this.reservoirs = new Map();
    for (const t of ctx.tensors) this.reservoirs.set(t.name, new Reservoir(options.reservoirSize));
  }

  /** @param {string} name @param {string} _opName @param {import('@qcal/plugin-kit').ActivationTensor} tensor */
  collect(name, _opName, tensor) {
    let r = this.reservoirs.get(name);
    if (!r) {
      r = new Reservoir(this.options.reservoirSize);
      this.reservoirs.set(name, r);
    }
    const data = tensor.data; // only valid during this call: values are copied into the reservoir
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (Number.isFinite(v)) r.add(Math.abs(v), this.random);
      else r.nonFinite++;
    }
  }

  /** @returns {Record<string, import('@qcal/plugin-kit').TensorRange>} */
  postCollect() {
    /** @type {Record<string, import('@qcal/plugin-kit').TensorRange>} */
    const out = {};
    for (const [name, r] of this.reservoirs) {
      const t = r.percentile(this.options.percentile);
      /** @type {import('@qcal/plugin-kit').TensorRange} */
      const range = { min: -t, max: t, percentile: this.options.percentile, exact: r.seen <= r.capacity };
      if (r.nonFinite) range.nonFiniteCount = r.nonFinite;
      out[name] = range;
    }
    return out;
  }
}

/** The `example/percentile` collector definition. */
const percentileCollector = defineCollector({
  name: 'example/percentile',
  apiVersion: COLLECTOR_API_VERSION,
  description: 'Symmetric range at a percentile of |x| (exact nearest-rank order statistic over a bounded reservoir)',
  optionsSchema: {
    percentile: { type: 'number', min: 0, max: 100, exclusiveMin: true, description: 'percentile of |x| used as the threshold, in (0, 100]' },
    reservoirSize: { type: 'integer', min: 1, description: 'most |x| values kept per tensor; exact while a tensor has produced no more' },
    seed: { type: 'integer', description: 'seed of the reservoir sampling' },
  },
  defaultOptions: { percentile: 99.99, reservoirSize: 1 << 20, seed: 0 },
  create: (options, ctx) => new PercentileCollector(options, ctx),
});

module.exports = { collectors: [percentileCollector], default: percentileCollector, percentileCollector };
