/**
 * What the shipped demo model is: its architecture, the images it was trained on, and the seeds
 * of its training and test sets. Shared by the training script, the export, the demo and the
 * tests that hold the shipped model to its figures.
 */
import type { MaskRCNNConfig } from '../../src/model/mask_rcnn';

/** ResNet-18-FPN with 64 FPN channels and light heads: 12.5 M floats. */
export const DEMO_MODEL_CONFIG = {
  depth: 18,
  fpnChannels: 64,
  representationSize: 256,
  maskLayers: [64, 64, 64, 64],
  maskDimReduced: 64,
} as const satisfies MaskRCNNConfig;

/**
 * The shapes images: 192 x 144 (a training step on two of them takes about 2 s on one wasm
 * thread), one to four shapes of 12-32% of the short side each.
 */
export const DEMO_IMAGE = { width: 192, height: 144, shapesPerImage: [1, 4], sizeRange: [0.12, 0.32] } as const;

/** Seeds of the training set, the held-out set, the training run, and the test sets. */
export const DEMO_SEEDS = { train: 1100, heldOut: 2200, training: 11, recallTest: 3300, apTest: 4400 } as const;
