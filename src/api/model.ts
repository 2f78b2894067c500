/**
 * The public face of the library: `load` / `fromTorchvision` factories and a model object with
 * `predict()` and `dispose()` returning plain typed objects (no tensors to free).
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { BackendChoice, selectBackend } from '../backend';
import { DEFAULT_MAX_PIXELS, readImage } from '../data/image_io';
import { loadStateDict, LoadReport } from '../io/state_dict';
import { readTorchStateDict, StateDict } from '../io/torch_checkpoint';
import { applyWeightsArtifacts, configOf, readWeightsArtifacts, saveWeights } from '../io/native_weights';
import { withoutInitialization } from '../nn/torch_layer';
import { MaskCrop } from '../postprocess/paste_masks';
import { DetectionMask, MaskFormat, MaskOfFormat, maskToCocoRle } from './detection_masks';
import { COCO_CATEGORY_NAMES } from '../model/coco_names';
import { disposeMaskRCNNDetections, MaskRCNN, MaskRCNNConfig } from '../model/mask_rcnn';

/** Raw pixels, e.g. a browser ImageData (RGBA) or a decoded grayscale/RGB buffer. */
export interface PixelBuffer {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  /** 1 (gray), 3 (RGB) or 4 (RGBA, alpha dropped); default `data.length / (width * height)`. */
  readonly channels?: 1 | 3 | 4;
}

/**
 * An image to predict on: a `[H, W, 3]` tensor (int32 0-255 or float32 0-1), a file path
 * (PNG, JPEG, WebP, ... decoded by sharp, EXIF orientation applied), encoded file bytes, or
 * raw pixels.
 */
export type ImageInput = tf.Tensor3D | string | Uint8Array | PixelBuffer;

export type { CroppedMask, DetectionMask, FullMask, MaskFormat, MaskOfFormat, RleMask } from './detection_masks';
export { maskToCocoRle, maskToFull, maskToRle } from './detection_masks';

/** Options of {@link MaskRCNNModel.predict}; `F` is the format of the masks returned. */
export interface PredictOptions<F extends MaskFormat = MaskFormat> {
  /** Minimum class score of a detection (torchvision's box_score_thresh); default the model's (0.05). */
  scoreThreshold?: number;
  /** Probability above which a mask pixel is set; default 0.5. */
  maskThreshold?: number;
  /** Detections kept per image (torchvision's box_detections_per_img); default the model's (100). */
  maxDetections?: number;
  /**
   * Format of each detection's mask: `'cropped'` (default; the window of the image the mask
   * covers, about 1.15 bytes per pixel of the box), `'full'` (`height * width` bytes per
   * detection) or `'rle'` (COCO's compressed RLE string). See {@link DetectionMask}.
   */
  masks?: F;
  /**
   * Also return each detection's mask probabilities, covering the same pixels as the mask:
   * the window for `'cropped'`, the whole image for `'full'` and `'rle'`; default false.
   */
  returnProbabilities?: boolean;
  /**
   * Largest file or encoded image accepted, in pixels (width x height, read from the header
   * before decoding); default {@link DEFAULT_MAX_PIXELS} (50 megapixels). Tensors and pixel
   * buffers are already decoded and are not limited.
   */
  maxPixels?: number;
}

/**
 * One detected object; `M` is its mask's type ({@link CroppedMask} unless predict was asked for
 * another format).
 */
export interface Detection<M extends DetectionMask = DetectionMask> {
  /** `[x1, y1, x2, y2]` in original-image pixels. */
  readonly box: [number, number, number, number];
  readonly score: number;
  /** Class index, 1 .. numClasses - 1. */
  readonly label: number;
  /** The class name (COCO's by default). */
  readonly labelName: string;
  /** Binary mask, in the format asked for (default cropped to the window it covers). */
  readonly mask: M;
  /**
   * Mask probabilities, row-major, over the mask's window (`'cropped'`) or the whole image;
   * only with `returnProbabilities`.
   */
  readonly maskProbabilities?: Float32Array;
}

/** Everything found in one image; `M` is the type of its masks. */
export interface Prediction<M extends DetectionMask = DetectionMask> {
  /** Original image size. */
  readonly height: number;
  readonly width: number;
  /** By decreasing score. */
  readonly detections: Detection<M>[];
}

/** Options of {@link fromTorchvision} and {@link load}. */
export interface LoadOptions {
  /** Backend to run on (`auto`, `tensorflow-gpu`, `tensorflow`, `wasm`, `cpu`); default `MASKRCNN_BACKEND` or auto. */
  backend?: string;
  /** Class names indexed by label; default COCO's 91 (with 'N/A' gaps) or `class_N`. */
  classNames?: readonly string[];
  /** Model configuration; numClasses is read from the checkpoint when not given. */
  config?: MaskRCNNConfig;
  /**
   * torchvision checkpoints only: false loads the keys that fit and reports the others (to
   * fine-tune with another number of classes); default true.
   */
  strict?: boolean;
  /** Key of the state dict inside a training checkpoint (`model`, `state_dict`, ...). */
  checkpointKey?: string;
}

const PREDICT_OPTION_NAMES = ['scoreThreshold', 'maskThreshold', 'maxDetections', 'masks', 'returnProbabilities', 'maxPixels'];
const MASK_FORMATS: readonly string[] = ['cropped', 'full', 'rle'];

/**
 * A loaded Mask R-CNN.
 *
 * @example
 * ```ts
 * const model = await fromTorchvision('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
 * const [result] = await model.predict('street.jpg', { scoreThreshold: 0.5 });
 * for (const d of result.detections) console.log(d.labelName, d.score, d.box, d.mask.width, d.mask.height);
 * const [full] = await model.predict('street.jpg', { masks: 'full' }); // masks of height * width bytes
 * model.dispose();
 * ```
 */
export class MaskRCNNModel {
  constructor(
    /** The underlying layer; its stages can be run one by one (see {@link MaskRCNN.stages}). */
    readonly network: MaskRCNN,
    /** Names indexed by label. */
    readonly classNames: readonly string[],
    /** The backend chosen at load time. */
    readonly backend: BackendChoice | undefined,
    /** How the weights matched the checkpoint (torchvision checkpoints only). */
    readonly loadReport?: LoadReport,
  ) {}

  /**
   * Detects and segments objects; one {@link Prediction} per input image, its masks in the
   * format `options.masks` names (default cropped).
   */
  async predict<F extends MaskFormat = 'cropped'>(
    images: ImageInput | readonly ImageInput[],
    options: PredictOptions<F> = {},
  ): Promise<Prediction<MaskOfFormat<F>>[]> {
    const o = checkPredictOptions(options, this.network);
    const inputs = isSingleInput(images) ? [images] : [...images];
    if (inputs.length === 0) return [];
    const tensors: tf.Tensor3D[] = [];
    const owned: tf.Tensor3D[] = [];
    try {
      for (let i = 0; i < inputs.length; i++) {
        const t = await toTensor(inputs[i], i, o.maxPixels);
        tensors.push(t);
        if (t !== inputs[i]) owned.push(t);
      }
      const results = await this.network.forward(tensors, { scoreThresh: o.scoreThreshold, detectionsPerImg: o.maxDetections });
      try {
        const predictions = await Promise.all(results.map(async (r) => this.toPrediction(r.boxes, r.scores, r.labels, r.masks, r.imageSize, o)));
        return predictions as Prediction<MaskOfFormat<F>>[];
      } finally {
        disposeMaskRCNNDetections(results);
      }
    } finally {
      tf.dispose(owned);
    }
  }

  private async toPrediction(
    boxes: tf.Tensor2D,
    scores: tf.Tensor1D,
    labels: tf.Tensor1D,
    crops: MaskCrop[],
    [height, width]: [number, number],
    o: Required<PredictOptions>,
  ): Promise<Prediction> {
    const [b, s, l] = await Promise.all([boxes.data(), scores.data(), labels.data()]);
    const detections: Detection[] = crops.map((crop, i) => {
      const label = l[i];
      const mask = detectionMask(crop, height, width, o.maskThreshold, o.masks);
      const probs = !o.returnProbabilities ? undefined : o.masks === 'cropped' ? crop.probs : cropToProbabilities(crop, height, width);
      return {
        box: [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]],
        score: s[i],
        label,
        labelName: this.classNames[label] ?? `class_${label}`,
        mask,
        ...(probs ? { maskProbabilities: probs } : {}),
      };
    });
    return { height, width, detections };
  }

  /** Saves the weights and configuration as model.json + shards (loadable with {@link load}). */
  async save(location: string | tf.io.IOHandler): Promise<tf.io.SaveResult> {
    return saveWeights(this.network, location, {
      config: { ...this.network.config, numClasses: this.network.numClasses } as Record<string, unknown>,
      metadata: { classNames: [...this.classNames] },
    });
  }

  /** Frees every weight; the model cannot be used afterwards. */
  dispose(): void {
    this.network.dispose();
  }
}

function isSingleInput(x: ImageInput | readonly ImageInput[]): x is ImageInput {
  return !Array.isArray(x) || (x.length > 0 && typeof x[0] === 'number');
}

/** Options with defaults filled in: the model's own detection settings, mask threshold 0.5. */
function checkPredictOptions(options: PredictOptions, network: MaskRCNN): Required<PredictOptions> {
  for (const k of Object.keys(options)) {
    if (!PREDICT_OPTION_NAMES.includes(k)) {
      throw new Error(`Error in predict: unknown option '${k}'; valid options are ${PREDICT_OPTION_NAMES.join(', ')}`);
    }
  }
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PredictOptions;
  const defaults = network.roiHeads.detectionOptions;
  const o = {
    scoreThreshold: defaults.scoreThresh,
    maskThreshold: 0.5,
    maxDetections: defaults.detectionsPerImg,
    masks: 'cropped' as MaskFormat,
    returnProbabilities: false,
    maxPixels: DEFAULT_MAX_PIXELS,
    ...given,
  };
  for (const k of ['scoreThreshold', 'maskThreshold'] as const) {
    if (typeof o[k] !== 'number' || !(o[k] >= 0 && o[k] <= 1)) throw new Error(`Error in predict: ${k} must be a number in [0, 1], got ${o[k]}`);
  }
  if (!Number.isInteger(o.maxDetections) || o.maxDetections < 0) {
    throw new Error(`Error in predict: maxDetections must be a non-negative integer, got ${o.maxDetections}`);
  }
  if (!MASK_FORMATS.includes(o.masks)) {
    throw new Error(`Error in predict: masks must be one of ${MASK_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${JSON.stringify(o.masks)}`);
  }
  if (!Number.isInteger(o.maxPixels) || o.maxPixels < 1) {
    throw new Error(`Error in predict: maxPixels must be a positive integer, got ${o.maxPixels}`);
  }
  return o;
}

async function toTensor(input: ImageInput, i: number, maxPixels: number): Promise<tf.Tensor3D> {
  if (input instanceof tf.Tensor) return input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const img = await readImage(input, { name: `input ${i}`, maxPixels }).catch((e: Error) => {
      throw new Error(`Error in predict: input ${i}: ${e.message}`);
    });
    return tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
  }
  if (input && typeof input === 'object' && 'data' in input && 'width' in input && 'height' in input) {
    const { data, width, height } = input;
    const pixels = width * height;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new Error(`Error in predict: input ${i}: pixel buffer size must be positive integers, got ${width}x${height}`);
    }
    const channels = input.channels ?? data.length / pixels;
    if (![1, 3, 4].includes(channels) || data.length !== pixels * channels) {
      throw new Error(
        `Error in predict: input ${i}: pixel buffer of ${data.length} bytes does not hold ${width}x${height} pixels of 1, 3 or 4 channels`,
      );
    }
    const rgb = new Int32Array(pixels * 3);
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < 3; c++) rgb[3 * p + c] = data[p * channels + (channels === 1 ? 0 : c)];
    }
    return tf.tensor3d(rgb, [height, width, 3], 'int32');
  }
  throw new Error(`Error in predict: input ${i} is not an image (expected a tf.Tensor3D, a file path, encoded bytes or a pixel buffer)`);
}

/** A detection's binary mask (probability > threshold) in the format asked for. */
function detectionMask(crop: MaskCrop, height: number, width: number, threshold: number, format: MaskFormat): DetectionMask {
  const bits = new Uint8Array(crop.probs.length);
  for (let q = 0; q < bits.length; q++) bits[q] = crop.probs[q] > threshold ? 1 : 0;
  const cropped = {
    format: 'cropped' as const,
    x: crop.x,
    y: crop.y,
    width: crop.width,
    height: crop.height,
    data: bits,
    imageWidth: width,
    imageHeight: height,
  };
  if (format === 'cropped') return cropped;
  if (format === 'rle') return { format: 'rle', ...maskToCocoRle(cropped) };
  const full = new Uint8Array(height * width);
  for (let r = 0; r < crop.height; r++) full.set(bits.subarray(r * crop.width, (r + 1) * crop.width), (crop.y + r) * width + crop.x);
  return { format: 'full', width, height, data: full };
}

function cropToProbabilities(crop: MaskCrop, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (let r = 0; r < crop.height; r++) {
    out.set(crop.probs.subarray(r * crop.width, (r + 1) * crop.width), (crop.y + r) * width + crop.x);
  }
  return out;
}

function defaultClassNames(numClasses: number): string[] {
  if (numClasses === COCO_CATEGORY_NAMES.length) return [...COCO_CATEGORY_NAMES];
  return Array.from({ length: numClasses }, (_, i) => (i === 0 ? '__background__' : `class_${i}`));
}

/** The number of classes a torchvision state dict was trained with (from cls_score). */
function numClassesOf(sd: StateDict): number | undefined {
  return sd.get('roi_heads.box_predictor.cls_score.weight')?.shape[0];
}

/**
 * Builds a Mask R-CNN from a torchvision checkpoint (`torch.save(model.state_dict())`, zip format),
 * e.g. the published `maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth`. Nothing in the file is executed.
 *
 * @example
 * ```ts
 * const model = await fromTorchvision('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
 * // fine-tuning start: 3 classes, predictor layers left fresh
 * const mine = await fromTorchvision('coco.pth', { config: { numClasses: 3 }, strict: false });
 * ```
 */
export async function fromTorchvision(path: string, options: LoadOptions = {}): Promise<MaskRCNNModel> {
  const backend = await selectBackend({ backend: options.backend });
  const sd = await readTorchStateDict(path, { key: options.checkpointKey });
  const config: MaskRCNNConfig = { ...options.config };
  config.numClasses ??= numClassesOf(sd) ?? 91;
  const strict = options.strict ?? true;
  // Random initialisation is wasted when every weight is about to be overwritten.
  const network = strict ? withoutInitialization(() => new MaskRCNN(config)) : new MaskRCNN(config);
  let report: LoadReport;
  try {
    report = loadStateDict(network, sd, { strict, source: path });
  } catch (e) {
    network.dispose();
    throw e;
  }
  const classNames = options.classNames ?? defaultClassNames(network.numClasses);
  checkClassNames(classNames, network.numClasses);
  return new MaskRCNNModel(network, classNames, backend, report);
}

/**
 * Loads a model: a torchvision checkpoint (`.pth` / `.pt`), or a folder / model.json / URL
 * written by {@link MaskRCNNModel.save}.
 *
 * @example
 * ```ts
 * const model = await load('file://models/shapes');   // saved earlier with model.save(...)
 * const preds = await model.predict(['a.jpg', 'b.png']);
 * ```
 */
export async function load(source: string, options: LoadOptions = {}): Promise<MaskRCNNModel> {
  if (/\.(pth|pt)$/i.test(source)) return fromTorchvision(source, options);
  const backend = await selectBackend({ backend: options.backend });
  const url = /^[a-z]+:\/\//i.test(source) ? source : `file://${source}`;
  if (url.startsWith('file://') && !fs.existsSync(url.slice(7))) {
    throw new Error(`Error in load: ${source} does not exist (expected a .pth checkpoint, a model folder or model.json)`);
  }
  // The configuration saved with the weights builds the model the weights fit.
  const artifacts = await readWeightsArtifacts(url);
  const saved = configOf(artifacts);
  const network = withoutInitialization(() => new MaskRCNN({ ...(saved.config as MaskRCNNConfig), ...options.config }));
  try {
    const info = applyWeightsArtifacts(network, artifacts, source);
    const names = options.classNames ?? (info.metadata.classNames as string[] | undefined) ?? defaultClassNames(network.numClasses);
    checkClassNames(names, network.numClasses);
    return new MaskRCNNModel(network, names, backend);
  } catch (e) {
    network.dispose();
    throw e;
  }
}

function checkClassNames(names: readonly string[], numClasses: number): void {
  if (names.length !== numClasses) {
    throw new Error(`Error in load: classNames has ${names.length} entries but the model has ${numClasses} classes (background included)`);
  }
}
