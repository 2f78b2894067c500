/**
 * What a training directory keeps: the newest `keep` checkpoints by step, and nothing that an
 * interrupted save left behind. Only what is provably ours is ever deleted: folders whose names
 * and manifests are our checkpoints', and temporary names of our checkpoints and of `latest`.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { removeStaleTemps } from '../../io/atomic_file';
import { isOurCheckpoint } from './manifest';
import { LATEST_POINTER, isCheckpointName, stepFolders } from './run_folder';

/**
 * Removes the temporary folders and pointer files of saves that no longer run (a killed process,
 * or an earlier save of this one that failed), and moves back a checkpoint that a same-step
 * replacement moved aside and never replaced.
 */
export async function removeSaveLeftovers(root: string): Promise<void> {
  await removeStaleTemps(root, (target) => isCheckpointName(target) || target === LATEST_POINTER);
}

/**
 * Deletes our checkpoints of `root` beyond the newest `keep` by step, never `current` (the one
 * just saved, which a rerun from an earlier point may have given a lower step than others).
 * Folders of other names, or without our manifest, neither count nor go.
 */
export async function pruneCheckpoints(root: string, keep: number, current: string): Promise<void> {
  const ours: string[] = [];
  for (const f of await stepFolders(root)) if (await isOurCheckpoint(path.join(root, f.name))) ours.push(f.name);
  for (const old of ours.slice(keep)) {
    if (old !== current) await fs.rm(path.join(root, old), { recursive: true, force: true });
  }
}
