import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let gc: (() => void) | undefined;

/**
 * A full garbage collection, now. onnxruntime-node's output tensors are external memory that V8
 * frees only when it collects their ArrayBuffers; a pass that fetches hundreds of MB per sample
 * while allocating little on the JavaScript heap lets several samples' outputs pile up (measured
 * in auto-tune's reference pass on the PP-OCRv4 detector: 3 samples, 2 GB, alive at once).
 * Callers drop their references first. `--expose-gc` is set for this isolate's new contexts only
 * to obtain the function; the process's own global `gc` is left as it was.
 */
export function collectGarbage(): void {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
}
