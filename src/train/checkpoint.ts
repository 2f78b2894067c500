/**
 * Crash-safe training checkpoints: model weights, optimizer slots, step, epoch, RNG state and
 * configuration, in one folder per checkpoint under a training directory.
 *
 * ```
 * run/
 *   latest                      "step-000300\n": the checkpoint to resume from
 *   step-000100/ step-000200/ step-000300/
 *     checkpoint.json           manifest: step, epoch, rng, configs, optimizer layout, and the
 *                               size + sha256 of every other file (and of itself)
 *     optimizer.bin             optimizer arrays, float32 little-endian, back to back
 *     weights/model.json        the model in our native format (see io/native_weights.ts)
 *     weights/group1-shard*.bin
 * ```
 *
 * A checkpoint is written into `.step-000300.tmp-<pid>/`, every file and the folder are fsynced,
 * and only then is the folder renamed into place and `latest` replaced (temp file + fsync +
 * rename). A crash or SIGKILL at any point leaves the previous checkpoint and `latest` intact;
 * the leftover temp folder of a dead process is removed by the next save. Older checkpoints are
 * deleted (keeping the newest `keep`) only after the new one is in place, and only folders whose
 * names and manifests are ours are ever deleted. One save at a time per directory: a second
 * concurrent save to the same directory from this process is rejected.
 *
 * The optimizer state is an opaque record of named float32 arrays plus scalars, so any optimizer
 * can be saved without this module knowing its update rule.
 *
 * The trainer's final model (`outputDir/model/`) hard-links the weight shards of the last
 * checkpoint rather than storing them again (see `Trainer.saveModel`). Nothing writes into a file
 * once its checkpoint is committed (saves rename, retention unlinks), so the link changes neither
 * copy; a tool that edits model/'s shards in place would change the checkpoint's too, and its
 * sha256 check would then refuse it and fall back to the checkpoint before.
 */
import { syncDir, writeSynced } from '../io/atomic_file';
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import { NodeFileHandler } from '../io/file_handler';
import { type LoadedWeightsInfo, applyWeightsArtifacts, readWeightsArtifacts, saveWeights } from '../io/native_weights';
import { TorchLayer } from '../nn/torch_layer';
import type { RngState } from '../util/random';

/** The `format` field of checkpoint.json. */
export const CHECKPOINT_FORMAT = 'maskrcnn-tfjs-checkpoint';
/** Version of the checkpoint layout written by {@link saveCheckpoint}. */
export const CHECKPOINT_VERSION = 1;
/** Name of the manifest inside a checkpoint folder. */
export const CHECKPOINT_MANIFEST = 'checkpoint.json';
/** Name of the pointer file in the training directory. */
export const LATEST_POINTER = 'latest';

const OPTIMIZER_FILE = 'optimizer.bin';
/**
 * The folder of a checkpoint that holds its weights (model.json + shards, loadable with `load`).
 *
 * @example
 * ```ts
 * const weights = path.join('runs/a/step-000500', CHECKPOINT_WEIGHTS_DIR);
 * ```
 */
export const CHECKPOINT_WEIGHTS_DIR = 'weights';
const WEIGHTS_DIR = CHECKPOINT_WEIGHTS_DIR;
const STEP_DIR = /^step-(\d{6,})$/;
const TEMP_DIR = /^\.step-(\d{6,})\.(tmp|old)-(\d+)$/;
const LATEST_TEMP = /^latest\.tmp-(\d+)$/;
/** Optimizer arrays are written in pieces of this size so huge slots do not need one big copy. */
const WRITE_CHUNK_BYTES = 16 * 1024 * 1024;

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

/** Everything a checkpoint holds. */
export interface CheckpointContent {
  /** Its state dict is saved in the native weights format. */
  readonly model: TorchLayer;
  /** The model's configuration, stored with the weights (model.json's modelTopology.config). */
  readonly modelConfig: Record<string, unknown>;
  /** Optional; an empty record is stored when absent. */
  readonly optimizerState?: OptimizerStateRecord;
  /** Non-negative integer: the number of optimizer steps taken. Names the folder. */
  readonly step: number;
  /** Non-negative integer. */
  readonly epoch: number;
  /** State of the training {@link Rng} (see `Rng.getState`). */
  readonly rngState: RngState;
  /** Training configuration (JSON-serializable). */
  readonly trainConfig: Record<string, unknown>;
  /** Latest metric values; non-finite values are stored as null. */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** Progress reported by {@link saveCheckpoint}; a returned promise is awaited before it goes on. */
export type CheckpointProgress =
  | { readonly stage: 'started'; readonly tempDir: string }
  | { readonly stage: 'file-written'; readonly file: string; readonly bytes: number }
  | { readonly stage: 'folder-committed'; readonly dir: string }
  | { readonly stage: 'latest-updated'; readonly dir: string };

/** Options of {@link saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** How many checkpoints to keep, newest by step, including the new one. Default 3; >= 1. */
  readonly keep?: number;
  /** Called as the save progresses (logging, tests); awaited. */
  readonly onProgress?: (event: CheckpointProgress) => void | Promise<void>;
}

/** One file of a checkpoint as recorded in its manifest. */
export interface CheckpointFileEntry {
  /** Relative to the checkpoint folder, with `/` separators. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** checkpoint.json. */
export interface CheckpointManifest {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: number;
  readonly step: number;
  readonly epoch: number;
  /** ISO date of the save. */
  readonly createdAt: string;
  readonly rngState: RngState;
  readonly modelConfig: Record<string, unknown>;
  readonly trainConfig: Record<string, unknown>;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly optimizer: {
    readonly file: string;
    readonly scalars: Readonly<Record<string, number>>;
    /** Arrays in file order; `offset` and `length` count float32 elements. */
    readonly arrays: readonly { readonly name: string; readonly shape: readonly number[]; readonly offset: number; readonly length: number }[];
  };
  /** Every file of the checkpoint except checkpoint.json. */
  readonly files: readonly CheckpointFileEntry[];
  /** sha256 of this JSON without this field (JSON.stringify of the rest, in this key order). */
  readonly manifestSha256: string;
}

/** A verified checkpoint, read into memory. */
export interface LoadedCheckpoint {
  /** Absolute path of the checkpoint folder. */
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly step: number;
  readonly epoch: number;
  readonly rngState: RngState;
  readonly modelConfig: Record<string, unknown>;
  readonly trainConfig: Record<string, unknown>;
  readonly metrics: Readonly<Record<string, number | null>>;
  readonly optimizerState: OptimizerStateRecord;
  /** Why a checkpoint other than the one `latest` names was chosen; empty when none. */
  readonly warnings: readonly string[];
  /** Writes the saved weights into `model` (all or nothing; keys and shapes must match). */
  applyWeights(model: TorchLayer): LoadedWeightsInfo;
}

/**
 * Folder name of the checkpoint at `step`.
 *
 * @example
 * ```ts
 * checkpointName(123); // 'step-000123'
 * ```
 */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

function checkCount(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`Error in saveCheckpoint: ${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function checkRngState(where: string, s: unknown): RngState {
  const o = (s ?? {}) as Record<string, unknown>;
  for (const k of ['a', 'b', 'c', 'd']) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new Error(`${where}: rngState.${k} must be an unsigned 32-bit integer, got ${String(v)}`);
    }
  }
  return { a: o.a as number, b: o.b as number, c: o.c as number, d: o.d as number };
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The manifest JSON with its self-checksum as the last field. */
function sealManifest(body: Omit<CheckpointManifest, 'manifestSha256'>): string {
  const manifest: CheckpointManifest = { ...body, manifestSha256: sha256(JSON.stringify(body)) };
  return JSON.stringify(manifest, null, 1);
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Files under `dir`, relative, `/`-separated, sorted. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

function* optimizerChunks(arrays: readonly OptimizerArray[]): Generator<Uint8Array> {
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

function describeOptimizer(state: OptimizerStateRecord | undefined): {
  scalars: Record<string, number>;
  entries: { name: string; shape: number[]; offset: number; length: number }[];
  arrays: OptimizerArray[];
} {
  const scalars: Record<string, number> = {};
  const entries: { name: string; shape: number[]; offset: number; length: number }[] = [];
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

/** Roots with a save in progress in this process (one save at a time per root). */
const savingRoots = new Set<string>();

/** Whether another process `pid` may still be writing; our own pid never is (see savingRoots). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `dir` holds a checkpoint.json of ours (readable, with our format field). */
async function isOurCheckpoint(dir: string): Promise<boolean> {
  try {
    const json = JSON.parse(await fs.readFile(path.join(dir, CHECKPOINT_MANIFEST), 'utf8')) as { format?: unknown };
    return json.format === CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

/** Complete-looking checkpoint folders (`step-NNNNNN`) of `root`, newest step first. */
async function stepFolders(root: string): Promise<{ name: string; step: number }[]> {
  let entries: import('fs').Dirent[];
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((e) => e.isDirectory() && STEP_DIR.test(e.name))
    .map((e) => ({ name: e.name, step: Number(STEP_DIR.exec(e.name)![1]) }))
    .sort((x, y) => y.step - x.step || (x.name < y.name ? 1 : -1));
}

/**
 * Removes temp folders and pointer temp files left by processes that no longer run. A checkpoint
 * moved aside for a same-step replacement that never landed is moved back instead.
 */
async function removeStaleTemps(root: string): Promise<void> {
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    const folder = TEMP_DIR.exec(entry.name);
    if (folder && entry.isDirectory() && !isAlive(Number(folder[3]))) {
      const stale = path.join(root, entry.name);
      const original = path.join(root, checkpointName(Number(folder[1])));
      const restore = folder[2] === 'old' && !(await exists(original)) && (await isOurCheckpoint(stale));
      if (restore) await fs.rename(stale, original);
      else await fs.rm(stale, { recursive: true, force: true });
    }
    const pointer = LATEST_TEMP.exec(entry.name);
    if (pointer && entry.isFile() && !isAlive(Number(pointer[1]))) await fs.rm(path.join(root, entry.name), { force: true });
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

async function writeLatest(root: string, name: string): Promise<void> {
  const tmp = path.join(root, `${LATEST_POINTER}.tmp-${process.pid}`);
  await fs.rm(tmp, { force: true });
  await writeSynced(tmp, [Buffer.from(`${name}\n`, 'utf8')]);
  await fs.rename(tmp, path.join(root, LATEST_POINTER));
  await syncDir(root);
}

/**
 * Saves a checkpoint as `dir/step-NNNNNN/` and points `dir/latest` at it, crash-safely (see the
 * file header). Returns the absolute path of the new checkpoint folder.
 *
 * @example
 * ```ts
 * await saveCheckpoint('runs/coco', {
 *   model, modelConfig: { numClasses: 91 }, optimizerState: optimizer.getState(),
 *   step, epoch, rngState: rng.getState(), trainConfig, metrics: { loss },
 * }, { keep: 3 });
 * ```
 */
export async function saveCheckpoint(dir: string, content: CheckpointContent, options: SaveCheckpointOptions = {}): Promise<string> {
  if (typeof dir !== 'string' || dir === '') throw new Error('Error in saveCheckpoint: dir must be a non-empty path');
  if (!(content?.model instanceof TorchLayer)) throw new Error('Error in saveCheckpoint: content.model must be a TorchLayer');
  const step = checkCount('step', content.step);
  const epoch = checkCount('epoch', content.epoch);
  const rngState = checkRngState('Error in saveCheckpoint', content.rngState);
  const keep = options.keep ?? 3;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new Error(`Error in saveCheckpoint: options.keep must be an integer >= 1, got ${String(keep)}`);
  const optimizer = describeOptimizer(content.optimizerState);
  const metrics: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(content.metrics ?? {})) metrics[k] = Number.isFinite(v) ? v : null;
  const progress = options.onProgress ?? (() => undefined);

  const root = path.resolve(dir);
  if (savingRoots.has(root)) throw new Error(`Error in saveCheckpoint: another save to ${root} is in progress; await it first`);
  savingRoots.add(root);
  try {
    return await writeCheckpoint({ root, step, epoch, rngState, keep, optimizer, metrics, content, progress });
  } finally {
    savingRoots.delete(root);
  }
}

/** A validated save request. */
interface SaveJob {
  readonly root: string;
  readonly step: number;
  readonly epoch: number;
  readonly rngState: RngState;
  readonly keep: number;
  readonly optimizer: ReturnType<typeof describeOptimizer>;
  readonly metrics: Record<string, number | null>;
  readonly content: CheckpointContent;
  readonly progress: (event: CheckpointProgress) => void | Promise<void>;
}

async function writeCheckpoint(job: SaveJob): Promise<string> {
  const { root, step, epoch, rngState, keep, optimizer, metrics, content, progress } = job;
  await fs.mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const name = checkpointName(step);
  const tempDir = path.join(root, `.${name}.tmp-${process.pid}`);
  await fs.rm(tempDir, { recursive: true, force: true });
  await fs.mkdir(tempDir);
  await progress({ stage: 'started', tempDir });

  const weightsDir = path.join(tempDir, WEIGHTS_DIR);
  await saveWeights(content.model, new NodeFileHandler(weightsDir), { config: content.modelConfig, metadata: { step, epoch } });
  for (const rel of await listFiles(weightsDir)) {
    const file = path.join(weightsDir, rel);
    await syncFile(file);
    await progress({ stage: 'file-written', file: `${WEIGHTS_DIR}/${rel}`, bytes: (await fs.stat(file)).size });
  }
  await syncDir(weightsDir);
  const optBytes = await writeSynced(path.join(tempDir, OPTIMIZER_FILE), optimizerChunks(optimizer.arrays));
  await progress({ stage: 'file-written', file: OPTIMIZER_FILE, bytes: optBytes });

  const files: CheckpointFileEntry[] = [];
  for (const rel of await listFiles(tempDir)) {
    const data = await fs.readFile(path.join(tempDir, ...rel.split('/')));
    files.push({ path: rel, bytes: data.byteLength, sha256: sha256(data) });
  }
  const manifest = sealManifest({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step,
    epoch,
    createdAt: new Date().toISOString(),
    rngState,
    modelConfig: content.modelConfig ?? {},
    trainConfig: content.trainConfig ?? {},
    metrics,
    optimizer: { file: OPTIMIZER_FILE, scalars: optimizer.scalars, arrays: optimizer.entries },
    files,
  });
  const manifestBytes = await writeSynced(path.join(tempDir, CHECKPOINT_MANIFEST), [Buffer.from(manifest, 'utf8')]);
  await progress({ stage: 'file-written', file: CHECKPOINT_MANIFEST, bytes: manifestBytes });
  await syncDir(tempDir);

  // Commit: a same-step checkpoint of ours (a rerun from an earlier point) is moved aside first,
  // since a folder cannot be renamed over a non-empty one.
  const finalDir = path.join(root, name);
  const asideDir = path.join(root, `.${name}.old-${process.pid}`);
  let aside = false;
  if (await exists(finalDir)) {
    if (!(await isOurCheckpoint(finalDir))) {
      throw new Error(`Error in saveCheckpoint: ${finalDir} exists and is not a checkpoint written by saveCheckpoint; not replacing it`);
    }
    await fs.rm(asideDir, { recursive: true, force: true });
    await fs.rename(finalDir, asideDir);
    aside = true;
  }
  await fs.rename(tempDir, finalDir);
  await syncDir(root);
  await progress({ stage: 'folder-committed', dir: finalDir });
  await writeLatest(root, name);
  await progress({ stage: 'latest-updated', dir: finalDir });
  if (aside) await fs.rm(asideDir, { recursive: true, force: true });

  // Retention: newest `keep` by step; only folders with our manifest are deleted.
  const ours: string[] = [];
  for (const f of await stepFolders(root)) if (await isOurCheckpoint(path.join(root, f.name))) ours.push(f.name);
  for (const old of ours.slice(keep)) {
    if (old !== name) await fs.rm(path.join(root, old), { recursive: true, force: true });
  }
  return finalDir;
}

function fail(file: string, what: string): never {
  throw new Error(`Error in loadCheckpoint: ${file} ${what}`);
}

async function readManifest(ckptDir: string): Promise<CheckpointManifest> {
  const file = path.join(ckptDir, CHECKPOINT_MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    fail(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing (the checkpoint is incomplete)' : (e as Error).message);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    fail(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || json.format !== CHECKPOINT_FORMAT) {
    fail(file, `is not a ${CHECKPOINT_FORMAT} manifest (format '${String((json as { format?: unknown })?.format)}')`);
  }
  if (json.version !== CHECKPOINT_VERSION) fail(file, `has version ${String(json.version)}; this code reads version ${CHECKPOINT_VERSION}`);
  const { manifestSha256, ...body } = json;
  if (manifestSha256 !== sha256(JSON.stringify(body))) fail(file, 'fails its checksum (the manifest was modified or damaged)');
  return json as unknown as CheckpointManifest;
}

async function verifyFiles(ckptDir: string, manifest: CheckpointManifest): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  for (const entry of manifest.files) {
    if (entry.path.split('/').some((part) => part === '..' || part === '')) fail(path.join(ckptDir, CHECKPOINT_MANIFEST), `lists an invalid path '${entry.path}'`);
    const file = path.join(ckptDir, ...entry.path.split('/'));
    let data: Buffer;
    try {
      data = await fs.readFile(file);
    } catch (e) {
      fail(file, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : (e as Error).message);
    }
    if (data.byteLength !== entry.bytes) {
      fail(file, `has ${data.byteLength} bytes, expected ${entry.bytes} (${data.byteLength < entry.bytes ? 'truncated' : 'too long'})`);
    }
    if (sha256(data) !== entry.sha256) fail(file, 'fails its sha256 checksum (the file is damaged)');
    contents.set(entry.path, data);
  }
  return contents;
}

function decodeOptimizer(ckptDir: string, manifest: CheckpointManifest, contents: Map<string, Buffer>): OptimizerStateRecord {
  const file = path.join(ckptDir, manifest.optimizer.file);
  const data = contents.get(manifest.optimizer.file) ?? fail(file, 'is not listed in the manifest');
  const arrays = new Map<string, OptimizerArray>();
  for (const a of manifest.optimizer.arrays) {
    if ((a.offset + a.length) * 4 > data.byteLength) fail(file, `is too short for array '${a.name}'`);
    const values = new Float32Array(a.length);
    const view = new DataView(data.buffer, data.byteOffset + a.offset * 4, a.length * 4);
    for (let i = 0; i < a.length; i++) values[i] = view.getFloat32(i * 4, true);
    arrays.set(a.name, { shape: [...a.shape], data: values });
  }
  return { scalars: { ...manifest.optimizer.scalars }, arrays };
}

/** Loads and verifies one checkpoint folder. */
async function loadFolder(ckptDir: string, warnings: readonly string[]): Promise<LoadedCheckpoint> {
  const stat = await fs.stat(ckptDir).catch(() => undefined);
  if (stat === undefined) throw new Error(`Error in loadCheckpoint: ${ckptDir} does not exist`);
  if (!stat.isDirectory()) throw new Error(`Error in loadCheckpoint: ${ckptDir} is not a folder`);
  const manifest = await readManifest(ckptDir);
  const contents = await verifyFiles(ckptDir, manifest);
  const optimizerState = decodeOptimizer(ckptDir, manifest, contents);
  const modelJson = path.join(ckptDir, WEIGHTS_DIR, 'model.json');
  const artifacts = await readWeightsArtifacts(new NodeFileHandler(modelJson));
  const rngState = checkRngState(`Error in loadCheckpoint: ${path.join(ckptDir, CHECKPOINT_MANIFEST)}`, manifest.rngState);
  return {
    dir: ckptDir,
    manifest,
    step: manifest.step,
    epoch: manifest.epoch,
    rngState,
    modelConfig: manifest.modelConfig,
    trainConfig: manifest.trainConfig,
    metrics: manifest.metrics,
    optimizerState,
    warnings,
    applyWeights: (model: TorchLayer) => applyWeightsArtifacts(model, artifacts, modelJson),
  };
}

/**
 * The checkpoint to resume from in training directory `dir`: the one `dir/latest` names, or,
 * when `latest` is missing or names a damaged or missing folder, the newest checkpoint that
 * verifies (the reason is in `warnings`). Undefined when `dir` holds no checkpoint at all;
 * throws, naming every damaged file, when checkpoints exist but none verifies.
 *
 * @example
 * ```ts
 * const ckpt = await latestCheckpoint('runs/coco');
 * if (ckpt) { ckpt.applyWeights(model); optimizer.setState(ckpt.optimizerState); rng.setState(ckpt.rngState); }
 * ```
 */
export async function latestCheckpoint(dir: string): Promise<LoadedCheckpoint | undefined> {
  const root = path.resolve(dir);
  const warnings: string[] = [];
  const failures: string[] = [];
  let pointed: string | undefined;
  try {
    pointed = (await fs.readFile(path.join(root, LATEST_POINTER), 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const folders = await stepFolders(root);
  if (pointed !== undefined) {
    if (!STEP_DIR.test(pointed)) {
      warnings.push(`${path.join(root, LATEST_POINTER)} names '${pointed}', which is not a checkpoint folder name`);
    } else {
      try {
        return await loadFolder(path.join(root, pointed), warnings);
      } catch (e) {
        const why = (e as Error).message;
        warnings.push(`${path.join(root, LATEST_POINTER)} names ${pointed}, which cannot be used: ${why}`);
        failures.push(why);
      }
    }
  } else if (folders.length > 0) {
    warnings.push(`${path.join(root, LATEST_POINTER)} is missing; using the newest checkpoint that verifies`);
  }
  for (const f of folders) {
    if (f.name === pointed) continue;
    try {
      return await loadFolder(path.join(root, f.name), warnings);
    } catch (e) {
      warnings.push(`skipped ${f.name}: ${(e as Error).message}`);
      failures.push((e as Error).message);
    }
  }
  if (failures.length === 0) return undefined;
  throw new Error(`Error in latestCheckpoint: no checkpoint in ${root} verifies:\n  ${failures.join('\n  ')}`);
}

/**
 * Loads a checkpoint: `path` is either one checkpoint folder (`.../step-000123`, loaded strictly,
 * no fallback) or a training directory (resolved with {@link latestCheckpoint}). Every file is
 * verified against the manifest's sizes and sha256 sums; damage throws an error naming the file.
 *
 * @example
 * ```ts
 * const ckpt = await loadCheckpoint('runs/coco/step-000300');
 * const model = withoutInitialization(() => buildModel(ckpt.modelConfig));
 * ckpt.applyWeights(model);
 * ```
 */
export async function loadCheckpoint(dirOrCheckpoint: string): Promise<LoadedCheckpoint> {
  if (typeof dirOrCheckpoint !== 'string' || dirOrCheckpoint === '') {
    throw new Error('Error in loadCheckpoint: expected a checkpoint folder or training directory path');
  }
  const p = path.resolve(dirOrCheckpoint);
  let isFolder = STEP_DIR.test(path.basename(p));
  if (!isFolder) {
    isFolder = await exists(path.join(p, CHECKPOINT_MANIFEST));
  }
  if (isFolder) return loadFolder(p, []);
  const found = await latestCheckpoint(p);
  if (found === undefined) throw new Error(`Error in loadCheckpoint: ${p} holds no checkpoint (no ${LATEST_POINTER} file and no step-NNNNNN folder)`);
  return found;
}

/**
 * Step numbers of the checkpoint folders in `dir`, newest first (names only, not verified).
 *
 * @example
 * ```ts
 * await listCheckpoints('runs/coco'); // [300, 200, 100]
 * ```
 */
export async function listCheckpoints(dir: string): Promise<number[]> {
  return (await stepFolders(path.resolve(dir))).map((f) => f.step);
}

export type { LoadedWeightsInfo };
