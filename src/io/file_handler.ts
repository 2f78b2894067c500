/**
 * A `file://` IOHandler for Node that writes and reads the standard TF.js layout: `model.json`
 * (topology + weightsManifest) and binary weight shards `group1-shardKofN.bin`.
 *
 * tfjs-node brings its own `file://` handler; plain tfjs (wasm, cpu) in Node has none, so we
 * register this one when no other handler claims the scheme. The files are the ones
 * `tf.io.http` loads in a browser.
 *
 * Saving goes through atomic_file.ts: every file is written under a temporary name and fsynced
 * before any is renamed over the old one, model.json last, and the folder is fsynced after. An
 * interrupted save therefore never leaves a half-written file: before the renames the previous
 * model is untouched; after model.json's rename the new one is complete. A crash between the two,
 * while shards of the same names are being renamed, leaves the old model.json beside some new
 * shards, which its recorded sha256 sums refuse with an error naming the shard (never a silent
 * mix). Shards the replaced model.json listed and the new one does not (another shard count) are
 * removed after, and temporary files of an earlier interrupted save before.
 * A shard identical to one of a given folder (a training checkpoint's) can be hard-linked to it
 * instead of written (`reuseShardsFrom`): the trainer's final model and its last checkpoint then
 * hold the same weights once on disk. Files are never written in place, only renamed over, so a
 * later save never changes the bytes behind such a link.
 *
 * Loading trusts nothing in model.json: shard paths must stay inside the model's folder and every
 * shard's size must be what the weight specs need (and what the save recorded) before anything
 * is read. Saves record each shard's sha256 (`userDefinedMetadata.weightsShards`), which
 * applyWeightsArtifacts (native_weights.ts) checks, so a truncated, overlong or flipped shard is
 * an error naming it instead of a silent load.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { type StagedFile, commitStaged, discardStaged, removeStaleTemps, stageFile, stageLink } from './atomic_file';

/**
 * TF.js's usual shard size: 4 MiB.
 *
 * @example
 * ```ts
 * const shards = Math.ceil(weightBytes / SHARD_BYTES); // files group1-shard1ofN.bin ... written by a save
 * ```
 */
export const SHARD_BYTES = 4 * 1024 * 1024;
const MODEL_JSON = 'model.json';

function concat(data: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/**
 * One shard as recorded at save time in model.json's `userDefinedMetadata.weightsShards`: file
 * name (relative to model.json), size and sha256.
 *
 * @example
 * ```ts
 * const json = JSON.parse(fs.readFileSync('out/model.json', 'utf8'));
 * const shards: ShardRecord[] = json.userDefinedMetadata.weightsShards;
 * // [{ path: 'group1-shard1of43.bin', bytes: 4194304, sha256: '9f2c...' }, ...]
 * ```
 */
export interface ShardRecord {
  readonly path: string;
  readonly bytes: number;
  /** Lower-case hex sha256 of the shard's bytes. */
  readonly sha256: string;
}

/**
 * Metadata key under which {@link NodeFileHandler.save} records the shards (see {@link ShardRecord}).
 *
 * @example
 * ```ts
 * const shards = modelJson.userDefinedMetadata[SHARDS_METADATA_KEY] as ShardRecord[];
 * ```
 */
export const SHARDS_METADATA_KEY = 'weightsShards';

const BYTES_PER_ELEMENT: Readonly<Record<string, number>> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };
/** Bytes per stored value of each quantization dtype of TF.js's manifest convention. */
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };
const FLOAT32_MAX = 3.4028234663852886e38;

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : typeof v === 'number' || v === undefined ? String(v) : JSON.stringify(v));

/**
 * What is wrong with a spec's `quantization` field, or undefined if nothing is. tfjs's
 * decodeWeights trusts these fields (an unknown dtype or a missing min decodes to NaN or
 * throws half way), so each is checked before any weight is written.
 */
function quantizationProblem(spec: tf.io.WeightsManifestEntry): string | undefined {
  const q: unknown = spec.quantization;
  const valid = Object.keys(QUANTIZED_BYTES).map((d) => `'${d}'`).join(', ');
  if (q === null || typeof q !== 'object' || Array.isArray(q)) return `has quantization ${show(q)}; expected { dtype: ${valid}, scale, min }`;
  const { dtype, scale, min } = q as { dtype?: unknown; scale?: unknown; min?: unknown };
  if (typeof dtype !== 'string' || !Object.hasOwn(QUANTIZED_BYTES, dtype)) return `has quantization dtype ${show(dtype)}; expected one of ${valid}`;
  if (spec.dtype !== 'float32') return `is ${show(spec.dtype)} with quantization ${dtype}; only float32 weights may be quantized`;
  if (dtype === 'float16') return undefined;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0) return `has quantization scale ${show(scale)}; ${dtype} needs a finite scale >= 0`;
  if (typeof min !== 'number' || !Number.isFinite(min)) return `has quantization min ${show(min)}; ${dtype} needs a finite min`;
  const top = min + (dtype === 'uint8' ? 255 : 65535) * scale;
  if (Math.abs(min) > FLOAT32_MAX || Math.abs(top) > FLOAT32_MAX) return `has quantization min ${min} and scale ${scale}, which decode beyond the float32 range`;
  return undefined;
}

/**
 * Bytes one weight spec occupies in the weight data, after checking that the spec is well formed
 * (a name, a shape of non-negative integers, a numeric dtype, and for a quantized spec a float32
 * dtype and a valid `quantization`: TF.js's convention, see quantization.ts). A quantized spec
 * occupies its quantized values' bytes. `where` names the file in errors.
 *
 * @example
 * ```ts
 * weightSpecBytes({ name: 'conv.weight', shape: [3, 3, 2, 4], dtype: 'float32' }, 'model.json'); // 288
 * weightSpecBytes({ name: 'conv.weight', shape: [3, 3, 2, 4], dtype: 'float32', quantization: { dtype: 'float16' } }, 'model.json'); // 144
 * ```
 */
export function weightSpecBytes(spec: tf.io.WeightsManifestEntry, where: string): number {
  const name = spec !== null && typeof spec === 'object' && typeof spec.name === 'string' ? spec.name : undefined;
  const bad = (what: string): never => {
    throw new Error(`Error loading ${where}: weight spec ${name === undefined ? JSON.stringify(spec) : `'${name}'`} ${what}`);
  };
  if (name === undefined || name === '') bad('has no name');
  if (!Array.isArray(spec.shape) || spec.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    bad(`has shape ${JSON.stringify(spec.shape)}; expected an array of non-negative integers`);
  }
  const size = spec.shape.reduce((a, b) => a * b, 1);
  // tfjs tests `'quantization' in spec`, so a null field counts as one (and is refused).
  const quantized = 'quantization' in spec;
  const problem = quantized ? quantizationProblem(spec) : undefined;
  if (problem !== undefined) bad(problem);
  const stored = quantized ? (spec.quantization as { dtype: string }).dtype : spec.dtype;
  const per = quantized ? QUANTIZED_BYTES[stored] : BYTES_PER_ELEMENT[stored as string];
  if (per === undefined || spec.dtype === 'string') bad(`has dtype '${String(stored)}', which cannot be loaded`);
  if (!Number.isSafeInteger(size * per)) bad(`has shape [${spec.shape.join(', ')}], too large`);
  return size * per;
}

/**
 * Total bytes a list of weight specs occupies (see {@link weightSpecBytes}).
 *
 * @example
 * ```ts
 * const need = weightSpecsBytes(tf.io.getWeightSpecs(modelJson.weightsManifest), 'out/model.json');
 * ```
 */
export function weightSpecsBytes(specs: readonly tf.io.WeightsManifestEntry[], where: string): number {
  if (!Array.isArray(specs)) throw new Error(`Error loading ${where}: weight specs must be an array`);
  let n = 0;
  for (const s of specs) n += weightSpecBytes(s, where);
  return n;
}

/**
 * Lower-case hex sha256 of some bytes (Node's crypto).
 *
 * @example
 * ```ts
 * sha256Hex(new Uint8Array(0)); // 'e3b0c442...b855'
 * ```
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The shard records of a model.json's metadata, validated; undefined when none were recorded.
 *
 * @example
 * ```ts
 * const shards = shardRecordsOf(artifacts.userDefinedMetadata, 'https://host/model.json');
 * ```
 */
export function shardRecordsOf(metadata: unknown, where: string): ShardRecord[] | undefined {
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const raw = (metadata as Record<string, unknown>)[SHARDS_METADATA_KEY];
  if (raw === undefined) return undefined;
  const ok =
    Array.isArray(raw) &&
    raw.every(
      (r: unknown) =>
        r !== null &&
        typeof r === 'object' &&
        typeof (r as ShardRecord).path === 'string' &&
        Number.isSafeInteger((r as ShardRecord).bytes) &&
        (r as ShardRecord).bytes >= 0 &&
        typeof (r as ShardRecord).sha256 === 'string' &&
        /^[0-9a-f]{64}$/.test((r as ShardRecord).sha256),
    );
  if (!ok) throw new Error(`Error loading ${where}: userDefinedMetadata.${SHARDS_METADATA_KEY} is malformed (expected [{ path, bytes, sha256 }])`);
  return raw as ShardRecord[];
}

/**
 * Resolves a shard path of model.json inside `dir`, refusing absolute paths and `..` escapes.
 * `modelJson` names the file in errors.
 */
function shardPathInside(dir: string, p: unknown, modelJson: string): string {
  if (typeof p !== 'string' || p === '' || p.includes('\0')) {
    throw new Error(`Error loading ${modelJson}: weight shard path ${JSON.stringify(p)} is not a file name`);
  }
  const file = path.resolve(dir, p);
  const rel = path.relative(dir, file);
  if (path.isAbsolute(p) || path.win32.isAbsolute(p) || rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`Error loading ${modelJson}: weight shard path '${p}' points outside the model folder ${dir}`);
  }
  return file;
}

/** Checks that a model.json's weightsManifest is a list of `{ paths, weights }` groups. */
function checkManifest(manifest: unknown, where: string): void {
  if (!Array.isArray(manifest)) throw new Error(`Error loading ${where}: no weightsManifest`);
  for (const group of manifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    if (g === null || typeof g !== 'object' || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new Error(`Error loading ${where}: each weightsManifest group needs 'paths' and 'weights' arrays`);
    }
  }
}

/**
 * Options of {@link NodeFileHandler}.
 *
 * @example
 * ```ts
 * const o: NodeFileHandlerOptions = { reuseShardsFrom: 'runs/a/step-000500/weights' };
 * ```
 */
export interface NodeFileHandlerOptions {
  /**
   * A folder of shards written earlier (a checkpoint's weights). A shard to save whose bytes equal
   * the same-named file there is hard-linked to it instead of written, so the same weights are
   * stored once on disk. The bytes are compared before linking; when they differ, or the file
   * system cannot link (another device, FAT, some network shares), the shard is written as usual.
   */
  readonly reuseShardsFrom?: string;
}

/**
 * What the last {@link NodeFileHandler.save} did with the shards.
 *
 * @example
 * ```ts
 * await model.save(handler);
 * handler.lastSave; // { shards: 43, linked: 43, linkedBytes: 176228356, removedStale: 0 }
 * ```
 */
export interface ShardSaveReport {
  readonly shards: number;
  /** Shards hard-linked to identical files of `reuseShardsFrom` rather than written. */
  readonly linked: number;
  readonly linkedBytes: number;
  /** Shards of the model.json this save replaced that the new one no longer lists, now removed. */
  readonly removedStale: number;
}

/** Our own shard file names; only these are ever removed as stale. */
const SHARD_NAME = /^group1-shard\d+of\d+\.bin$/;

/**
 * An IOHandler on a folder (or on a model.json path inside it).
 *
 * @example
 * ```ts
 * await model.save(new NodeFileHandler('runs/a/model', { reuseShardsFrom: 'runs/a/step-000500/weights' }));
 * const artifacts = await new NodeFileHandler('runs/a/model/model.json').load();
 * ```
 */
export class NodeFileHandler implements tf.io.IOHandler {
  readonly dir: string;
  readonly modelJsonPath: string;
  /** What the last save did with the shards; undefined before the first save. */
  lastSave: ShardSaveReport | undefined;

  constructor(
    location: string,
    private readonly options: NodeFileHandlerOptions = {},
  ) {
    const p = location.startsWith('file://') ? location.slice('file://'.length) : location;
    if (p === '') throw new Error('Error in NodeFileHandler: empty path');
    this.modelJsonPath = p.endsWith('.json') ? path.resolve(p) : path.resolve(p, MODEL_JSON);
    this.dir = path.dirname(this.modelJsonPath);
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    await fs.mkdir(this.dir, { recursive: true });
    const data = new Uint8Array(artifacts.weightData ? concat(artifacts.weightData) : new ArrayBuffer(0));
    const n = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
    const paths = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
    const manifest: tf.io.WeightsManifestConfig = [{ paths, weights: artifacts.weightSpecs ?? [] }];
    const shards = paths.map((p, i) => data.subarray(i * SHARD_BYTES, Math.min(data.byteLength, (i + 1) * SHARD_BYTES)));
    const records: ShardRecord[] = paths.map((p, i) => ({ path: p, bytes: shards[i].byteLength, sha256: sha256Hex(shards[i]) }));
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: manifest,
      // A new object: the caller's metadata is not modified.
      userDefinedMetadata: { ...(artifacts.userDefinedMetadata ?? {}), [SHARDS_METADATA_KEY]: records },
    };
    const replaced = await this.shardsOfCurrentModelJson();
    const modelJsonName = path.basename(this.modelJsonPath);
    await removeStaleTemps(this.dir, (target) => target === modelJsonName || SHARD_NAME.test(target));
    const writes: [string, Uint8Array | string][] = paths.map((p, i) => [p, shards[i]]);
    writes.push([modelJsonName, JSON.stringify(modelJson)]);
    let linked = 0;
    let linkedBytes = 0;
    const staged: StagedFile[] = [];
    try {
      for (const [name, content] of writes) {
        const dest = path.join(this.dir, name);
        const link = typeof content === 'string' ? undefined : await this.stageIdentical(name, content, dest);
        if (link !== undefined) {
          linked++;
          linkedBytes += link.bytes;
        }
        staged.push(link ?? (await stageFile(dest, content)));
      }
    } catch (e) {
      await discardStaged(staged);
      throw e;
    }
    // model.json is last: until it is renamed, the model in place is the previous one.
    await commitStaged(staged);
    // The model.json in place no longer lists the old model's other shards: they are garbage now.
    const stale = replaced.filter((p) => !paths.includes(p));
    for (const p of stale) await fs.rm(path.join(this.dir, p), { force: true });
    this.lastSave = { shards: paths.length, linked, linkedBytes, removedStale: stale.length };
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  /** Stages a hard link to `name` of reuseShardsFrom as `dest` when its bytes are `bytes`; undefined when not done. */
  private async stageIdentical(name: string, bytes: Uint8Array, dest: string): Promise<StagedFile | undefined> {
    if (this.options.reuseShardsFrom === undefined) return undefined;
    const source = path.join(this.options.reuseShardsFrom, name);
    try {
      const st = await fs.stat(source);
      if (!st.isFile() || st.size !== bytes.byteLength) return undefined;
      if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(await fs.readFile(source))) return undefined;
      return await stageLink(dest, source);
    } catch {
      return undefined; // absent, unreadable, or a file system without hard links: write instead
    }
  }

  /** Shard names the model.json about to be replaced lists (ours only, inside the folder). */
  private async shardsOfCurrentModelJson(): Promise<string[]> {
    try {
      const json = JSON.parse(await fs.readFile(this.modelJsonPath, 'utf8')) as { weightsManifest?: { paths?: unknown }[] };
      const paths = (json.weightsManifest ?? []).flatMap((g) => (Array.isArray(g?.paths) ? g.paths : []));
      return paths.filter((p): p is string => typeof p === 'string' && SHARD_NAME.test(p));
    } catch {
      return []; // none yet, or not ours to judge
    }
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    return this.loadFrom(await this.readModelJson());
  }

  /**
   * Reads and parses model.json only, so that its configuration can be checked before the shards
   * are read (then {@link NodeFileHandler.loadFrom}).
   *
   * @example
   * ```ts
   * const handler = new NodeFileHandler('out/model.json');
   * const json = await handler.readModelJson();
   * check(json.modelTopology);                  // throw here, and no shard is read
   * const artifacts = await handler.loadFrom(json);
   * ```
   */
  async readModelJson(): Promise<tf.io.ModelJSON> {
    let text: string;
    try {
      text = await fs.readFile(this.modelJsonPath, 'utf8');
    } catch (e) {
      throw new Error(`Error loading ${this.modelJsonPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    let json: tf.io.ModelJSON;
    try {
      json = JSON.parse(text) as tf.io.ModelJSON;
    } catch (e) {
      throw new Error(`Error loading ${this.modelJsonPath}: not valid JSON (${(e as Error).message})`);
    }
    if (json === null || typeof json !== 'object') throw new Error(`Error loading ${this.modelJsonPath}: no weightsManifest`);
    checkManifest(json.weightsManifest, this.modelJsonPath);
    return json;
  }

  /** Reads the shards of a model.json read by {@link NodeFileHandler.readModelJson}. */
  async loadFrom(json: tf.io.ModelJSON): Promise<tf.io.ModelArtifacts> {
    const where = this.modelJsonPath;
    const records = shardRecordsOf(json.userDefinedMetadata, where);
    return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      // Every check that needs no shard bytes comes first: paths, then sizes, then reading.
      checkManifest(manifest, where);
      const files: { file: string; name: string; bytes: number }[] = [];
      for (const group of manifest) {
        const groupFiles: { file: string; name: string; bytes: number }[] = [];
        for (const p of group.paths) {
          const file = shardPathInside(this.dir, p, where);
          const st = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
            throw new Error(`Error loading ${where}: weight shard ${file} ${e.code === 'ENOENT' ? 'is missing' : e.message}`);
          });
          if (!st.isFile()) throw new Error(`Error loading ${where}: weight shard ${file} is not a file`);
          groupFiles.push({ file, name: p, bytes: st.size });
        }
        const need = weightSpecsBytes(group.weights, where);
        const have = groupFiles.reduce((a, f) => a + f.bytes, 0);
        if (records === undefined && need !== have) {
          const list = groupFiles.map((f) => `${f.file} (${f.bytes} bytes)`).join(', ');
          throw new Error(
            `Error loading ${where}: weight shard${groupFiles.length === 1 ? '' : 's'} ${list} hold${groupFiles.length === 1 ? 's' : ''} ${have} bytes ` +
              `but the manifest's weight specs need ${need} bytes (${have < need ? 'truncated' : 'overlong'})`,
          );
        }
        files.push(...groupFiles);
      }
      if (records !== undefined) {
        const names = files.map((f) => f.name);
        if (records.length !== files.length || records.some((r, i) => r.path !== names[i])) {
          throw new Error(`Error loading ${where}: the recorded shards (${records.map((r) => r.path).join(', ')}) are not the manifest's (${names.join(', ')})`);
        }
        files.forEach((f, i) => {
          if (f.bytes !== records[i].bytes) {
            throw new Error(
              `Error loading ${where}: weight shard ${f.file} has ${f.bytes} bytes, expected ${records[i].bytes} (${f.bytes < records[i].bytes ? 'truncated' : 'overlong'})`,
            );
          }
        });
        const need = weightSpecsBytes(tf.io.getWeightSpecs(manifest), where);
        const have = records.reduce((a, r) => a + r.bytes, 0);
        if (need !== have) throw new Error(`Error loading ${where}: the shards hold ${have} bytes but the manifest's weight specs need ${need} bytes`);
      }
      // Symlinks are resolved once the files are known to exist: the real file must stay inside too.
      const realDir = await fs.realpath(this.dir);
      // One buffer for all shards, read in place: no second copy of the weights.
      const all = new Uint8Array(files.reduce((a, f) => a + f.bytes, 0));
      let offset = 0;
      for (let i = 0; i < files.length; i++) {
        const { file, name, bytes } = files[i];
        const real = await fs.realpath(file);
        const rel = path.relative(realDir, real);
        if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
          throw new Error(`Error loading ${where}: weight shard path '${name}' links to ${real}, outside the model folder ${this.dir}`);
        }
        const b = all.subarray(offset, offset + bytes);
        offset += bytes;
        const got = await readExactly(file, b).catch((e: NodeJS.ErrnoException) => {
          throw new Error(`Error loading ${where}: weight shard ${file} ${e.code === 'ENOENT' ? 'is missing' : e.message}`);
        });
        if (got !== bytes) throw new Error(`Error loading ${where}: weight shard ${file} changed size while being read`);
      }
      return [tf.io.getWeightSpecs(manifest), all.buffer];
    });
  }
}

/** Reads `file` into `into`; returns the bytes the file holds (more than `into` when it grew). */
async function readExactly(file: string, into: Uint8Array): Promise<number> {
  const h = await fs.open(file, 'r');
  try {
    let n = 0;
    while (n < into.byteLength) {
      const { bytesRead } = await h.read(into, n, into.byteLength - n, n);
      if (bytesRead === 0) return n;
      n += bytesRead;
    }
    const { bytesRead } = await h.read(new Uint8Array(1), 0, 1, n);
    return n + bytesRead;
  } finally {
    await h.close();
  }
}

let registered = false;

/**
 * Registers {@link NodeFileHandler} for `file://` unless another handler (tfjs-node) has it.
 *
 * @example
 * ```ts
 * registerFileRouter();
 * await model.save('file://models/shapes');
 * ```
 */
export function registerFileRouter(): void {
  if (registered || typeof process === 'undefined' || !process.versions?.node) return;
  registered = true;
  const probe = 'file:///tmp/maskrcnn-probe';
  // tfjs routers return null for URLs they do not handle, though the type says IOHandler.
  const router = ((url: string | string[]) => {
    const u = Array.isArray(url) ? url[0] : url;
    return u.startsWith('file://') ? new NodeFileHandler(u) : null;
  }) as Parameters<typeof tf.io.registerSaveRouter>[0];
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(router);
  if (tf.io.getLoadHandlers(probe).length === 0) tf.io.registerLoadRouter(router);
}
