import { decodeTrtTable, encodeTrtTable } from '../../src/formats/flatbuffers';
import { hexFixture } from './helpers';

/**
 * An independent FlatBuffers reader written from the format specification only
 * (flatbuffers.dev "Internals"), to show the golden bytes are a valid TrtTable.
 */
function readTrtTable(buf: Uint8Array): { key: string; value: string }[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (p: number) => dv.getUint32(p, true);
  const table = (p: number) => {
    const vt = p - dv.getInt32(p, true);
    const vtLen = dv.getUint16(vt, true);
    const objLen = dv.getUint16(vt + 2, true);
    expect(objLen).toBeGreaterThanOrEqual(4);
    return (field: number): number | null => {
      const slot = 4 + 2 * field;
      if (slot >= vtLen) return null;
      const off = dv.getUint16(vt + slot, true);
      return off ? p + off : null;
    };
  };
  const str = (p: number) => {
    const s = p + u32(p);
    const n = u32(s);
    expect(buf[s + 4 + n]).toBe(0); // NUL terminated
    return new TextDecoder().decode(buf.subarray(s + 4, s + 4 + n));
  };
  const root = u32(0);
  const dictAt = table(root)(0)!;
  const vec = dictAt + u32(dictAt);
  const out: { key: string; value: string }[] = [];
  for (let i = 0; i < u32(vec); i++) {
    const e = vec + 4 + 4 * i;
    const kv = table(e + u32(e));
    out.push({ key: str(kv(0)!), value: str(kv(1)!) });
  }
  return out;
}

describe('calibration.flatbuffers', () => {
  const golden = hexFixture('entropy.ort/calibration.flatbuffers.hex');

  it('the golden bytes read as a TrtTable with the schema field ids', () => {
    expect(readTrtTable(golden)).toEqual([
      { key: 'zero', value: '0.0' }, { key: 'tiny', value: '0.00390625' }, { key: 'relu1', value: '6.0' },
      { key: 'input', value: '1.0' }, { key: 'head.logits', value: '12.5' }, { key: 'conv1/out:0', value: '2.5' },
      { key: 'Add_7', value: '0.10000000149011612' },
    ]);
    // every offset 4-aligned, as FlatBuffers requires for uoffset/soffset
    expect(golden.length % 4).toBe(0);
  });

  it('decodeTrtTable agrees with the independent reader', () => {
    expect(decodeTrtTable(golden, 'g').map(([key, value]) => ({ key, value }))).toEqual(readTrtTable(golden));
  });

  it('encodes empty tables, unicode keys and odd string lengths readably', () => {
    for (const entries of [[], [['é✓/x:0', '1e-05']], [['a', '1.0'], ['bb', '22.0'], ['ccc', '333.0'], ['dddd', '4444.0']]] as [string, string][][]) {
      const buf = encodeTrtTable(entries);
      expect(readTrtTable(buf)).toEqual([...entries].reverse().map(([key, value]) => ({ key, value })));
    }
  });

  it('rejects bytes that are not a TrtTable with a TableError', () => {
    expect(() => decodeTrtTable(Uint8Array.from([0xff, 0xff, 0, 0, 1, 2, 3, 4]), 'bad.flatbuffers')).toThrow(/bad.flatbuffers: not a valid onnxruntime calibration.flatbuffers/);
    expect(() => decodeTrtTable(Uint8Array.from([1, 2]), 'short.flatbuffers')).toThrow(/only 2 bytes/);
  });
});
