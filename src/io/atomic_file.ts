/**
 * Writes that are all or nothing: a file or folder is made under a temporary name next to its
 * destination, fsynced, and only then renamed into place (rename is atomic within a file
 * system), so an interrupted write leaves either the old destination or the new one, never a
 * half-written one. A failed write removes its temporary file or folder.
 */
import { promises as fs } from 'fs';
import * as path from 'path';

/**
 * fsync a folder so a rename inside it survives power loss (a no-op where the platform refuses,
 * e.g. Windows).
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

/** Files under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** A name next to `dest` for work in progress: `.name.tmp-<pid>-<random>`. */
export function tempNameFor(dest: string): string {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  return path.join(path.dirname(path.resolve(dest)), `.${path.basename(dest)}.tmp-${suffix}`);
}

/**
 * Writes `chunks` to a new file (refusing one that exists) and fsyncs it; returns the bytes
 * written. The building block of {@link writeFileAtomic} and of checkpoint folders.
 *
 * @example
 * ```ts
 * const bytes = await writeSynced('/tmp/x.partial', [new Uint8Array([1, 2, 3])]); // 3
 * ```
 */
export async function writeSynced(file: string, chunks: Iterable<Uint8Array>): Promise<number> {
  const handle = await fs.open(file, 'wx');
  let bytes = 0;
  try {
    for (const chunk of chunks) {
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
 * Writes `chunks` to `file` atomically: into a temporary file in the same folder, fsynced, then
 * renamed over `file` (replacing it if it exists). If anything fails, including the iteration of
 * `chunks`, the temporary file is removed and `file` is as it was. Returns the bytes written.
 *
 * @example
 * ```ts
 * await writeFileAtomic('model.pth', torchZipChunks(records));
 * ```
 */
export async function writeFileAtomic(file: string, chunks: Iterable<Uint8Array>): Promise<number> {
  const dest = path.resolve(file);
  const temp = tempNameFor(dest);
  let bytes = 0;
  try {
    bytes = await writeSynced(temp, chunks);
    await fs.rename(temp, dest);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
  await syncDir(path.dirname(dest));
  return bytes;
}

/**
 * Fills a new folder atomically: `fill` writes into a temporary folder next to `dir`; its files
 * are then fsynced and the folder renamed to `dir`. An existing `dir` is replaced only with
 * `replace` (it is moved aside first and removed after the rename, since a folder cannot be
 * renamed over a non-empty one); without it an existing `dir` is an error and nothing is
 * written. If `fill` or anything after it fails, the temporary folder is removed and `dir` is as
 * it was.
 *
 * @example
 * ```ts
 * await writeFolderAtomic('models/shapes', (tmp) => model.save(`file://${tmp}`), { replace: true });
 * ```
 */
export async function writeFolderAtomic(dir: string, fill: (tempDir: string) => Promise<unknown>, options: { replace?: boolean } = {}): Promise<void> {
  const dest = path.resolve(dir);
  const exists = async (p: string) => fs.stat(p).then(() => true, () => false);
  if (!options.replace && (await exists(dest))) throw new Error(`${dir} exists`);
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const temp = tempNameFor(dest);
  const aside = `${temp}.old`;
  try {
    await fs.mkdir(temp);
    await fill(temp);
    for (const f of await filesUnder(temp)) {
      const h = await fs.open(f, 'r+');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }
    await syncDir(temp);
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
}
