/**
 * `checkpoint.json`, a checkpoint's manifest: step, epoch, RNG state, configurations, metrics,
 * the optimizer layout, and the size and sha256 of every other file of the folder, sealed by a
 * sha256 of itself. Whatever fails to match is named in the error, so a damaged checkpoint is
 * never loaded in part.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { sha256Hex } from '../../io/file_handler';
import type { RngState } from '../../util/random';
import type { OptimizerArrayEntry } from './optimizer_state';

/** The `format` field of checkpoint.json. */
export const CHECKPOINT_FORMAT = 'maskrcnn-tfjs-checkpoint';
/** Version of the checkpoint layout written by `saveCheckpoint`. */
export const CHECKPOINT_VERSION = 1;
/** Name of the manifest inside a checkpoint folder. */
export const CHECKPOINT_MANIFEST = 'checkpoint.json';

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
    readonly arrays: readonly OptimizerArrayEntry[];
  };
  /** Every file of the checkpoint except checkpoint.json. */
  readonly files: readonly CheckpointFileEntry[];
  /** sha256 of this JSON without this field (JSON.stringify of the rest, in this key order). */
  readonly manifestSha256: string;
}

function sha256(text: string): string {
  return sha256Hex(Buffer.from(text, 'utf8'));
}

function fail(file: string, what: string): never {
  throw new Error(`Error in loadCheckpoint: ${file} ${what}`);
}

/**
 * Checks an RNG state (four unsigned 32-bit integers); `where` opens the error message.
 *
 * @example
 * ```ts
 * checkRngState('Error in saveCheckpoint', rng.getState());
 * ```
 */
export function checkRngState(where: string, s: unknown): RngState {
  const o = (s ?? {}) as Record<string, unknown>;
  for (const k of ['a', 'b', 'c', 'd']) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new Error(`${where}: rngState.${k} must be an unsigned 32-bit integer, got ${String(v)}`);
    }
  }
  return { a: o.a as number, b: o.b as number, c: o.c as number, d: o.d as number };
}

/** Files under `dir`, relative, `/`-separated, sorted. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** The manifest entries (size, sha256) of every file under `dir`, read as they lie on disk. */
export async function describeFiles(dir: string): Promise<CheckpointFileEntry[]> {
  const files: CheckpointFileEntry[] = [];
  for (const rel of await listFiles(dir)) {
    const data = await fs.readFile(path.join(dir, ...rel.split('/')));
    files.push({ path: rel, bytes: data.byteLength, sha256: sha256Hex(data) });
  }
  return files;
}

/** The manifest JSON with its self-checksum as the last field. */
export function sealManifest(body: Omit<CheckpointManifest, 'manifestSha256'>): string {
  const manifest: CheckpointManifest = { ...body, manifestSha256: sha256(JSON.stringify(body)) };
  return JSON.stringify(manifest, null, 1);
}

/** True when `dir` holds a checkpoint.json of ours (readable, with our format field). */
export async function isOurCheckpoint(dir: string): Promise<boolean> {
  try {
    const json = JSON.parse(await fs.readFile(path.join(dir, CHECKPOINT_MANIFEST), 'utf8')) as { format?: unknown };
    return json.format === CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

/** Reads checkpoint.json of `ckptDir` and checks its format, version and self-checksum. */
export async function readManifest(ckptDir: string): Promise<CheckpointManifest> {
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

/**
 * Reads every file the manifest lists and checks its size and sha256; returns their contents by
 * manifest path. Throws naming the first file that is missing, truncated, too long or damaged.
 */
export async function verifyFiles(ckptDir: string, manifest: CheckpointManifest): Promise<Map<string, Buffer>> {
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
    if (sha256Hex(data) !== entry.sha256) fail(file, 'fails its sha256 checksum (the file is damaged)');
    contents.set(entry.path, data);
  }
  return contents;
}
