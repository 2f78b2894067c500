/**
 * The model that ships in the package's weights/ folder: Mask R-CNN with a ResNet-18-FPN
 * backbone, trained from scratch by this project (`npm run train:demo`) on the synthetic shapes
 * dataset. It finds circles, squares, triangles and stars, and exists so that
 * the library can be seen working without a download; weights/README.md has its figures.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { MaskRCNNConfig } from '../model/mask_rcnn';
import type { ShapesRenderOptions } from '../data/shapes';
import { load, LoadOptions, MaskRCNNModel } from './model';

/**
 * The shipped model's folder name under weights/.
 *
 * @example
 * ```ts
 * console.log(SHIPPED_MODEL_NAME); // 'shapes-r18'
 * ```
 */
export const SHIPPED_MODEL_NAME = 'shapes-r18';

/**
 * Its architecture: ResNet-18 (basic blocks), 64 FPN channels, a 256-unit box head, four 64-channel
 * mask convs and a 64-channel mask predictor; 12.5 M floats, each stage tested against
 * torchvision built from the same parts.
 *
 * @example
 * ```ts
 * const untrained = new MaskRCNN({ ...SHIPPED_MODEL_CONFIG, numClasses: 7 });
 * ```
 */
export const SHIPPED_MODEL_CONFIG = {
  depth: 18,
  fpnChannels: 64,
  representationSize: 256,
  maskLayers: [64, 64, 64, 64],
  maskDimReduced: 64,
} as const satisfies MaskRCNNConfig;

/**
 * The images it was trained on (and that the demo generates): 192 x 144, one to four shapes of
 * 12-32% of the short side each, of four kinds (circle, square, triangle, star); the generator's
 * other defaults.
 *
 * @example
 * ```ts
 * await generateShapesDataset({ outDir: 'shapes', numImages: 8, ...SHIPPED_MODEL_IMAGES });
 * ```
 */
export const SHIPPED_MODEL_IMAGES = {
  width: 192,
  height: 144,
  shapesPerImage: [1, 4],
  sizeRange: [0.12, 0.32],
  kinds: ['circle', 'square', 'triangle', 'star'],
} as const satisfies ShapesRenderOptions;

/**
 * Seeds of its training set, held-out set and training run, and of the two test sets its figures
 * are measured on (none of them overlap).
 *
 * @example
 * ```ts
 * await generateShapesDataset({ outDir: 'test', numImages: 100, seed: SHIPPED_MODEL_SEEDS.apTest, ...SHIPPED_MODEL_IMAGES });
 * ```
 */
export const SHIPPED_MODEL_SEEDS = { train: 1100, heldOut: 2200, training: 11, recallTest: 3300, apTest: 4400 } as const;

/**
 * Path of the shipped model's folder (model.json and shards) inside the installed package.
 *
 * @example
 * ```ts
 * const model = await load(shippedModelPath());
 * ```
 */
export function shippedModelPath(): string {
  // src/api and dist/api are two levels below the package root, build/src/api (npm run build:all) three.
  const candidates = [2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..'), 'weights', SHIPPED_MODEL_NAME));
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'model.json'))) ?? candidates[0];
}

/**
 * Loads the shipped shapes model.
 *
 * @throws Error naming the folder when the package's weights/ folder is missing.
 * @example
 * ```ts
 * const model = await loadShippedModel();
 * const [p] = await model.predict('shapes.png');
 * ```
 */
export async function loadShippedModel(options: LoadOptions = {}): Promise<MaskRCNNModel> {
  const dir = shippedModelPath();
  if (!fs.existsSync(path.join(dir, 'model.json'))) {
    throw new Error(`Error in loadShippedModel: ${dir}/model.json is missing; the package's weights/ folder is incomplete (reinstall, or run npm run train:demo)`);
  }
  return load(dir, options);
}
