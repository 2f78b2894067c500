import { readFileSync } from 'fs';
import * as path from 'path';
import { type AllowedGlobal, type PickleValue, isTuple, unpickle } from '../../src/io/unpickler';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'torch');
const NO_GLOBALS = new Map<string, AllowedGlobal>();

/** Pickle bytes from opcodes: numbers are bytes, strings are latin-1 text. */
function pk(...parts: Array<number | string>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
  }
  return Uint8Array.from(out);
}

const PROTO2 = [0x80, 2] as const;

describe('unpickle', () => {
  it.each([2, 4])('maps every value kind of a protocol %i pickle written by Python', (protocol) => {
    const bytes = readFileSync(path.join(FIXTURES, `values_protocol${protocol}.pkl`));
    const v = unpickle(bytes, { name: 'values.pkl', globals: NO_GLOBALS }) as Map<string, PickleValue>;
    expect(v).toBeInstanceOf(Map);
    expect(v.get('none')).toBeNull();
    expect(v.get('true')).toBe(true);
    expect(v.get('false')).toBe(false);
    expect(v.get('int1')).toBe(255);
    expect(v.get('int2')).toBe(65535);
    expect(v.get('int4')).toBe(-(2 ** 31));
    expect(v.get('long_small')).toBe(2 ** 40);
    expect(v.get('long_neg')).toBe(-(2n ** 63n));
    expect(v.get('long_big')).toBe(2n ** 70n);
    expect(v.get('float')).toBe(0.1);
    expect(Object.is(v.get('neg_zero'), -0)).toBe(true);
    expect(v.get('str')).toBe('h\u00e9llo \u2713');
    expect(v.get('empty_str')).toBe('');
    expect(v.get('nested')).toEqual([1, [2, [3, [4, 'x']]]]);
    expect(isTuple(((v.get('nested') as PickleValue[])[1] as PickleValue[])[1])).toBe(false);
    expect(isTuple((((v.get('nested') as PickleValue[])[1] as PickleValue[])[1] as PickleValue[])[1])).toBe(true);
    expect(v.get('tuple0')).toEqual([]);
    expect(v.get('tuple1')).toEqual([1]);
    expect(v.get('tuple2')).toEqual([1, 2]);
    expect(v.get('tuple3')).toEqual([1, 2, 3]);
    expect(v.get('tuple5')).toEqual([1, 2, 3, 4, 5]);
    for (const k of ['tuple0', 'tuple1', 'tuple2', 'tuple3', 'tuple5']) expect(isTuple(v.get(k)!)).toBe(true);
    // The memo gives back the same object, as Python's does.
    expect(v.get('shared_a')).toEqual([1, 2]);
    expect(v.get('shared_b')).toBe(v.get('shared_a'));
    expect(v.get('int_keys')).toEqual(new Map<PickleValue, PickleValue>([[1, 'one'], [-2, 'minus two']]));
    expect(v.get('many')).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect([...v.keys()].slice(0, 3)).toEqual(['none', 'true', 'false']); // insertion order
  });

  it('refuses a GLOBAL that is not allowed, naming it, before anything runs', () => {
    const bytes = pk(...PROTO2, 'cposix\nsystem\n', 'X', 4, 0, 0, 0, 'ls /', 0x85, 'R', '.');
    expect(() =>
      unpickle(bytes, { name: 'data.pkl of evil.pth', globals: NO_GLOBALS, forbiddenHint: 'only data' }),
    ).toThrow('forbidden global posix.system in data.pkl of evil.pth; only data');
  });

  it('refuses a STACK_GLOBAL that is not allowed', () => {
    const bytes = pk(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, '.');
    expect(() => unpickle(bytes, { name: 'p4.pkl', globals: NO_GLOBALS })).toThrow(
      'forbidden global builtins.eval in p4.pkl',
    );
  });

  it('calls only the pure builders of allowed globals', () => {
    const seen: Array<readonly PickleValue[]> = [];
    const globals = new Map<string, AllowedGlobal>([
      ['m.pair', { reduce: (args) => { seen.push(args); return [args[1], args[0]]; } }],
      ['m.marker', {}],
    ]);
    const ok = pk(...PROTO2, 'cm\npair\n', 'K', 1, 'K', 2, 0x86, 'R', '.');
    expect(unpickle(ok, { name: 'a.pkl', globals })).toEqual([2, 1]);
    expect(seen).toEqual([[1, 2]]);
    const marker = pk(...PROTO2, 'cm\nmarker\n', ')', 'R', '.');
    expect(() => unpickle(marker, { name: 'b.pkl', globals })).toThrow(
      'b.pkl: m.marker cannot be called (opcode REDUCE at byte 13)',
    );
    const notTuple = pk(...PROTO2, 'cm\npair\n', ']', 'R', '.');
    expect(() => unpickle(notTuple, { name: 'c.pkl', globals })).toThrow(
      'c.pkl: REDUCE arguments are a list, not a tuple',
    );
  });

  it('names unknown and unsupported opcodes with their position', () => {
    expect(() => unpickle(pk(...PROTO2, 0xff, '.'), { name: 'u.pkl', globals: NO_GLOBALS })).toThrow(
      'u.pkl: unknown pickle opcode 0xff at byte 2',
    );
    // INST imports and calls a class: not supported at all.
    const inst = pk(...PROTO2, '(', 'ios\nsystem\n', '.');
    expect(() => unpickle(inst, { name: 'i.pkl', globals: NO_GLOBALS })).toThrow(
      "i.pkl: unsupported pickle opcode 0x69 'i' (INST) at byte 3",
    );
  });

  it('reports truncation, empty input and a missing STOP', () => {
    expect(() => unpickle(pk(...PROTO2, 'X', 100, 0, 0, 0, 'abc'), { name: 't.pkl', globals: NO_GLOBALS })).toThrow(
      't.pkl: pickle is truncated: needs 100 more bytes (opcode BINUNICODE at byte 2)',
    );
    expect(() => unpickle(new Uint8Array(0), { name: 'e.pkl', globals: NO_GLOBALS })).toThrow('e.pkl: pickle is empty');
    expect(() => unpickle(pk(...PROTO2, ']'), { name: 'n.pkl', globals: NO_GLOBALS })).toThrow(
      'n.pkl: pickle is truncated: no STOP opcode before the end',
    );
  });

  it('rejects malformed structure clearly', () => {
    const cases: Array<[Uint8Array, string]> = [
      [pk(...PROTO2, 'h', 7, '.'), 'memo entry 7 is not defined (opcode BINGET at byte 2)'],
      [pk(...PROTO2, ')', 'K', 1, 'a', '.'), 'APPEND on a tuple, not a list'],
      [pk(...PROTO2, ']', 'K', 1, 'K', 2, 's', '.'), 'SETITEM on a list, not a dict'],
      [pk(...PROTO2, ']', '}', 'b', '.'), 'BUILD of a list with a dict state'],
      [pk(...PROTO2, 'K', 1, 'Q', '.'), 'persistent ids are not supported here'],
      [pk(...PROTO2, 'a', '.'), 'stack underflow'],
      [pk(...PROTO2, 0x80, 9, '.'), 'unsupported pickle protocol 9'],
    ];
    for (const [bytes, message] of cases) {
      expect(() => unpickle(bytes, { name: 'm.pkl', globals: NO_GLOBALS })).toThrow(message);
    }
  });

  it('builds deeply nested input without recursion', () => {
    const depth = 200_000;
    const bytes = new Uint8Array(2 + (depth + 1) + depth + 1);
    bytes.set([0x80, 2]);
    bytes.fill(0x5d, 2, 3 + depth); // EMPTY_LIST x (depth + 1)
    bytes.fill(0x61, 3 + depth, 3 + 2 * depth); // APPEND x depth
    bytes[bytes.length - 1] = 0x2e;
    let v = unpickle(bytes, { name: 'deep.pkl', globals: NO_GLOBALS });
    let levels = 0;
    while (Array.isArray(v) && v.length === 1) {
      v = v[0];
      levels++;
    }
    expect(levels).toBe(depth);
    expect(v).toEqual([]);
  });

  it('hands persistent ids to persistentLoad', () => {
    const bytes = pk(...PROTO2, 'X', 1, 0, 0, 0, 'k', 0x85, 'Q', '.');
    const got = unpickle(bytes, {
      name: 'p.pkl',
      globals: NO_GLOBALS,
      persistentLoad: (pid) => `loaded ${JSON.stringify(pid)}`,
    });
    expect(got).toBe('loaded ["k"]');
  });
});
