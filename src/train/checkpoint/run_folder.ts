/**
 * How a training directory names its checkpoints: `step-NNNNNN/` folders and the `latest` pointer
 * file that names the one to resume from (see index.ts for the whole layout).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../../io/atomic_file';

/** Name of the pointer file in the training directory. */
export const LATEST_POINTER = 'latest';

/**
 * The folder of a checkpoint that holds its weights (model.json + shards, loadable with `load`).
 *
 * @example
 * ```ts
 * const weights = path.join('runs/a/step-000500', CHECKPOINT_WEIGHTS_DIR);
 * ```
 */
export const CHECKPOINT_WEIGHTS_DIR = 'weights';

/** The optimizer arrays' file inside a checkpoint folder. */
export const OPTIMIZER_FILE = 'optimizer.bin';

const STEP_DIR = /^step-(\d{6,})$/;

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

/** Whether `name` is a checkpoint folder's name (`step-NNNNNN`). */
export function isCheckpointName(name: string): boolean {
  return STEP_DIR.test(name);
}

/** One `step-NNNNNN` folder of a training directory. */
export interface StepFolder {
  readonly name: string;
  readonly step: number;
}

/**
 * The `step-NNNNNN` folders of `root`, newest step first (names only, not verified); none when
 * `root` does not exist.
 */
export async function stepFolders(root: string): Promise<StepFolder[]> {
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

/** The folder name `root/latest` holds, trimmed; undefined when there is no pointer. */
export async function readLatestPointer(root: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(path.join(root, LATEST_POINTER), 'utf8')).trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return undefined;
  }
}

/** Points `root/latest` at checkpoint folder `name`, atomically. */
export async function writeLatestPointer(root: string, name: string): Promise<void> {
  await writeFileAtomic(path.join(root, LATEST_POINTER), `${name}\n`);
}
