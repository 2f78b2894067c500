/**
 * How the commands show a download: a progress bar on stderr when it is a terminal, otherwise a
 * line when it starts and one per quarter, so that logs stay short. The library itself is quiet.
 */
import { SingleBar } from 'cli-progress';
import type { DownloadOptions, DownloadProgress } from '../io/download';

/** A stream like process.stderr: written to, maybe a terminal. */
export interface ProgressStream {
  write(text: string): boolean;
  readonly isTTY?: boolean;
}

/**
 * Runs `task` with download options that report progress on `stream`, and stops the bar however
 * the task ends.
 *
 * @example
 * ```ts
 * const model = await withDownloadProgress((download) => load('maskrcnn_resnet50_fpn_coco', { download }));
 * ```
 */
export async function withDownloadProgress<T>(
  task: (download: DownloadOptions) => Promise<T>,
  stream: ProgressStream = process.stderr,
  base: DownloadOptions = {},
): Promise<T> {
  let bar: SingleBar | undefined;
  let quarter = -1;
  const onProgress = (p: DownloadProgress): void => {
    const total = p.totalBytes;
    if (stream.isTTY === true) {
      if (bar === undefined) {
        bar = new SingleBar({
          format: `download ${p.name} [{bar}] {percentage}% | {got}/{size} MB | ETA {eta_formatted}`,
          stream: stream as NodeJS.WritableStream,
          hideCursor: true,
        });
        bar.start(total ?? 0, p.receivedBytes, { got: megabytes(p.receivedBytes), size: total === undefined ? '?' : megabytes(total) });
      }
      bar.update(p.receivedBytes, { got: megabytes(p.receivedBytes) });
      return;
    }
    if (quarter < 0) {
      const size = total === undefined ? '' : ` (${megabytes(total)} MB)`;
      const resumed = p.resumedFrom > 0 ? `, resuming at ${megabytes(p.resumedFrom)} MB` : '';
      stream.write(`downloading ${p.url}${size}${resumed}\n  into ${p.file}\n`);
      quarter = 0;
    }
    if (total === undefined || total === 0) return;
    const q = Math.floor((4 * p.receivedBytes) / total);
    if (q > quarter) {
      quarter = q;
      stream.write(`  ${25 * q}% of ${megabytes(total)} MB\n`);
    }
  };
  try {
    return await task({ ...base, onProgress });
  } finally {
    bar?.stop();
  }
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
