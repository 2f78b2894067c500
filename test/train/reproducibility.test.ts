/**
 * Same seed, same config: bit-identical losses (issue 10). The model is built from scratch with
 * torchvision's initialisers (no injected builder), so the run's seed must reach the initial
 * weights as well as the loader, the transforms and both samplers. Another seed gives another
 * step-1 loss. Shapes dataset, 64 px, batch 1, wasm with our training kernels.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../../src/data';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { LOSS_NAMES } from '../../src/losses/names';
import type { TrainConfig } from '../../src/train/train_config';
import { Trainer } from '../../src/train/trainer';
import { useBackend } from '../support/backends';

const STEPS = 20;
let root: string;
let data: { annotationFile: string; imagesDir: string };

function config(name: string, seed: number, maxSteps: number): TrainConfig {
  return {
    train: data,
    outputDir: path.join(root, name),
    minSizes: [64],
    maxSize: 96,
    batchSize: 1,
    trainableBackboneLayers: 0,
    rpnPreNmsTopN: 100,
    rpnPostNmsTopN: 100,
    rpnBatchSizePerImage: 64,
    roiBatchSizePerImage: 32,
    lr: 1e-3,
    flipProbability: 0.5,
    seed,
    maxSteps,
    checkpointEvery: maxSteps + 1,
    keep: 1,
  };
}

/** The five losses of every step, flattened. */
async function lossesOf(c: TrainConfig): Promise<number[]> {
  const out: number[] = [];
  const trainer = await Trainer.create(c, { onStep: (s) => out.push(...LOSS_NAMES.map((k) => s.losses[k])) });
  try {
    await trainer.run();
  } finally {
    trainer.dispose();
  }
  return out;
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-test-'));
  const ds = await generateShapesDataset({ outDir: path.join(root, 'shapes'), numImages: 12, width: [64, 90], height: 64, seed: 1, shapesPerImage: [1, 3], sizeRange: [0.25, 0.5] });
  data = { annotationFile: ds.annotationFile, imagesDir: ds.imagesDir };
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test(`the same seed twice: bit-identical losses over ${STEPS} steps; another seed: another start`, async () => {
  const before = tf.memory().numTensors;
  const a = await lossesOf(config('a', 4, STEPS));
  const b = await lossesOf(config('b', 4, STEPS));
  const c = await lossesOf(config('c', 5, 1));
  expect(tf.memory().numTensors).toBe(before);
  expect(a).toHaveLength(STEPS * LOSS_NAMES.length);
  expect(a.every(Number.isFinite)).toBe(true);
  const differing = a.map((v, i) => (Object.is(v, b[i]) ? -1 : i)).filter((i) => i >= 0);
  expect(differing).toEqual([]);
  expect(c.slice(0, LOSS_NAMES.length)).not.toEqual(a.slice(0, LOSS_NAMES.length));
});
