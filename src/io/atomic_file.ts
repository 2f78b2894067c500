/**
 * Writes that are all or nothing; every file the library writes goes through here.
 *
 * A file is written under a temporary name in its destination's folder, fsynced, renamed over the
 * destination (rename is atomic within a file system), and then the folder is fsynced so that the
 * rename itself survives a power cut. An interrupted write leaves the old destination or the new
 * one, never a half-written one; a write that fails removes its temporary file. A folder is
 * filled under a temporary name, every file in it fsynced, and renamed the same way.
 *
 * ```
 * out/
 *   .model.json.tmp-4242-k3j9x0aa      a file being written by process 4242
 *   .step-000300.tmp-4242-p0q1w2e3/    a folder being filled by process 4242
 *   .step-000300.old-4242-p0q1w2e3/    the folder it replaces, moved aside until the rename lands
 * ```
 *
 * Temporary names carry the writer's pid, so a later writer can tell what a dead process left
 * from work in progress and clean it up ({@link removeStaleTemps}).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { isProcessAlive } from './process_alive';

/**
 * What a file is written from: text (UTF-8), bytes, or pieces of bytes (a generator streams
 * them, so a large file never needs one buffer).
 *
 * @example
 * ```ts
 * const content: FileContent = torchZipChunks(records); // Iterable<Uint8Array>
 * ```
 */
export type FileContent = string | Uint8Array | Iterable<Uint8Array>;

/**
 * A file written and fsynced under its temporary name, not yet renamed into place (see
 * {@link stageFile}).
 */
export interface StagedFile {
  /** Absolute path it will have. */
  readonly dest: string;
  /** Absolute path it has now. */
  readonly temp: string;
  readonly bytes: number;
}

/** A temporary name taken apart (see {@link parseTempName}). */
export interface TempName {
  /** The name of the file or folder being written (or moved aside), without folder. */
  readonly target: string;
  /** `tmp`: being written; `old`: a destination moved aside while a folder replaces it. */
  readonly kind: 'tmp' | 'old';
  /** The writing process. */
  readonly pid: number;
}

/** Temporary paths this process is writing now: never stale, whatever their pid says. */
const inFlight = new Set<string>();

/**
 * Our temporary names, and those of earlier versions (`latest.tmp-<pid>`, `.step-000300.old-<pid>`,
 * `model.json.tmp-<pid>-<time>`), so that their leftovers are cleaned up too.
 */
const TEMP_NAME = /^\.?(.+)\.(tmp|old)-(\d+)(?:-[0-9a-z]+)?$/;

function randomToken(): string {
  return Math.random().toString(36).slice(2, 10).padEnd(8, '0');
}

function tempPath(dest: string, kind: TempName['kind'], token: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}.${kind}-${process.pid}-${token}`);
}

function chunksOf(content: FileContent): Iterable<Uint8Array> {
  if (typeof content === 'string') return [Buffer.from(content, 'utf8')];
  if (content instanceof Uint8Array) return [content];
  return content;
}

/**
 * The parts of a temporary name of this module, or undefined when `name` is not one.
 *
 * @example
 * ```ts
 * parseTempName('.model.json.tmp-4242-k3j9x0aa'); // { target: 'model.json', kind: 'tmp', pid: 4242 }
 * parseTempName('model.json');                    // undefined
 * ```
 */
export function parseTempName(name: string): TempName | undefined {
  const m = TEMP_NAME.exec(name);
  if (m === null) return undefined;
  return { target: m[1], kind: m[2] as TempName['kind'], pid: Number(m[3]) };
}

/**
 * fsync a folder so that a rename inside it survives a power cut. A no-op where the platform
 * refuses to open or sync a folder (Windows); the rename itself is atomic there still.
 *
 * @example
 * ```ts
 * await fs.promises.rename(temp, dest);
 * await syncDir(path.dirname(dest));
 * ```
 */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * fsync a file that exists (one written by another writer, such as a tfjs IOHandler).
 *
 * @example
 * ```ts
 * await syncFile('out/model.json');
 * ```
 */
export async function syncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` to a new file (refusing one that exists) and fsyncs it; returns the bytes
 * written. For files inside a folder that is itself written atomically ({@link writeFolderAtomic});
 * anything else wants {@link writeFileAtomic}.
 *
 * @example
 * ```ts
 * const bytes = await writeSynced(path.join(tempDir, 'optimizer.bin'), chunks);
 * ```
 */
export async function writeSynced(file: string, content: FileContent): Promise<number> {
  const handle = await fs.open(file, 'wx');
  let bytes = 0;
  try {
    for (const chunk of chunksOf(content)) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
        done += bytesWritten;
      }
      bytes += chunk.byteLength;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

/**
 * The first half of an atomic write: `content` written and fsynced under a temporary name next
 * to `dest`, which is not touched yet. {@link commitStaged} renames it into place,
 * {@link discardStaged} removes it. For several files that should land together (a model.json
 * and its shards); one file wants {@link writeFileAtomic}. If writing fails (the iteration of
 * `content` included), the temporary file is removed and the error rethrown.
 *
 * @example
 * ```ts
 * const staged = [await stageFile('out/group1-shard1of1.bin', shard), await stageFile('out/model.json', json)];
 * await commitStaged(staged); // model.json renamed last
 * ```
 */
export async function stageFile(dest: string, content: FileContent): Promise<StagedFile> {
  const target = path.resolve(dest);
  const temp = tempPath(target, 'tmp', randomToken());
  inFlight.add(temp);
  try {
    const bytes = await writeSynced(temp, content);
    return { dest: target, temp, bytes };
  } catch (e) {
    inFlight.delete(temp);
    await fs.rm(temp, { force: true });
    throw e;
  }
}

/**
 * Stages a hard link to `source` as the next version of `dest` (see {@link stageFile}): the two
 * names then share their bytes. Throws, leaving nothing behind, where the file system cannot
 * link (another device, FAT, some network shares).
 *
 * @example
 * ```ts
 * const staged = await stageLink('runs/a/model/group1-shard1of1.bin', 'runs/a/step-000500/weights/group1-shard1of1.bin');
 * ```
 */
export async function stageLink(dest: string, source: string): Promise<StagedFile> {
  const target = path.resolve(dest);
  const temp = tempPath(target, 'tmp', randomToken());
  inFlight.add(temp);
  try {
    await fs.link(source, temp);
    return { dest: target, temp, bytes: (await fs.stat(temp)).size };
  } catch (e) {
    inFlight.delete(temp);
    await fs.rm(temp, { force: true });
    throw e;
  }
}

/**
 * Renames staged files over their destinations, in the order given (the file that makes the
 * others count, such as a model.json, goes last), then fsyncs their folders. A crash part way
 * leaves each destination whole, old or new. Should a rename fail, the files not yet renamed are
 * removed and the error rethrown.
 *
 * @example
 * ```ts
 * await commitStaged([shard, modelJson]);
 * ```
 */
export async function commitStaged(files: readonly StagedFile[]): Promise<void> {
  let done = 0;
  try {
    for (const f of files) {
      await fs.rename(f.temp, f.dest);
      inFlight.delete(f.temp);
      done++;
    }
  } catch (e) {
    await discardStaged(files.slice(done));
    throw e;
  }
  for (const dir of new Set(files.map((f) => path.dirname(f.dest)))) await syncDir(dir);
}

/**
 * Removes staged files that will not be committed (after an error elsewhere).
 *
 * @example
 * ```ts
 * try { staged.push(await stageFile(dest, content)); ... } catch (e) { await discardStaged(staged); throw e; }
 * ```
 */
export async function discardStaged(files: readonly StagedFile[]): Promise<void> {
  for (const f of files) {
    await fs.rm(f.temp, { force: true });
    inFlight.delete(f.temp);
  }
}

/**
 * Writes `content` to `file` atomically: into a temporary file in the same folder, fsynced, then
 * renamed over `file` (replacing it if it exists), then the folder fsynced. If anything fails,
 * including the iteration of `content`, the temporary file is removed and `file` is as it was.
 * Returns the bytes written.
 *
 * @example
 * ```ts
 * await writeFileAtomic('model.pth', torchZipChunks(records));
 * await writeFileAtomic('results.json', JSON.stringify(results));
 * ```
 */
export async function writeFileAtomic(file: string, content: FileContent): Promise<number> {
  const staged = await stageFile(file, content);
  await commitStaged([staged]);
  return staged.bytes;
}

/** fsyncs every file and folder under `dir`, `dir` last. */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(p);
    else if (entry.isFile()) await syncFile(p);
  }
  await syncDir(dir);
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Options of {@link writeFolderAtomic}.
 *
 * @example
 * ```ts
 * const o: WriteFolderOptions = { replace: true };
 * ```
 */
export interface WriteFolderOptions {
  /** Replace an existing folder (default false: an existing one is an error and nothing is written). */
  readonly replace?: boolean;
}

/**
 * Fills a folder atomically: `fill` writes into a temporary folder next to `dir`; every file in
 * it is then fsynced and the folder renamed to `dir`, and `dir`'s parent fsynced. An existing
 * `dir` is replaced only with `replace`: it is moved aside first and removed after the rename
 * (a folder cannot be renamed over a non-empty one); a crash in between leaves it under its
 * `.old-` name, which {@link removeStaleTemps} moves back. If `fill` or anything after it fails,
 * the temporary folder is removed and `dir` is as it was.
 *
 * @example
 * ```ts
 * await writeFolderAtomic('models/shapes', (tmp) => model.save(`file://${tmp}`), { replace: true });
 * ```
 */
export async function writeFolderAtomic(dir: string, fill: (tempDir: string) => Promise<unknown>, options: WriteFolderOptions = {}): Promise<void> {
  const dest = path.resolve(dir);
  if (!options.replace && (await exists(dest))) throw new Error(`${dir} exists`);
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const token = randomToken();
  const temp = tempPath(dest, 'tmp', token);
  const aside = tempPath(dest, 'old', token);
  inFlight.add(temp);
  inFlight.add(aside);
  try {
    try {
      await fs.mkdir(temp);
      await fill(temp);
      await syncTree(temp);
      const replacing = await exists(dest);
      if (replacing) await fs.rename(dest, aside);
      try {
        await fs.rename(temp, dest);
      } catch (e) {
        if (replacing) await fs.rename(aside, dest);
        throw e;
      }
    } catch (e) {
      await fs.rm(temp, { recursive: true, force: true });
      throw e;
    }
    await syncDir(path.dirname(dest));
    await fs.rm(aside, { recursive: true, force: true });
  } finally {
    inFlight.delete(temp);
    inFlight.delete(aside);
  }
}

/**
 * Cleans up what interrupted writes left in `dir`: temporary files and folders of processes that
 * no longer run (or of this one, when not in progress) are removed, and a folder moved aside by
 * {@link writeFolderAtomic} whose replacement never landed is moved back. Only names for which
 * `isOurs(target)` holds are touched (`target`: the name being written, see {@link TempName}),
 * so one writer's clean-up leaves other writers' files alone. Returns the names handled.
 *
 * @example
 * ```ts
 * await removeStaleTemps('runs/a', (target) => /^step-\d{6,}$/.test(target) || target === 'latest');
 * ```
 */
export async function removeStaleTemps(dir: string, isOurs: (target: string) => boolean): Promise<string[]> {
  const root = path.resolve(dir);
  const handled: string[] = [];
  for (const entry of await fs.readdir(root, { withFileTypes: true })) {
    const t = parseTempName(entry.name);
    if (t === undefined || !isOurs(t.target)) continue;
    const p = path.join(root, entry.name);
    const stale = t.pid === process.pid ? !inFlight.has(p) : !isProcessAlive(t.pid);
    if (!stale) continue;
    const original = path.join(root, t.target);
    if (t.kind === 'old' && !(await exists(original))) await fs.rename(p, original);
    else await fs.rm(p, { recursive: true, force: true });
    handled.push(entry.name);
  }
  if (handled.length > 0) await syncDir(root);
  return handled;
}
