/**
 * Spies on fs.promises for the crash-safety tests: which files are fsynced and renamed, in what
 * order, and a disk that fills up after a number of writes.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** FileHandle's prototype (Node does not export the class). */
async function fileHandlePrototype(dir: string): Promise<fs.promises.FileHandle> {
  const probe = path.join(dir, '.probe');
  const handle = await fs.promises.open(probe, 'w');
  await handle.close();
  fs.rmSync(probe);
  return Object.getPrototypeOf(handle) as fs.promises.FileHandle;
}

/**
 * Records, in order, each fsync (`sync <basename>`) and rename (`rename <from> -> <to>`, basenames)
 * that fs.promises makes until `restore` is called. `dir` is a scratch folder for a probe file.
 */
export async function recordSyncsAndRenames(dir: string): Promise<{ events: string[]; restore: () => void }> {
  const events: string[] = [];
  const paths = new Map<number, string>();
  const proto = await fileHandlePrototype(dir);
  const realOpen = fs.promises.open;
  const realRename = fs.promises.rename;
  const realSync = proto.sync;
  const open = jest.spyOn(fs.promises, 'open').mockImplementation((async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
    const h = await realOpen(p, flags, mode);
    paths.set(h.fd, String(p));
    return h;
  }) as typeof fs.promises.open);
  const sync = jest.spyOn(proto, 'sync').mockImplementation(function (this: fs.promises.FileHandle) {
    events.push(`sync ${path.basename(paths.get(this.fd) ?? '?')}`);
    return realSync.call(this);
  });
  const rename = jest.spyOn(fs.promises, 'rename').mockImplementation(async (a: fs.PathLike, b: fs.PathLike) => {
    events.push(`rename ${path.basename(String(a))} -> ${path.basename(String(b))}`);
    return realRename(a, b);
  });
  return { events, restore: () => [open, sync, rename].forEach((s) => s.mockRestore()) };
}

/** Temporary names with the pid and token taken out: `.a.json.tmp-42-k3j9x0aa` -> `.a.json.tmp`. */
export function withoutTokens(event: string): string {
  return event.replace(/\.(tmp|old)-\d+-[0-9a-z]+/g, '.$1');
}

/** Makes every FileHandle write after the first `allowed` fail with ENOSPC until restored. */
export async function diskFullAfter(dir: string, allowed: number): Promise<{ restore: () => void }> {
  const proto = await fileHandlePrototype(dir);
  const realWrite = proto.write as (...a: unknown[]) => Promise<unknown>;
  let writes = 0;
  const spy = jest.spyOn(proto, 'write').mockImplementation(function (this: fs.promises.FileHandle, ...args: unknown[]) {
    if (++writes > allowed) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    return realWrite.apply(this, args);
  } as typeof proto.write);
  return { restore: () => spy.mockRestore() };
}

/** A pid that no process has now: that of a child that has exited. */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}
