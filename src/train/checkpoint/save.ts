/**
 * Saving a checkpoint, crash-safely: the folder is filled under a temporary name, every file in
 * it fsynced, and renamed into place (io/atomic_file.ts's writeFolderAtomic); only then does
 * `latest` move (writeFileAtomic), and only then are old checkpoints pruned. A crash or SIGKILL
 * at any point leaves the previous checkpoint and `latest` intact; the next save clears the
 * leftovers. One save at a time per directory: a second concurrent save to the same directory
 * from this process is rejected.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { writeFolderAtomic, writeSynced } from '../../io/atomic_file';
import { NodeFileHandler } from '../../io/file_handler';
import { saveWeights } from '../../io/native_weights';
import { TorchLayer } from '../../nn/torch_layer';
import type { RngState } from '../../util/random';
import { CHECKPOINT_FORMAT, CHECKPOINT_MANIFEST, CHECKPOINT_VERSION, checkRngState, describeFiles, isOurCheckpoint, listFiles, sealManifest } from './manifest';
import { type OptimizerLayout, type OptimizerStateRecord, layoutOptimizerState, optimizerFileChunks } from './optimizer_state';
import { pruneCheckpoints, removeSaveLeftovers } from './retention';
import { CHECKPOINT_WEIGHTS_DIR, OPTIMIZER_FILE, checkpointName, writeLatestPointer } from './run_folder';

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

function checkCount(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`Error in saveCheckpoint: ${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

/** Roots with a save in progress in this process (one save at a time per root). */
const savingRoots = new Set<string>();

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
  const optimizer = layoutOptimizerState(content.optimizerState);
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
  readonly optimizer: OptimizerLayout;
  readonly metrics: Record<string, number | null>;
  readonly content: CheckpointContent;
  readonly progress: (event: CheckpointProgress) => void | Promise<void>;
}

async function writeCheckpoint(job: SaveJob): Promise<string> {
  const { root, step, progress } = job;
  await fs.mkdir(root, { recursive: true });
  await removeSaveLeftovers(root);
  const name = checkpointName(step);
  const finalDir = path.join(root, name);
  // A same-step checkpoint of ours (a rerun from an earlier point) is replaced; anything else by
  // that name is refused before a byte is written.
  if ((await fs.lstat(finalDir).catch(() => undefined)) !== undefined && !(await isOurCheckpoint(finalDir))) {
    throw new Error(`Error in saveCheckpoint: ${finalDir} exists and is not a checkpoint written by saveCheckpoint; not replacing it`);
  }
  await writeFolderAtomic(finalDir, (tempDir) => fillCheckpoint(tempDir, job), { replace: true });
  await progress({ stage: 'folder-committed', dir: finalDir });
  await writeLatestPointer(root, name);
  await progress({ stage: 'latest-updated', dir: finalDir });
  await pruneCheckpoints(root, job.keep, name);
  return finalDir;
}

/** Writes the weights, the optimizer file and, last, the manifest of every other file. */
async function fillCheckpoint(tempDir: string, job: SaveJob): Promise<void> {
  const { step, epoch, rngState, optimizer, metrics, content, progress } = job;
  await progress({ stage: 'started', tempDir });
  const weightsDir = path.join(tempDir, CHECKPOINT_WEIGHTS_DIR);
  await saveWeights(content.model, new NodeFileHandler(weightsDir), { config: content.modelConfig, metadata: { step, epoch } });
  for (const rel of await listFiles(weightsDir)) {
    const bytes = (await fs.stat(path.join(weightsDir, rel))).size;
    await progress({ stage: 'file-written', file: `${CHECKPOINT_WEIGHTS_DIR}/${rel}`, bytes });
  }
  const optBytes = await writeSynced(path.join(tempDir, OPTIMIZER_FILE), optimizerFileChunks(optimizer.arrays));
  await progress({ stage: 'file-written', file: OPTIMIZER_FILE, bytes: optBytes });

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
    files: await describeFiles(tempDir),
  });
  const manifestBytes = await writeSynced(path.join(tempDir, CHECKPOINT_MANIFEST), manifest);
  await progress({ stage: 'file-written', file: CHECKPOINT_MANIFEST, bytes: manifestBytes });
}
