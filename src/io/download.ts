/**
 * Published checkpoints by name, downloaded once into a local cache:
 *
 * ```
 * $MASKRCNN_HOME/checkpoints/                        default ~/.cache/maskrcnn-tfjs/checkpoints
 *   maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth          complete and verified; only ever made by rename
 *   maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth.partial  the bytes received so far, resumed by a Range request
 *   maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth.lock     held by the process downloading: pid, host, token
 * ```
 *
 * Crash safety in one sentence: the bytes go into `.partial`, which is fsynced, hashed as it lies
 * on disk and only then renamed to the final name, so a file by the final name is always whole and
 * its sha256 starts with the registered prefix; anything interrupted is at most a `.partial`.
 *
 * One process downloads a file at a time: the others wait for its `.lock` to go and then find
 * the file. A lock whose process is gone (same host) or that has not been refreshed for a
 * minute is broken. Two processes that break the same stale lock at once could both write the
 * `.partial`; the hash check still stops the result from passing as complete.
 *
 * Node's own http/https: no proxy support (download elsewhere and copy the file into the cache,
 * see docs/weights.md).
 */
import { createHash, randomBytes } from 'crypto';
import { createReadStream, promises as fsp, statSync } from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { syncDir } from './atomic_file';
import { isProcessAlive } from './process_alive';
import { type WeightsEntry, resolveWeights } from './weights_registry';

/**
 * Where a download stands, given to {@link DownloadOptions.onProgress} at the start and after
 * every piece written.
 *
 * @example
 * ```ts
 * const onProgress = (p: DownloadProgress) => console.error(`${p.name}: ${p.receivedBytes} of ${p.totalBytes ?? '?'} bytes`);
 * await downloadWeights('maskrcnn_resnet50_fpn_coco', { onProgress });
 * ```
 */
export interface DownloadProgress {
  /** The weights' name. */
  readonly name: string;
  /** The URL answering (after redirects). */
  readonly url: string;
  /** The file it will be, in the cache. */
  readonly file: string;
  /** Bytes of the file on disk so far, those of a resumed `.partial` included. */
  readonly receivedBytes: number;
  /** The file's size, when the server says. */
  readonly totalBytes: number | undefined;
  /** Bytes already on disk when this request started (0 unless resumed). */
  readonly resumedFrom: number;
}

/**
 * Options of {@link downloadWeights}, and of {@link load} / {@link fromTorchvision} given a name
 * (as `options.download`).
 *
 * @example
 * ```ts
 * await downloadWeights('maskrcnn_resnet50_fpn_coco', { cacheDir: '/data/weights', timeoutMs: 60_000 });
 * await load('maskrcnn_resnet50_fpn_coco', { download: { baseUrl: 'http://mirror.local/models' } });
 * ```
 */
export interface DownloadOptions {
  /**
   * Folder of the downloaded files; default `$MASKRCNN_HOME/checkpoints`, where `MASKRCNN_HOME`
   * defaults to `$XDG_CACHE_HOME/maskrcnn-tfjs` (`~/.cache/maskrcnn-tfjs`).
   */
  cacheDir?: string;
  /**
   * Base URL the file name is appended to, instead of the registered URL's folder (a mirror, a
   * local server); default the `MASKRCNN_WEIGHTS_URL` environment variable, else the registered URL.
   */
  baseUrl?: string;
  /** Milliseconds without any data (connecting or receiving) before giving up; default 30 000. */
  timeoutMs?: number;
  /** Redirects followed at most; default 5. */
  maxRedirects?: number;
  /** Called as the download goes; nothing is printed otherwise. */
  onProgress?: (progress: DownloadProgress) => void;
}

const OPTION_NAMES = ['cacheDir', 'baseUrl', 'timeoutMs', 'maxRedirects', 'onProgress'];
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
/** A lock not refreshed for this long belongs to a process that is gone or hung. */
const LOCK_STALE_MS = 60_000;
/** How often the lock holder refreshes the lock's mtime. */
const LOCK_REFRESH_MS = 10_000;
/** How often a waiting process looks whether the lock is gone. */
const LOCK_POLL_MS = 100;
const FN = 'downloadWeights';

/**
 * The folder downloaded checkpoints are kept in: `options.cacheDir`, else
 * `$MASKRCNN_HOME/checkpoints`, else `$XDG_CACHE_HOME/maskrcnn-tfjs/checkpoints`, else
 * `~/.cache/maskrcnn-tfjs/checkpoints`.
 *
 * @example
 * ```ts
 * weightsCacheDir();                          // '/home/me/.cache/maskrcnn-tfjs/checkpoints'
 * weightsCacheDir({ cacheDir: 'weights' });   // '/work/weights'
 * ```
 */
export function weightsCacheDir(options: Pick<DownloadOptions, 'cacheDir'> = {}): string {
  if (options.cacheDir !== undefined) return path.resolve(options.cacheDir);
  const env = process.env;
  const home = env.MASKRCNN_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'maskrcnn-tfjs');
  return path.join(path.resolve(home), 'checkpoints');
}

/**
 * The path of a checkpoint in the cache when it has been downloaded (or copied there), else
 * undefined. Nothing is downloaded or checked: a file by that name is only ever made complete.
 *
 * @example
 * ```ts
 * const file = cachedWeightsPath('maskrcnn_resnet50_fpn_coco');
 * if (file === undefined) console.log('not downloaded yet');
 * ```
 */
export function cachedWeightsPath(name: string | WeightsEntry, options: Pick<DownloadOptions, 'cacheDir'> = {}): string | undefined {
  const file = path.join(weightsCacheDir(options), resolveWeights(name, 'cachedWeightsPath').fileName);
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The URL a checkpoint is downloaded from: `baseUrl` (or `MASKRCNN_WEIGHTS_URL`) followed by the
 * file name when given, else the registered URL.
 *
 * @example
 * ```ts
 * weightsUrl('maskrcnn_resnet50_fpn_coco'); // 'https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth'
 * weightsUrl('maskrcnn_resnet50_fpn_coco', { baseUrl: 'http://127.0.0.1:8000/m/' }); // 'http://127.0.0.1:8000/m/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth'
 * ```
 */
export function weightsUrl(name: string | WeightsEntry, options: Pick<DownloadOptions, 'baseUrl'> = {}): string {
  const entry = resolveWeights(name, 'weightsUrl');
  const base = options.baseUrl ?? (process.env.MASKRCNN_WEIGHTS_URL || undefined);
  if (base === undefined) return entry.url;
  if (typeof base !== 'string' || !/^https?:\/\/[^/]/i.test(base)) {
    const from = options.baseUrl !== undefined ? 'options.baseUrl' : 'MASKRCNN_WEIGHTS_URL';
    throw new Error(`Error in ${FN}: ${from} must be an http:// or https:// URL, got ${JSON.stringify(base)}`);
  }
  return `${base.replace(/\/+$/, '')}/${encodeURIComponent(entry.fileName)}`;
}

/**
 * Downloads a published checkpoint into the cache unless it is there, and returns its path.
 * The file is checked against the registered sha256 prefix before it takes its final name; an
 * interrupted download is resumed by the next call (HTTP Range), and a server that does not do
 * ranges makes it start over. Quiet unless given `onProgress`.
 *
 * @throws Error naming the URL (HTTP status, no data for `timeoutMs`, too many redirects, a
 * connection lost part way: the `.partial` is kept for the next call), naming the path (the
 * disk full or not writable), or giving the expected and actual hash (the file is deleted).
 * @example
 * ```ts
 * const file = await downloadWeights('maskrcnn_resnet50_fpn_coco'); // ~/.cache/maskrcnn-tfjs/checkpoints/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth
 * const sd = await readTorchStateDict(file);
 * ```
 */
export async function downloadWeights(name: string | WeightsEntry, options: DownloadOptions = {}): Promise<string> {
  const entry = resolveWeights(name, FN);
  const o = checkDownloadOptions(options);
  const dir = weightsCacheDir(o);
  const file = path.join(dir, entry.fileName);
  if (await isFile(file)) return file;
  const url = weightsUrl(entry, o);
  try {
    await fsp.mkdir(dir, { recursive: true });
  } catch (e) {
    throw diskError('create the folder', dir, e);
  }
  const lock = await acquireLock(`${file}.lock`, file);
  if (lock === undefined) return file; // another process finished it while this one waited
  try {
    if (await isFile(file)) return file;
    await fetchVerified(entry, url, file, o);
    return file;
  } finally {
    await lock.release();
  }
}

interface CheckedOptions {
  readonly cacheDir?: string;
  readonly baseUrl?: string;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly onProgress?: (progress: DownloadProgress) => void;
}

/** Every problem with the options at once, naming the valid values. */
function checkDownloadOptions(options: DownloadOptions): CheckedOptions {
  if (options === null || typeof options !== 'object') throw new Error(`Error in ${FN}: options must be an object`);
  const problems: string[] = [];
  for (const k of Object.keys(options)) {
    if (!OPTION_NAMES.includes(k)) problems.push(`unknown option '${k}' (valid options are ${OPTION_NAMES.join(', ')})`);
  }
  const { cacheDir, baseUrl, timeoutMs = DEFAULT_TIMEOUT_MS, maxRedirects = DEFAULT_MAX_REDIRECTS, onProgress } = options;
  if (cacheDir !== undefined && (typeof cacheDir !== 'string' || cacheDir === '')) problems.push('cacheDir must be a non-empty string');
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\/[^/]/i.test(baseUrl))) {
    problems.push(`baseUrl must be an http:// or https:// URL, got ${JSON.stringify(baseUrl)}`);
  }
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= 2 ** 31 - 1)) problems.push(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > 20) problems.push(`maxRedirects must be an integer in [0, 20], got ${String(maxRedirects)}`);
  if (onProgress !== undefined && typeof onProgress !== 'function') problems.push('onProgress must be a function');
  if (problems.length > 0) throw new Error(`Error in ${FN}: ${problems.join('; ')}`);
  return { cacheDir, baseUrl, timeoutMs, maxRedirects, onProgress };
}

/**
 * Fetches into `<file>.partial` (resuming it when it exists), verifies, renames into place. A
 * resumed file with the wrong hash is fetched once more from the start: its first part may be of
 * an older file published under the same URL.
 */
async function fetchVerified(entry: WeightsEntry, url: string, file: string, o: CheckedOptions): Promise<void> {
  const partial = `${file}.partial`;
  for (let fromScratch = false; ; fromScratch = true) {
    const start = fromScratch ? 0 : await partialSize(partial);
    const resumedFrom = await fetchToFile(entry, url, file, partial, start, o);
    const digest = await sha256Of(partial);
    if (digest.startsWith(entry.sha256Prefix)) {
      try {
        await fsp.rename(partial, file);
      } catch (e) {
        throw diskError('rename to', file, e);
      }
      await syncDir(path.dirname(file));
      return;
    }
    await fsp.rm(partial, { force: true });
    if (resumedFrom > 0 && !fromScratch) continue;
    throw new Error(
      `Error in ${FN}: ${url} gave a file whose sha256 is ${digest}, expected one starting with ${entry.sha256Prefix}; ` +
        `the file was deleted (a damaged download or a wrong URL)`,
    );
  }
}

/**
 * One GET of `url` (redirects followed) into `partial`, from byte `start` with a Range request
 * when `start > 0`; returns the byte the data on disk continued from (0 when the server sent the
 * whole file). A 416 answer to a range means the partial file is already whole (a crash between
 * its fsync and its rename), which the hash decides.
 */
async function fetchToFile(entry: WeightsEntry, url: string, file: string, partial: string, start: number, o: CheckedOptions): Promise<number> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const { req, res } = await get(current, start > 0 ? { Range: `bytes=${start}-` } : {}, o.timeoutMs, entry, file);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if ([301, 302, 303, 307, 308].includes(status) && location !== undefined) {
      res.resume();
      if (redirects >= o.maxRedirects) throw new Error(`Error in ${FN}: GET ${url}: more than ${o.maxRedirects} redirects (the last to ${location})`);
      current = nextUrl(current, location);
      continue;
    }
    if (status === 416 && start > 0) {
      res.resume();
      return start;
    }
    let offset: number;
    let total: number | undefined;
    if (status === 206 && start > 0) {
      const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
      if (m === null || Number(m[1]) !== start) {
        // A range other than the one asked for: start over rather than guess.
        res.resume();
        start = 0;
        redirects = -1;
        current = url;
        continue;
      }
      offset = start;
      total = m[2] === '*' ? undefined : Number(m[2]);
    } else if (status === 200) {
      offset = 0; // ranges not supported: the whole file, from the first byte
      const length = res.headers['content-length'];
      total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
    } else {
      res.resume();
      throw new Error(`Error in ${FN}: GET ${current} answered ${status} ${res.statusMessage ?? ''}`.trimEnd());
    }
    await writeBody(req, res, { entry, url: current, file, partial, offset, total, o });
    return offset;
  }
}

/** Resolves a redirect; only http(s), and never from https down to http. */
function nextUrl(from: string, location: string): string {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new Error(`Error in ${FN}: GET ${from} redirected to an invalid URL ${JSON.stringify(location)}`);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new Error(`Error in ${FN}: GET ${from} redirected to ${next.href}, which is not http(s)`);
  }
  if (from.startsWith('https:') && next.protocol === 'http:') {
    throw new Error(`Error in ${FN}: GET ${from} redirected from https to plain http (${next.href}); refused`);
  }
  return next.href;
}

/** Why a request stopped, set by the timeout so the error says so rather than 'socket hang up'. */
interface RequestState {
  timedOut: boolean;
}

/** Sends a GET and waits for the answer's headers. */
function get(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  entry: WeightsEntry,
  file: string,
): Promise<{ req: http.ClientRequest & { state: RequestState }; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const state: RequestState = { timedOut: false };
    const req = client.get(url, { headers: { 'User-Agent': 'maskrcnn-tfjs', ...headers }, timeout: timeoutMs, agent: false }, (res) => {
      resolve({ req: Object.assign(req, { state }), res });
    });
    req.on('timeout', () => {
      state.timedOut = true;
      req.destroy(new Error(`no data for ${timeoutMs / 1000} s`));
    });
    req.on('error', (e) => {
      const why = state.timedOut ? `no answer for ${timeoutMs / 1000} s (timeoutMs)` : e.message;
      reject(new Error(`Error in ${FN}: GET ${url} failed: ${why}; ${offlineHint(entry, file)}`, { cause: e }));
    });
  });
}

function offlineHint(entry: WeightsEntry, file: string): string {
  return `to work offline, copy ${entry.fileName} (from ${entry.url}) to ${file}`;
}

interface BodyTarget {
  readonly entry: WeightsEntry;
  readonly url: string;
  readonly file: string;
  readonly partial: string;
  /** The byte the body starts at; the partial file is cut to this length first. */
  readonly offset: number;
  readonly total: number | undefined;
  readonly o: CheckedOptions;
}

/** Writes a response body into the partial file at its offset, then fsyncs it. */
async function writeBody(req: http.ClientRequest & { state: RequestState }, res: http.IncomingMessage, t: BodyTarget): Promise<void> {
  const { partial, offset, total, o } = t;
  if (total !== undefined) await checkFreeSpace(path.dirname(partial), total - offset, res);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(partial, offset > 0 ? 'r+' : 'w');
    if (offset > 0) await handle.truncate(offset);
  } catch (e) {
    res.destroy();
    throw diskError('write', partial, e);
  }
  let received = offset;
  const progress = () => o.onProgress?.({ name: t.entry.name, url: t.url, file: t.file, receivedBytes: received, totalBytes: total, resumedFrom: offset });
  try {
    progress();
    const chunks = res[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = (await chunks.next()) as IteratorResult<Buffer>;
      } catch (e) {
        const why = req.state.timedOut ? `no data for ${o.timeoutMs / 1000} s (timeoutMs)` : (e as Error).message;
        throw new Error(`Error in ${FN}: GET ${t.url} stopped after ${describeBytes(received, total)}: ${why}; ${partial} is kept and the next call resumes it`, { cause: e });
      }
      if (next.done) break;
      const chunk = next.value;
      try {
        await handle.write(chunk, 0, chunk.length, received);
      } catch (e) {
        res.destroy();
        throw diskError('write', partial, e);
      }
      received += chunk.length;
      progress();
    }
    if (total !== undefined && received !== total) {
      throw new Error(
        `Error in ${FN}: GET ${t.url}: the connection closed after ${describeBytes(received, total)}; ${partial} is kept and the next call resumes it`,
      );
    }
    try {
      await handle.sync();
    } catch (e) {
      throw diskError('write', partial, e);
    }
  } finally {
    if (!res.complete) res.destroy();
    await handle.close().catch(() => undefined);
  }
}

function describeBytes(received: number, total: number | undefined): string {
  return total === undefined ? `${received} bytes` : `${received} of ${total} bytes`;
}

/** Fails early when the disk cannot hold the rest of the file (where statfs exists). */
async function checkFreeSpace(dir: string, needed: number, res: http.IncomingMessage): Promise<void> {
  let free: number;
  try {
    const s = await fsp.statfs(dir);
    free = s.bavail * s.bsize;
  } catch {
    return; // no statfs here: the writes will say
  }
  if (needed > free) {
    res.destroy();
    throw new Error(`Error in ${FN}: not enough space in ${dir}: the download needs ${mb(needed)} more, ${mb(free)} are free (ENOSPC)`);
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** An error naming the path and the system's reason (ENOSPC, EACCES, ...), with its code kept. */
function diskError(what: string, p: string, e: unknown): Error {
  const cause = e as NodeJS.ErrnoException;
  const err: NodeJS.ErrnoException = new Error(`Error in ${FN}: cannot ${what} ${p}: ${cause.message}`, { cause: e });
  if (cause.code !== undefined) err.code = cause.code;
  return err;
}

/** Bytes of a `.partial` to resume from; 0 when there is none. */
async function partialSize(partial: string): Promise<number> {
  try {
    const s = await fsp.stat(partial);
    if (!s.isFile()) throw new Error(`Error in ${FN}: ${partial} exists and is not a file; remove it`);
    return s.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** sha256 of a file as it lies on disk, hex. */
function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (b) => hash.update(b))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', (e) => reject(diskError('read', file, e)));
  });
}

/** A held `.lock` file, refreshed while held so that waiters can tell a live holder from a dead one. */
interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes `lockPath`, waiting while another live process holds it; resolves undefined instead when
 * `file` appears meanwhile (the other process finished it).
 */
async function acquireLock(lockPath: string, file: string): Promise<HeldLock | undefined> {
  const token = randomBytes(8).toString('hex');
  const content = JSON.stringify({ pid: process.pid, host: os.hostname(), token, since: new Date().toISOString() });
  for (;;) {
    try {
      await fsp.writeFile(lockPath, content, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw diskError('create', lockPath, e);
    }
    if (await isFile(file)) return undefined;
    if (await isStaleLock(lockPath)) {
      // Renamed aside before deletion, so that of two processes breaking it only one succeeds.
      const aside = `${lockPath}.stale-${token}`;
      await fsp.rename(lockPath, aside).then(
        () => fsp.rm(aside, { force: true }),
        () => undefined,
      );
      continue;
    }
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
  }
  const refresh = setInterval(() => {
    const now = new Date();
    fsp.utimes(lockPath, now, now).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  refresh.unref();
  return {
    async release() {
      clearInterval(refresh);
      const held = await fsp.readFile(lockPath, 'utf8').catch(() => '');
      if (held === content) await fsp.rm(lockPath, { force: true });
    },
  };
}

/** A lock of a process of this host that has exited, or one not refreshed for {@link LOCK_STALE_MS}. */
async function isStaleLock(lockPath: string): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([fsp.readFile(lockPath, 'utf8'), fsp.stat(lockPath).then((s) => s.mtimeMs)]);
  } catch {
    return false; // gone already: the next attempt takes it
  }
  if (Date.now() - mtimeMs > LOCK_STALE_MS) return true;
  try {
    const { pid, host } = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (host === os.hostname() && typeof pid === 'number' && Number.isInteger(pid) && pid > 0) return !isProcessAlive(pid);
  } catch {
    // Being written this very moment (created, not yet filled): not stale.
  }
  return false;
}

