/**
 * Crash-safe training checkpoints: model weights, optimizer slots, step, epoch, RNG state and
 * configuration, in one folder per checkpoint under a training directory.
 *
 * ```
 * run/
 *   latest                      "step-000300\n": the checkpoint to resume from
 *   step-000100/ step-000200/ step-000300/
 *     checkpoint.json           manifest: step, epoch, rng, configs, optimizer layout, and the
 *                               size + sha256 of every other file (and of itself)
 *     optimizer.bin             optimizer arrays, float32 little-endian, back to back
 *     weights/model.json        the model in our native format (see io/native_weights.ts)
 *     weights/group1-shard*.bin
 * ```
 *
 * Crash safety in one sentence: a checkpoint is filled in a temporary folder, fsynced and renamed
 * into place, only then does `latest` move (temporary file, fsync, rename), every file is checked
 * against the sha256 manifest when loaded, and a damaged or missing one falls back to the newest
 * checkpoint that verifies. Older checkpoints are deleted (keeping the newest `keep`) only after
 * the new one is in place, and only folders whose names and manifests are ours.
 *
 * One concept per file:
 * - run_folder.ts: the names in a training directory and the `latest` pointer;
 * - manifest.ts: checkpoint.json, its checksums, and the verification of every file;
 * - optimizer_state.ts: the optimizer record and the layout of optimizer.bin;
 * - retention.ts: which checkpoints are kept, and the clean-up of interrupted saves;
 * - save.ts / load.ts: writing one, and reading one back (with the fall back).
 * The all-or-nothing writes themselves are io/atomic_file.ts's.
 *
 * The trainer's final model (`outputDir/model/`) hard-links the weight shards of the last
 * checkpoint rather than storing them again (see `Trainer.saveModel`). Nothing writes into a file
 * once its checkpoint is committed (saves rename, retention unlinks), so the link changes neither
 * copy; a tool that edits model/'s shards in place would change the checkpoint's too, and its
 * sha256 check would then refuse it and fall back to the checkpoint before.
 */
export { CHECKPOINT_FORMAT, CHECKPOINT_MANIFEST, CHECKPOINT_VERSION, type CheckpointFileEntry, type CheckpointManifest } from './manifest';
export { CHECKPOINT_WEIGHTS_DIR, LATEST_POINTER, checkpointName, listCheckpoints } from './run_folder';
export type { OptimizerArray, OptimizerArrayEntry, OptimizerStateRecord } from './optimizer_state';
export { optimizerStateFromRecord, optimizerStateToRecord } from './optimizer_state';
export { type CheckpointContent, type CheckpointProgress, type SaveCheckpointOptions, saveCheckpoint } from './save';
export { type LoadedCheckpoint, latestCheckpoint, loadCheckpoint } from './load';
export type { LoadedWeightsInfo } from '../../io/native_weights';
