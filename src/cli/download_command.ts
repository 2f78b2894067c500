/**
 * `maskrcnn download`: fetches published checkpoints into the cache ahead of time (for a machine
 * that will be offline, or a container image), or lists them with their accuracy and whether
 * they are cached.
 */
import { Command } from 'commander';
import { cachedWeightsPath, downloadWeights, weightsCacheDir } from '../io/download';
import { WEIGHTS_REGISTRY, type WeightsEntry } from '../io/weights_registry';
import { withDownloadProgress, type ProgressStream } from './download_progress';
import { numberIn } from './model_options';

/** Options of {@link runDownload}. */
export interface DownloadCommandOptions {
  /** Registered names (or entries) to download; none lists them instead. */
  names: ReadonlyArray<string | WeightsEntry>;
  /** List the registered checkpoints and where they are cached, download nothing. */
  list?: boolean;
  /** Folder of the files; default `$MASKRCNN_HOME/checkpoints` (see `weightsCacheDir`). */
  cacheDir?: string;
  /** Mirror to download from instead of download.pytorch.org; default `MASKRCNN_WEIGHTS_URL`. */
  baseUrl?: string;
  /** Seconds without data before giving up; default 30. */
  timeout?: number;
}

/**
 * Downloads each named checkpoint unless it is cached and returns the paths; with no names (or
 * `list`), prints the registered checkpoints instead and returns the cached ones.
 *
 * @example
 * ```ts
 * const [file] = await runDownload({ names: ['maskrcnn_resnet50_fpn_coco'] });
 * await runDownload({ names: [], list: true }); // name, AP, cached or not
 * ```
 */
export async function runDownload(
  o: DownloadCommandOptions,
  log: (line: string) => void = console.log,
  progress: ProgressStream = process.stderr,
): Promise<string[]> {
  const cache = { cacheDir: o.cacheDir };
  if (o.list === true || o.names.length === 0) {
    log(`cache: ${weightsCacheDir(cache)}`);
    const found: string[] = [];
    for (const e of Object.values(WEIGHTS_REGISTRY)) {
      const file = cachedWeightsPath(e, cache);
      if (file !== undefined) found.push(file);
      const ap = e.metrics === undefined ? '' : `  box AP ${e.metrics.boxAp}, mask AP ${e.metrics.maskAp} (${e.metrics.dataset})`;
      log(`${e.name}${ap}`);
      log(`  ${file !== undefined ? `cached: ${file}` : `not downloaded: ${e.url}`}`);
      if (e.unsupported !== undefined) log(`  downloads, but does not load: ${e.unsupported}`);
    }
    return found;
  }
  const files: string[] = [];
  for (const name of o.names) {
    const timeoutMs = o.timeout === undefined ? undefined : o.timeout * 1000;
    const file = await withDownloadProgress((d) => downloadWeights(name, d), progress, { ...cache, baseUrl: o.baseUrl, timeoutMs });
    log(file);
    files.push(file);
  }
  return files;
}

/**
 * Adds `download` to the `maskrcnn` program.
 *
 * @example
 * ```ts
 * const program = new Command('maskrcnn');
 * registerDownloadCommand(program);
 * await program.parseAsync(['node', 'maskrcnn', 'download', 'maskrcnn_resnet50_fpn_coco']);
 * ```
 */
export function registerDownloadCommand(program: Command): void {
  program
    .command('download')
    .description('download published checkpoints into the cache (no names: list them)')
    .argument('[names...]', `checkpoint names: ${Object.keys(WEIGHTS_REGISTRY).join(', ')}`)
    .option('--list', 'list the checkpoints, their accuracy and whether they are cached')
    .option('--cache-dir <dir>', 'folder of the files (default: $MASKRCNN_HOME/checkpoints, ~/.cache/maskrcnn-tfjs/checkpoints)')
    .option('--base-url <url>', 'download from this mirror instead (default: MASKRCNN_WEIGHTS_URL or download.pytorch.org)')
    .option('--timeout <s>', 'seconds without data before giving up (default 30)', numberIn(0.001, 86400))
    .action(async (names: string[], opts: Omit<DownloadCommandOptions, 'names'>) => {
      await runDownload({ ...opts, names });
    });
}
