/**
 * Jest's node environment runs tests in their own realm, so the typed arrays onnxruntime-node's
 * native binding creates (main realm) fail onnxruntime-common's `instanceof Float32Array` checks.
 * This environment hands the test realm the main realm's typed array constructors.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED = ['ArrayBuffer', 'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED) this.global[name] = globalThis[name];
  }
}
module.exports = OrtEnvironment;
