/**
 * An optimizer's state in a checkpoint: finite scalars in the manifest, named float32 arrays back
 * to back in `optimizer.bin` (little-endian on every platform), laid out by the manifest. The
 * record is opaque, so any optimizer can be saved without this module knowing its update rule.
 */
import type { OptimizerKind, OptimizerSlot, OptimizerState } from '../optim';

/** One named optimizer array (a moment estimate, a momentum buffer, ...). */
export interface OptimizerArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * An optimizer's state as plain data: finite scalars (step count, learning-rate schedule
 * position, ...) and named float32 arrays (slots keyed e.g. `"backbone.conv1.weight/m"`).
 */
export interface OptimizerStateRecord {
  readonly scalars: Readonly<Record<string, number>>;
  readonly arrays: ReadonlyMap<string, OptimizerArray>;
}

/** Where one array lies in `optimizer.bin`; `offset` and `length` count float32 elements. */
export interface OptimizerArrayEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly length: number;
}

/** A checked optimizer state and its file layout, ready to write. */
export interface OptimizerLayout {
  readonly scalars: Record<string, number>;
  /** Arrays in file order. */
  readonly entries: OptimizerArrayEntry[];
  readonly arrays: OptimizerArray[];
}

/** Optimizer arrays are written in pieces of this size so huge slots do not need one big copy. */
const WRITE_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Checks an optimizer state (finite scalars, arrays whose shapes match their data) and lays its
 * arrays out back to back, in the Map's order. An absent state is an empty one.
 */
export function layoutOptimizerState(state: OptimizerStateRecord | undefined): OptimizerLayout {
  const scalars: Record<string, number> = {};
  const entries: OptimizerArrayEntry[] = [];
  const arrays: OptimizerArray[] = [];
  if (state === undefined) return { scalars, entries, arrays };
  for (const [k, v] of Object.entries(state.scalars ?? {})) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`Error in saveCheckpoint: optimizerState.scalars.${k} must be a finite number, got ${String(v)}`);
    }
    scalars[k] = v;
  }
  if (!(state.arrays instanceof Map)) throw new Error('Error in saveCheckpoint: optimizerState.arrays must be a Map');
  let offset = 0;
  for (const [name, a] of state.arrays) {
    if (!(a?.data instanceof Float32Array)) {
      throw new Error(`Error in saveCheckpoint: optimizerState.arrays '${name}' must hold a Float32Array in .data`);
    }
    const shape = [...(a.shape ?? [])];
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new Error(`Error in saveCheckpoint: optimizerState.arrays '${name}' has an invalid shape [${shape.join(', ')}]`);
    }
    const length = shape.reduce((p, d) => p * d, 1);
    if (length !== a.data.length) {
      throw new Error(`Error in saveCheckpoint: optimizerState.arrays '${name}' has shape [${shape.join(', ')}] (${length} values) but ${a.data.length} values`);
    }
    entries.push({ name, shape, offset, length });
    arrays.push(a);
    offset += length;
  }
  return { scalars, entries, arrays };
}

/** The bytes of `optimizer.bin`: the arrays back to back, float32 little-endian, in pieces. */
export function* optimizerFileChunks(arrays: readonly OptimizerArray[]): Generator<Uint8Array> {
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const a of arrays) {
    let bytes = new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    if (!littleEndian) {
      // The file is little-endian on every platform.
      const copy = new Uint8Array(bytes);
      const view = new DataView(copy.buffer);
      for (let i = 0; i < a.data.length; i++) view.setFloat32(i * 4, a.data[i], true);
      bytes = copy;
    }
    for (let o = 0; o < bytes.byteLength; o += WRITE_CHUNK_BYTES) yield bytes.subarray(o, o + WRITE_CHUNK_BYTES);
  }
}

/**
 * Reads the arrays of `optimizer.bin` (`data`, already verified against the manifest) back into a
 * record; `file` names it in errors.
 */
export function decodeOptimizerState(
  file: string,
  data: Uint8Array,
  scalars: Readonly<Record<string, number>>,
  entries: readonly OptimizerArrayEntry[],
): OptimizerStateRecord {
  const arrays = new Map<string, OptimizerArray>();
  for (const a of entries) {
    if ((a.offset + a.length) * 4 > data.byteLength) throw new Error(`Error in loadCheckpoint: ${file} is too short for array '${a.name}'`);
    const values = new Float32Array(a.length);
    const view = new DataView(data.buffer, data.byteOffset + a.offset * 4, a.length * 4);
    for (let i = 0; i < a.length; i++) values[i] = view.getFloat32(i * 4, true);
    arrays.set(a.name, { shape: [...a.shape], data: values });
  }
  return { scalars: { ...scalars }, arrays };
}

/**
 * Optimizer state in the checkpoint's layout: arrays named `<key>/<slot>`, the step count in
 * scalars (the kind goes in the checkpoint's trainConfig).
 *
 * @example
 * ```ts
 * const record = optimizerStateToRecord(opt.getState(), schedule.iteration);
 * record.arrays.get('rpn.head.conv.0.0.weight/momentum_buffer');
 * ```
 */
export function optimizerStateToRecord(state: OptimizerState, scheduleIteration: number): OptimizerStateRecord {
  const arrays = new Map<string, OptimizerArray>();
  for (const [key, slots] of state.slots) {
    for (const s of slots) arrays.set(`${key}/${s.name}`, { shape: [...s.shape], data: s.values });
  }
  return { scalars: { step: state.step, scheduleIteration }, arrays };
}

/**
 * Inverse of {@link optimizerStateToRecord}.
 *
 * @example
 * ```ts
 * opt.setState(optimizerStateFromRecord(checkpoint.optimizerState, 'sgd'));
 * ```
 */
export function optimizerStateFromRecord(record: OptimizerStateRecord, kind: OptimizerKind): OptimizerState {
  const step = record.scalars.step;
  if (!Number.isInteger(step)) throw new Error('Error in optimizerStateFromRecord: the checkpoint has no integer optimizer step');
  const slots = new Map<string, OptimizerSlot[]>();
  for (const [name, a] of record.arrays) {
    const cut = name.lastIndexOf('/');
    if (cut <= 0) throw new Error(`Error in optimizerStateFromRecord: array '${name}' is not named <key>/<slot>`);
    const key = name.slice(0, cut);
    const list = slots.get(key) ?? [];
    list.push({ name: name.slice(cut + 1), shape: [...a.shape], values: a.data });
    slots.set(key, list);
  }
  return { kind, step, slots };
}
