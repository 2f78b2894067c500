/**
 * A data-only unpickler: it reads the pickle opcodes `torch.save` emits (protocol 2, and the
 * protocol 4 framing `pickle_protocol=4` adds) and builds plain values. It never evaluates code.
 *
 * Python's unpickler turns `GLOBAL module name` into an import and `REDUCE` into a call, which is
 * how a pickle runs `os.system`. Here a GLOBAL is looked up in an allow-list the caller supplies;
 * each allowed global is a pure TypeScript function that builds a value from its arguments (an
 * OrderedDict, a tensor description). Any other global is an Error before anything else happens.
 *
 * Value mapping: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float ->
 * number, str -> string, bytes -> Uint8Array, list -> array, tuple -> frozen array, dict and
 * OrderedDict -> Map (insertion order kept). Values built by allowed globals are objects carrying
 * a `pickleKind` tag.
 *
 * The machine is a loop over opcodes with an explicit stack (no recursion), so deeply nested
 * input cannot overflow the JS stack; stack, memo and container sizes are bounded by the number
 * of opcodes, itself bounded by the pickle's length.
 */

/** A value built by an allowed global (for example a tensor description). */
export interface PickleExtension {
  /** Tag naming what the object is, e.g. `torch_tensor`. */
  readonly pickleKind: string;
}

/** A reference to an allowed global, as pushed by GLOBAL / STACK_GLOBAL. */
export interface PickleGlobal extends PickleExtension {
  readonly pickleKind: 'global';
  /** Dotted name, e.g. `collections.OrderedDict`. */
  readonly qualifiedName: string;
  readonly spec: AllowedGlobal;
}

/** Everything an unpickled value can be. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | readonly PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickleExtension;

/** What the caller allows a global to do. */
export interface AllowedGlobal {
  /**
   * Builds the result of `REDUCE` (a call with positional `args`). Omit for globals that are
   * only ever passed around as markers (storage classes).
   */
  readonly reduce?: (args: readonly PickleValue[]) => PickleValue;
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** Names the pickle in errors, e.g. `data.pkl of model.pth`. */
  readonly name: string;
  /** Allowed globals keyed by dotted name (`torch._utils._rebuild_tensor_v2`). */
  readonly globals: ReadonlyMap<string, AllowedGlobal>;
  /** Appended to the "forbidden global" error, to tell the user what can be loaded. */
  readonly forbiddenHint?: string;
  /** Resolves BINPERSID ids; without it a persistent id is an error. */
  readonly persistentLoad?: (pid: PickleValue) => PickleValue;
}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/**
 * True for the frozen arrays that stand for Python tuples (lists are plain arrays).
 *
 * @example
 * ```ts
 * isTuple(unpickle(tuplePickle, opts)); // true for (1, 2), false for [1, 2]
 * ```
 */
export function isTuple(v: PickleValue): v is readonly PickleValue[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

/**
 * Python-ish name of a value's type, for error messages.
 *
 * @example
 * ```ts
 * pickleTypeName(new Map()); // 'dict'
 * pickleTypeName(3);         // 'int'
 * ```
 */
export function pickleTypeName(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return isTuple(v) ? 'tuple' : 'list';
  if (v instanceof Map) return 'dict';
  return (v as PickleExtension).pickleKind;
}

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT',
  0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE',
  0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD',
  0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET',
  0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO', 0x81: 'NEWOBJ',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/**
 * Unpickles `bytes` without executing anything: only the globals in `options.globals` can be
 * referenced, and they only build data.
 *
 * @example
 * ```ts
 * const globals = new Map([['collections.OrderedDict', { reduce: () => new Map() }]]);
 * const value = unpickle(pklBytes, { name: 'data.pkl of model.pth', globals });
 * ```
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  const { name } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8');
  const latin1 = new TextDecoder('latin1');
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  let opPos = 0;
  let op = 0;

  const fail = (what: string): never => {
    const opName = OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
    throw new Error(`${name}: ${what} (opcode ${opName} at byte ${opPos})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > bytes.length) fail(`pickle is truncated: needs ${n} more bytes`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} exceeds the pickle`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('pickle is truncated: unterminated line');
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack[stack.length - 1];
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) fail('no MARK on the stack');
    const items = stack.splice(k) as PickleValue[];
    items.shift(); // the MARK itself
    return items;
  };
  const push = (v: PickleValue): void => {
    stack.push(v);
  };
  const memoPut = (index: number): void => {
    memo.set(index, top());
  };
  const memoGet = (index: number): void => {
    const v = memo.get(index);
    if (v === undefined) fail(`memo entry ${index} is not defined`);
    push(v as PickleValue);
  };
  const toNumber = (v: bigint): number | bigint =>
    v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  const decodeLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return toNumber(v);
  };
  const resolveGlobal = (module: string, attr: string): PickleGlobal => {
    const qualifiedName = `${module}.${attr}`;
    const spec = options.globals.get(qualifiedName);
    if (spec === undefined) {
      const hint = options.forbiddenHint === undefined ? '' : `; ${options.forbiddenHint}`;
      throw new Error(`forbidden global ${qualifiedName} in ${name}${hint}`);
    }
    return { pickleKind: 'global', qualifiedName, spec };
  };
  const asDict = (v: PickleValue, opName: string): Map<PickleValue, PickleValue> => {
    if (!(v instanceof Map)) fail(`${opName} on a ${pickleTypeName(v)}, not a dict`);
    return v as Map<PickleValue, PickleValue>;
  };
  const asList = (v: PickleValue, opName: string): PickleValue[] => {
    if (!Array.isArray(v) || isTuple(v)) fail(`${opName} on a ${pickleTypeName(v)}, not a list`);
    return v as PickleValue[];
  };
  const setItems = (dict: Map<PickleValue, PickleValue>, items: PickleValue[]): void => {
    if (items.length % 2 !== 0) fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const tuple = (items: PickleValue[]): readonly PickleValue[] => Object.freeze(items);

  if (bytes.length === 0) throw new Error(`${name}: pickle is empty`);
  for (;;) {
    opPos = pos;
    if (pos >= bytes.length) {
      op = -1;
      throw new Error(`${name}: pickle is truncated: no STOP opcode before the end`);
    }
    op = bytes[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const proto = u8();
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME: a length prefix for buffering; the data follows inline.
        u64();
        break;
      case 0x2e: { // STOP
        const result = pop();
        return result;
      }
      case 0x28: stack.push(MARK); break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x4a: { // BININT
        need(4);
        push(view.getInt32(pos, true));
        pos += 4;
        break;
      }
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(decodeLong(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4
        need(4);
        const n = view.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail('negative LONG4 length');
        push(decodeLong(take(n)));
        break;
      }
      case 0x47: { // BINFLOAT: big-endian double
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58: push(utf8.decode(take(u32()))); break; // BINUNICODE
      case 0x8c: push(utf8.decode(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: push(utf8.decode(take(u64()))); break; // BINUNICODE8
      // Python 2 str: bytes decoded as latin-1 (a lossless byte -> code point map).
      case 0x54: { // BINSTRING
        need(4);
        const n = view.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail('negative BINSTRING length');
        push(latin1.decode(take(n)));
        break;
      }
      case 0x55: push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: push(take(u32()).slice()); break; // BINBYTES
      case 0x43: push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: push(take(u64()).slice()); break; // BINBYTES8
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const d = new Map<PickleValue, PickleValue>();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x6c: push(popMark()); break; // LIST
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        asDict(top(), 'SETITEM').set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(asDict(top(), 'SETITEMS'), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        asList(top(), 'APPEND').push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = asList(top(), 'APPENDS');
        for (const v of items) list.push(v);
        break;
      }
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const attr = line();
        push(resolveGlobal(module, attr));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const attr = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof attr !== 'string') {
          fail('STACK_GLOBAL needs two strings');
        }
        push(resolveGlobal(module as string, attr as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!isTuple(args)) fail(`REDUCE arguments are a ${pickleTypeName(args)}, not a tuple`);
        if (!isGlobal(callable)) fail(`REDUCE of a ${pickleTypeName(callable)}`);
        const g = callable as PickleGlobal;
        if (g.spec.reduce === undefined) fail(`${g.qualifiedName} cannot be called`);
        try {
          push(g.spec.reduce!(args as readonly PickleValue[]));
        } catch (err) {
          fail(`${g.qualifiedName}: ${err instanceof Error ? err.message : String(err)}`);
        }
        break;
      }
      case 0x81: { // NEWOBJ cls.__new__(cls, *args): only OrderedDict-like allowed globals.
        const args = pop();
        const cls = pop();
        if (!isGlobal(cls) || !isTuple(args)) fail('NEWOBJ needs an allowed class and a tuple');
        const g = cls as PickleGlobal;
        if (g.spec.reduce === undefined) fail(`${g.qualifiedName} cannot be instantiated`);
        push(g.spec.reduce!([]));
        break;
      }
      case 0x62: { // BUILD obj.__setstate__(state)
        const state = pop();
        const obj = top();
        // OrderedDict state dicts carry `_metadata` (module versions) as an instance attribute;
        // it is not part of the mapping and nothing here needs it, so it is dropped.
        if (obj instanceof Map && (state === null || state instanceof Map)) break;
        fail(`BUILD of a ${pickleTypeName(obj)} with a ${pickleTypeName(state)} state`);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (options.persistentLoad === undefined) fail('persistent ids are not supported here');
        try {
          push(options.persistentLoad!(pid));
        } catch (err) {
          fail(err instanceof Error ? err.message : String(err));
        }
        break;
      }
      default: {
        const opName = OPCODE_NAMES[op];
        const printable = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
        throw new Error(
          `${name}: ${opName === undefined ? 'unknown' : 'unsupported'} pickle opcode ` +
            `0x${op.toString(16).padStart(2, '0')}${printable}` +
            `${opName === undefined ? '' : ` (${opName})`} at byte ${opPos}`,
        );
      }
    }
  }
}

function isGlobal(v: PickleValue): v is PickleGlobal {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) &&
    !(v instanceof Uint8Array) && (v as PickleExtension).pickleKind === 'global';
}
