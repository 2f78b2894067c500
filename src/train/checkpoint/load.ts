/**
 * Loading a checkpoint: every file verified against the manifest before anything is used, and,
 * for a training directory, a fall back to the newest checkpoint that verifies when the one
 * `latest` names is missing or damaged.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { NodeFileHandler } from '../../io/file_handler';
import { type LoadedWeightsInfo, applyWeightsArtifacts, readWeightsArtifacts } from '../../io/native_weights';
import type { TorchLayer } from '../../nn/torch_layer';
import { CHECKPOINT_MANIFEST, type CheckpointManifest, checkRngState, readManifest, verifyFiles } from './manifest';
import { type OptimizerStateRecord, decodeOptimizerState } from './optimizer_state';
import { CHECKPOINT_WEIGHTS_DIR, LATEST_POINTER, isCheckpointName, readLatestPointer, stepFolders } from './run_folder';

/** A verified checkpoint, read into memory: its manifest's fields, the optimizer state and the weights. */
export interface LoadedCheckpoint extends Pick<CheckpointManifest, 'step' | 'epoch' | 'rngState' | 'modelConfig' | 'trainConfig' | 'metrics'> {
  /** Absolute path of the checkpoint folder. */
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  readonly optimizerState: OptimizerStateRecord;
  /** Why a checkpoint other than the one `latest` names was chosen; empty when none. */
  readonly warnings: readonly string[];
  /** Writes the saved weights into `model` (all or nothing; keys and shapes must match). */
  applyWeights(model: TorchLayer): LoadedWeightsInfo;
}

/** Loads and verifies one checkpoint folder. */
async function loadFolder(ckptDir: string, warnings: readonly string[]): Promise<LoadedCheckpoint> {
  const stat = await fs.stat(ckptDir).catch(() => undefined);
  if (stat === undefined) throw new Error(`Error in loadCheckpoint: ${ckptDir} does not exist`);
  if (!stat.isDirectory()) throw new Error(`Error in loadCheckpoint: ${ckptDir} is not a folder`);
  const manifest = await readManifest(ckptDir);
  const contents = await verifyFiles(ckptDir, manifest);
  const optimizerFile = path.join(ckptDir, manifest.optimizer.file);
  const optimizerBytes = contents.get(manifest.optimizer.file);
  if (optimizerBytes === undefined) throw new Error(`Error in loadCheckpoint: ${optimizerFile} is not listed in the manifest`);
  const optimizerState = decodeOptimizerState(optimizerFile, optimizerBytes, manifest.optimizer.scalars, manifest.optimizer.arrays);
  const modelJson = path.join(ckptDir, CHECKPOINT_WEIGHTS_DIR, 'model.json');
  const artifacts = await readWeightsArtifacts(new NodeFileHandler(modelJson));
  const rngState = checkRngState(`Error in loadCheckpoint: ${path.join(ckptDir, CHECKPOINT_MANIFEST)}`, manifest.rngState);
  return {
    dir: ckptDir,
    manifest,
    step: manifest.step,
    epoch: manifest.epoch,
    rngState,
    modelConfig: manifest.modelConfig,
    trainConfig: manifest.trainConfig,
    metrics: manifest.metrics,
    optimizerState,
    warnings,
    applyWeights: (model: TorchLayer) => applyWeightsArtifacts(model, artifacts, modelJson),
  };
}

/**
 * The checkpoint to resume from in training directory `dir`: the one `dir/latest` names, or,
 * when `latest` is missing or names a damaged or missing folder, the newest checkpoint that
 * verifies (the reason is in `warnings`). Undefined when `dir` holds no checkpoint at all;
 * throws, naming every damaged file, when checkpoints exist but none verifies.
 *
 * @example
 * ```ts
 * const ckpt = await latestCheckpoint('runs/coco');
 * if (ckpt) { ckpt.applyWeights(model); optimizer.setState(ckpt.optimizerState); rng.setState(ckpt.rngState); }
 * ```
 */
export async function latestCheckpoint(dir: string): Promise<LoadedCheckpoint | undefined> {
  const root = path.resolve(dir);
  const warnings: string[] = [];
  const failures: string[] = [];
  const pointed = await readLatestPointer(root);
  const folders = await stepFolders(root);
  if (pointed !== undefined) {
    if (!isCheckpointName(pointed)) {
      warnings.push(`${path.join(root, LATEST_POINTER)} names '${pointed}', which is not a checkpoint folder name`);
    } else {
      try {
        return await loadFolder(path.join(root, pointed), warnings);
      } catch (e) {
        const why = (e as Error).message;
        warnings.push(`${path.join(root, LATEST_POINTER)} names ${pointed}, which cannot be used: ${why}`);
        failures.push(why);
      }
    }
  } else if (folders.length > 0) {
    warnings.push(`${path.join(root, LATEST_POINTER)} is missing; using the newest checkpoint that verifies`);
  }
  for (const f of folders) {
    if (f.name === pointed) continue;
    try {
      return await loadFolder(path.join(root, f.name), warnings);
    } catch (e) {
      warnings.push(`skipped ${f.name}: ${(e as Error).message}`);
      failures.push((e as Error).message);
    }
  }
  if (failures.length === 0) return undefined;
  throw new Error(`Error in latestCheckpoint: no checkpoint in ${root} verifies:\n  ${failures.join('\n  ')}`);
}

/**
 * Loads a checkpoint: `path` is either one checkpoint folder (`.../step-000123`, loaded strictly,
 * no fallback) or a training directory (resolved with {@link latestCheckpoint}). Every file is
 * verified against the manifest's sizes and sha256 sums; damage throws an error naming the file.
 *
 * @example
 * ```ts
 * const ckpt = await loadCheckpoint('runs/coco/step-000300');
 * const model = withoutInitialization(() => buildModel(ckpt.modelConfig));
 * ckpt.applyWeights(model);
 * ```
 */
export async function loadCheckpoint(dirOrCheckpoint: string): Promise<LoadedCheckpoint> {
  if (typeof dirOrCheckpoint !== 'string' || dirOrCheckpoint === '') {
    throw new Error('Error in loadCheckpoint: expected a checkpoint folder or training directory path');
  }
  const p = path.resolve(dirOrCheckpoint);
  const isFolder =
    isCheckpointName(path.basename(p)) ||
    (await fs.access(path.join(p, CHECKPOINT_MANIFEST)).then(
      () => true,
      () => false,
    ));
  if (isFolder) return loadFolder(p, []);
  const found = await latestCheckpoint(p);
  if (found === undefined) throw new Error(`Error in loadCheckpoint: ${p} holds no checkpoint (no ${LATEST_POINTER} file and no step-NNNNNN folder)`);
  return found;
}
