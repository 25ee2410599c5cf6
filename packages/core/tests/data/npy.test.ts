import { readNpy, writeNpy, parseNpyHeader, halfToFloat, floatToHalf } from '../../src/data';

describe('npy', () => {
  test('header is numpy-compatible: padded to 64 bytes, (n,) for 1-D', () => {
    const b = writeNpy(new Float32Array([1, 2, 3]), [3], 'float32');
    const text = Buffer.from(b.subarray(10, 10 + (b[8]! | (b[9]! << 8)))).toString('latin1');
    expect(text).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
    expect((10 + text.length) % 64).toBe(0);
    expect(b.length).toBe(10 + text.length + 12);
  });

  test('reads bytes written by hand (numpy layout, v1.0)', () => {
    const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }";
    const hdr = dict + ' '.repeat(128 - 10 - dict.length - 1) + '\n';
    const bytes = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, hdr.length, 0]), Buffer.from(hdr, 'latin1'),
      Buffer.from(new Int32Array([1, -2, 3, 2147483647]).buffer)]);
    const { header, data } = readNpy(bytes);
    expect(header.shape).toEqual([2, 2]);
    expect(header.dtype).toBe('int32');
    expect(Array.from(data as Int32Array)).toEqual([1, -2, 3, 2147483647]);
  });

  test('version 2.0 header (u32 length)', () => {
    const dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n";
    const len = Buffer.alloc(4); len.writeUInt32LE(dict.length);
    const bytes = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]), len, Buffer.from(dict), Buffer.from(new Float64Array([0.5, -1e300]).buffer)]);
    expect(Array.from(readNpy(bytes).data as Float64Array)).toEqual([0.5, -1e300]);
  });

  const cases: [string, ArrayLike<number> | ArrayLike<bigint>][] = [
    ['float32', new Float32Array([0, -1.5, 3.25, 1e-30, Infinity, -0])],
    ['float64', new Float64Array([0.1, -2.5, 1e300, 5e-324, -Infinity, 7])],
    ['float16', new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000])],
    ['int8', new Int8Array([-128, -1, 0, 1, 2, 127])],
    ['uint8', new Uint8Array([0, 1, 2, 128, 254, 255])],
    ['int32', new Int32Array([-2147483648, -1, 0, 1, 5, 2147483647])],
    ['int64', new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n])],
    ['bool', new Uint8Array([0, 1, 1, 0, 0, 1])],
  ];
  test.each(cases)('round trip %s in C and Fortran order, both byte orders', (dtype, arr) => {
    for (const bigEndian of [false, true]) {
      const c = readNpy(writeNpy(arr as never, [2, 3], dtype as never, { bigEndian }));
      expect(c.header.dtype).toBe(dtype);
      expect(c.header.shape).toEqual([2, 3]);
      expect(Array.from(c.data as ArrayLike<number>)).toEqual(Array.from(arr as ArrayLike<number>));
      // The same elements stored column-major: F-order bytes [a00 a10 a01 a11 a02 a12].
      const f = [0, 3, 1, 4, 2, 5].map((i) => (arr as ArrayLike<number>)[i]!);
      const fa = new (arr.constructor as new (x: unknown[]) => ArrayLike<number>)(f);
      const r = readNpy(writeNpy(fa as never, [2, 3], dtype as never, { fortranOrder: true, bigEndian }));
      expect(r.header.fortranOrder).toBe(true);
      expect(Array.from(r.data as ArrayLike<number>)).toEqual(Array.from(arr as ArrayLike<number>));
    }
  });

  test('Fortran order, rank 3', () => {
    // shape (2,3,4): C index (i,j,k) lives at Fortran offset i + 2j + 6k
    const c = Float32Array.from({ length: 24 }, (_, n) => n);
    const f = new Float32Array(24);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) f[i + 2 * j + 6 * k] = c[i * 12 + j * 4 + k]!;
    expect(Array.from(readNpy(writeNpy(f, [2, 3, 4], 'float32', { fortranOrder: true })).data as Float32Array)).toEqual(Array.from(c));
  });

  test('half conversions round to nearest even', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(2 ** -24)).toBe(1);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  test('bad files are named and explained', () => {
    expect(() => parseNpyHeader(Buffer.from('hello world'), 'x.npy')).toThrow(/x\.npy: not a \.npy file/);
    const b = writeNpy(new Float32Array(4), [4], 'float32');
    expect(() => readNpy(b.subarray(0, b.length - 1), 'y.npy')).toThrow(/y\.npy: truncated \.npy data/);
    const obj = Buffer.from(b); obj.write("{'descr': '|O'", 10, 'latin1');
    expect(() => readNpy(obj, 'z.npy')).toThrow(/z\.npy: .npy dtype '\|O' is not supported/);
  });
});
