/**
 * Jest runs tests in their own realm, so typed arrays that onnxruntime-node's native binding
 * creates (main realm) fail onnxruntime-common's `instanceof Float32Array` checks. Replacing the
 * test realm's constructors with the main realm's works but makes numeric loops in tests ~20×
 * slower; instead, each test-realm typed-array constructor also recognises main-realm instances.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED = ['Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer'];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED) {
      const inner = this.global[name];
      const outer = globalThis[name];
      if (!inner || !outer || inner === outer) continue;
      Object.defineProperty(inner, Symbol.hasInstance, {
        value(v) {
          return Function.prototype[Symbol.hasInstance].call(this, v) || (this === inner && v instanceof outer);
        },
      });
    }
  }
}
module.exports = OrtEnvironment;
