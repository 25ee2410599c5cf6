import fc from 'fast-check';
import { setWasmKernels } from '@qcal/kernels';
import { silentLogger } from '@qcal/plugin-kit';
import { mseCollector } from '@qcal/collector-mse';
import { builtKernels } from '../../../test-support/wasm-kernels';

// The mse collector bins |x| with collector-entropy's histcAbsInto, in WebAssembly when built
// (@qcal/kernels histcAbs); its JavaScript kernel is the reference: the same table.

beforeAll(() => { builtKernels(); });
afterAll(() => setWasmKernels(true));

it('gives the same table with the WebAssembly and the JavaScript kernel (NaN, a batch that grows the grid)', async () => {
  const batches = fc.sample(fc.float32Array({ minLength: 4000, maxLength: 4000, noNaN: true, noDefaultInfinity: true, min: -4, max: 4 }), { numRuns: 3, seed: 23 });
  batches[1]![9] = NaN;
  batches[2] = batches[2]!.map((x) => x * 1.5); // grows the grid
  const run = async (wasm: boolean) => {
    setWasmKernels(wasm);
    const c = mseCollector.create({ ...mseCollector.defaultOptions, numBins: 512, startBin: 64, stride: 8 }, { tensors: [], logger: silentLogger });
    for (const d of batches) void c.collect('t', 'op', { data: d, dims: [d.length] });
    return JSON.stringify(await c.postCollect({ tensors: [], logger: silentLogger }));
  };
  const w = await run(true);
  expect(w).toBe(await run(false));
  expect(JSON.parse(w).t.max).toBeGreaterThan(0);
});
