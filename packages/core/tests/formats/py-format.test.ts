import { compareCodePoints, pythonFixed, pythonFloatRepr, pythonJsonString } from '../../src/formats/py-format';

// Expected strings are CPython 3.11's repr(x), '{:.7f}'.format(x) and json.dumps(s).
describe('pythonFloatRepr', () => {
  it.each([
    [0, '0.0'], [-0, '-0.0'], [1, '1.0'], [-12.5, '-12.5'], [6, '6.0'],
    [Math.fround(0.1), '0.10000000149011612'], [0.1, '0.1'],
    [1e-4, '0.0001'], [1e-5, '1e-05'], [Math.fround(1e-5), '9.999999747378752e-06'],
    [1.5e-7, '1.5e-07'], [1e15, '1000000000000000.0'], [1e16, '1e+16'],
    [123456789012345678, '1.2345678901234568e+17'], [1e100, '1e+100'], [0.00390625, '0.00390625'],
  ])('%p -> %s', (x, s) => expect(pythonFloatRepr(x)).toBe(s));
});

describe('pythonFixed(x, 7)', () => {
  it.each([
    [1, '1.0000000'], [-2.5, '-2.5000000'], [0, '0.0000000'], [-0, '-0.0000000'],
    [1e-5, '0.0000100'], [-1e-9, '-0.0000000'], [0.1, '0.1000000'],
    // exact binary ties round to even in Python; toFixed would give 0.0039063
    [0.00390625, '0.0039062'], [-0.00390625, '-0.0039062'], [0.01171875, '0.0117188'],
    [1e22, '10000000000000000000000.0000000'], [12.345678949999999, '12.3456789'],
  ])('%p -> %s', (x, s) => expect(pythonFixed(x, 7)).toBe(s));
});

describe('pythonJsonString', () => {
  it('escapes like json.dumps with ensure_ascii', () => {
    expect(pythonJsonString('a"b\\c\n\t/é✓\u0001\u007f😀')).toBe('"a\\"b\\\\c\\n\\t/\\u00e9\\u2713\\u0001\\u007f\\ud83d\\ude00"');
  });
});

describe('compareCodePoints', () => {
  it('orders like Python sorted(): by code point, astral after U+FFFF', () => {
    expect(['b', 'a', '\uffff', '😀', 'B', 'ab'].sort(compareCodePoints)).toEqual(['B', 'a', 'ab', 'b', '\uffff', '😀']);
  });
});
