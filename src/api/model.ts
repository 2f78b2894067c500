/**
 * The public face of the library: `load` / `fromTorchvision` factories and a model object with
 * `predict()` and `dispose()` returning plain typed objects (no tensors to free).
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { BackendChoice, selectBackend } from '../backend';
import { DEFAULT_MAX_PIXELS, type DecodedImage, readImage } from '../data/image_io';
import { inspectTargets, type InspectedTargets, type InspectTargetsOptions, type TargetAnnotations } from './inspect_targets';
import { loadStateDict, LoadReport, toTorchStateDict, type ToTorchStateDictOptions } from '../io/state_dict';
import { readTorchStateDict, StateDict } from '../io/torch_checkpoint';
import { writeTorchStateDict, type TorchWriteResult } from '../io/torch_writer';
import { applyWeightsArtifacts, readWeightsArtifacts, saveWeights } from '../io/native_weights';
import { type QuantizeOptions, checkQuantizeOptions } from '../io/quantization';
import { type DownloadOptions, downloadWeights } from '../io/download';
import {
  type WeightsEntry,
  isWeightsName,
  looksLikeWeightsName,
  resolveWeights,
  unknownWeightsMessage,
  WEIGHTS_REGISTRY,
} from '../io/weights_registry';
import { withoutInitialization } from '../nn/torch_layer';
import { MaskCrop } from '../postprocess/paste_masks';
import { DetectionMask, MaskFormat, MaskOfFormat, maskToCocoRle, maskToFull } from './detection_masks';
import { COCO_CATEGORY_NAMES } from '../model/coco_names';
import { disposeMaskRCNNDetections, MaskRCNN, MaskRCNNConfig } from '../model/mask_rcnn';
import { stateDictFloats } from '../model/state_dict_size';
import { StageClock, StageTimes } from '../model/stage_clock';
import type { StageRecorder } from '../model/stage_recorder';
import { BODY_LEVELS, type BodyLevel, type Inspection, InspectionRecorder } from './inspection';
import { isBasicBlockDepth, RESNET_BLOCKS, RESNET_DEPTHS, ResNetDepth } from '../backbone/resnet';

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
 * Options of {@link MaskRCNNModel.inspect}: predict's, which act as they do there, plus what to
 * keep.
 *
 * @example
 * ```ts
 * const ins = await model.inspect('a.jpg', { scoreThreshold: 0.5, bodyLevels: ['C5'] });
 * ```
 */
export interface InspectOptions<F extends MaskFormat = MaskFormat> extends PredictOptions<F> {
  /** ResNet body outputs to keep (they are large: C2 of ResNet-50 is 256 channels at stride 4); default all four. */
  bodyLevels?: readonly BodyLevel[];
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
  /**
   * torchvision checkpoints only: the most bytes reading the file may allocate; default
   * {@link checkpointByteBudget} of the configuration (2.25 times the model's float32 weights).
   */
  maxTotalBytes?: number;
  /**
   * Weights given by name only: where the cache is, a mirror, timeouts, progress (see
   * {@link DownloadOptions}); the file is downloaded when it is not in the cache.
   */
  download?: DownloadOptions;
}

const SAVE_TORCH_OPTION_NAMES = ['numBatchesTracked', 'prefix'];
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

  private disposed = false;

  /**
   * Milliseconds per stage (decode, transform, backbone, rpn, box_head, mask_head,
   * postprocess) of the last {@link MaskRCNNModel.predict} or {@link MaskRCNNModel.inspect}
   * call, for the whole batch; undefined before the first. See {@link StageClock} for what the times mean on async backends.
   */
  lastStageTimes: StageTimes | undefined;

  /**
   * True once {@link MaskRCNNModel.dispose} was called; the model cannot be used any more.
   *
   * @example
   * ```ts
   * model.dispose();
   * model.isDisposed; // true; model.predict(...) now throws 'this MaskRCNNModel was disposed'
   * ```
   */
  get isDisposed(): boolean {
    return this.disposed;
  }

  private checkNotDisposed(method: string): void {
    if (this.disposed) throw new Error(`Error in ${method}: this MaskRCNNModel was disposed`);
  }

  /**
   * Detects and segments objects; one {@link Prediction} per input image, its masks in the
   * format `options.masks` names (default cropped).
   *
   * @example
   * ```ts
   * const [a, b] = await model.predict(['a.jpg', 'b.png'], { scoreThreshold: 0.5, masks: 'rle' });
   * ```
   */
  async predict<F extends MaskFormat = 'cropped'>(
    images: ImageInput | readonly ImageInput[],
    options: PredictOptions<F> = {},
  ): Promise<Prediction<MaskOfFormat<F>>[]> {
    this.checkNotDisposed('predict');
    const o = checkPredictOptions(options, this.network, 'predict', PREDICT_OPTION_NAMES);
    const inputs = isSingleInput(images) ? [images] : [...images];
    if (inputs.length === 0) return [];
    return (await this.run(inputs, o)) as Prediction<MaskOfFormat<F>>[];
  }

  /**
   * Runs predict on one image and returns every stage's outputs on the way: the resized image,
   * the backbone's feature maps, the RPN's anchors, scores and candidates with the reason each
   * was dropped, the proposals, the box head's class probabilities and refined boxes, the
   * per-class candidates with their fate, the masks, and the prediction itself, which is exactly
   * what {@link MaskRCNNModel.predict} returns (the same code runs, with recording hooks). The
   * {@link Inspection} owns its tensors: `dispose()` it. See docs/inspect.md.
   *
   * @example
   * ```ts
   * const ins = await model.inspect('street.jpg', { scoreThreshold: 0.5 });
   * const fates = ins.rpn.candidates.fates;   // 'kept', 'nms', 'small', ...
   * ins.rpn.proposals.shape;                  // [P, 4]
   * ins.prediction.detections.length;         // as predict's
   * ins.dispose();
   * ```
   */
  async inspect<F extends MaskFormat = 'cropped'>(image: ImageInput, options: InspectOptions<F> = {}): Promise<Inspection<MaskOfFormat<F>>> {
    this.checkNotDisposed('inspect');
    if (!isSingleInput(image)) throw new Error('Error in inspect: give one image (a tensor, a path, encoded bytes or a pixel buffer), not a list');
    const { bodyLevels = BODY_LEVELS, ...predictOptions } = options;
    if (!Array.isArray(bodyLevels) || !bodyLevels.every((l) => BODY_LEVELS.includes(l))) {
      throw new Error(`Error in inspect: bodyLevels must be a list of ${BODY_LEVELS.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(bodyLevels)}`);
    }
    const o = checkPredictOptions(predictOptions, this.network, 'inspect', [...PREDICT_OPTION_NAMES, 'bodyLevels']);
    const recorder = new InspectionRecorder(bodyLevels);
    try {
      const [prediction] = await this.run([image], o, recorder);
      return recorder.finish(prediction as Prediction<MaskOfFormat<F>>, this.network.numClasses);
    } catch (e) {
      recorder.dispose();
      throw e;
    }
  }

  /**
   * One image's training targets and losses, computed by the trainer's own code: anchors labelled
   * positive / negative / ignored with their box targets and the RPN sampler's picks, the sampled
   * RoIs with classes and box targets, the mask targets, and the five losses. The result owns its
   * tensors: `dispose()` it. Same as {@link inspectTargets}`(model, ...)`; see docs/inspect.md.
   *
   * @example
   * ```ts
   * const t = await model.inspectTargets(image, { boxes: [[10, 12, 60, 70]], labels: [1], masks: [rle] });
   * t.losses.loss_mask;        // a number, as the trainer computes it for this image
   * t.anchors[0].labels.dataSync(); // 1 positive, 0 negative, -1 ignored (level P2)
   * t.dispose();
   * ```
   */
  inspectTargets(image: DecodedImage | tf.Tensor3D, annotations: TargetAnnotations, options?: InspectTargetsOptions): Promise<InspectedTargets> {
    return inspectTargets(this, image, annotations, options);
  }

  /** predict's run, shared by inspect: decode, the network (seen by `recorder`), predictions. */
  private async run(inputs: readonly ImageInput[], o: Required<PredictOptions>, recorder?: StageRecorder): Promise<Prediction[]> {
    const tensors: tf.Tensor3D[] = [];
    const owned: tf.Tensor3D[] = [];
    try {
      const clock = new StageClock();
      for (let i = 0; i < inputs.length; i++) {
        const t = await toTensor(inputs[i], i, o.maxPixels);
        tensors.push(t);
        if (t !== inputs[i]) owned.push(t);
      }
      clock.lap('decode');
      const results = await this.network.forward(tensors, { scoreThresh: o.scoreThreshold, detectionsPerImg: o.maxDetections }, clock, recorder);
      try {
        const predictions = await Promise.all(results.map(async (r) => this.toPrediction(r.boxes, r.scores, r.labels, r.masks, r.imageSize, o)));
        clock.lap('postprocess');
        this.lastStageTimes = clock.times;
        return predictions;
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

  /**
   * Saves the weights and configuration as model.json + shards (loadable with {@link load}).
   * `options.quantization` stores the large float32 weights as `'float16'` (about half the
   * bytes) or `'uint8'` (about a quarter); biases and batch-norm buffers stay float32, and
   * `load` needs nothing more (see {@link QuantizeOptions}).
   *
   * @example
   * ```ts
   * await model.save('file://models/shapes');
   * await model.save('file://weights/shapes', { quantization: 'float16' });
   * ```
   */
  async save(location: string | tf.io.IOHandler, options: QuantizeOptions = {}): Promise<tf.io.SaveResult> {
    this.checkNotDisposed('save');
    checkQuantizeOptions(options, 'save');
    return saveWeights(this.network, location, {
      config: { ...this.network.config, numClasses: this.network.numClasses } as Record<string, unknown>,
      metadata: { classNames: [...this.classNames] },
      quantization: options.quantization,
      minElements: options.minElements,
    });
  }

  /**
   * Saves the weights as a torchvision checkpoint: the `.pth` file `torch.save(model.state_dict())`
   * writes (see {@link writeTorchStateDict}), which torchvision's `load_state_dict(..., strict=True)`
   * accepts for a model of the same architecture (see docs/convert.md for building it) and
   * {@link fromTorchvision} loads back bit for bit. The file holds weights only: class names and
   * the configuration stay behind. Written atomically (a temporary file renamed into place); an
   * existing file is replaced.
   *
   * @example
   * ```ts
   * await model.saveTorch('shapes.pth');
   * // Python: model.load_state_dict(torch.load('shapes.pth'))
   * ```
   */
  async saveTorch(file: string, options: ToTorchStateDictOptions = {}): Promise<TorchWriteResult> {
    this.checkNotDisposed('saveTorch');
    for (const k of Object.keys(options)) {
      if (!SAVE_TORCH_OPTION_NAMES.includes(k)) {
        throw new Error(`Error in saveTorch: unknown option '${k}'; valid options are ${SAVE_TORCH_OPTION_NAMES.join(', ')}`);
      }
    }
    return writeTorchStateDict(file, await toTorchStateDict(this.network, options));
  }

  /** Frees every weight; the model cannot be used afterwards. A second call does nothing. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.network.dispose();
  }
}

function isSingleInput(x: ImageInput | readonly ImageInput[]): x is ImageInput {
  return !Array.isArray(x) || (x.length > 0 && typeof x[0] === 'number');
}

/** Options with defaults filled in: the model's own detection settings, mask threshold 0.5. */
function checkPredictOptions(options: PredictOptions, network: MaskRCNN, fn: string, names: readonly string[]): Required<PredictOptions> {
  for (const k of Object.keys(options)) {
    if (!names.includes(k)) {
      throw new Error(`Error in ${fn}: unknown option '${k}'; valid options are ${names.join(', ')}`);
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
    if (typeof o[k] !== 'number' || !(o[k] >= 0 && o[k] <= 1)) throw new Error(`Error in ${fn}: ${k} must be a number in [0, 1], got ${o[k]}`);
  }
  if (!Number.isInteger(o.maxDetections) || o.maxDetections < 0) {
    throw new Error(`Error in ${fn}: maxDetections must be a non-negative integer, got ${o.maxDetections}`);
  }
  if (!MASK_FORMATS.includes(o.masks)) {
    throw new Error(`Error in ${fn}: masks must be one of ${MASK_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${JSON.stringify(o.masks)}`);
  }
  if (!Number.isInteger(o.maxPixels) || o.maxPixels < 1) {
    throw new Error(`Error in ${fn}: maxPixels must be a positive integer, got ${o.maxPixels}`);
  }
  return o;
}

async function toTensor(input: ImageInput, i: number, maxPixels: number): Promise<tf.Tensor3D> {
  if (input instanceof tf.Tensor) {
    if (input.isDisposed) throw new Error(`Error in predict: input ${i} is a disposed tensor`);
    return input;
  }
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
  return { format: 'full', width, height, data: maskToFull(cropped) };
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
 * The default byte budget of reading a torchvision checkpoint for `config`: 2.25 times the
 * float32 state dict the model expects (its architecture, at least 91 classes): 400 MB for
 * ResNet-50, 572 MB for ResNet-101. That leaves room for a training checkpoint that also holds
 * optimizer state (torchvision's reference scripts save both, about twice the model), and stops
 * a forged file (stride-0 views, one deflated storage viewed many times) before it allocates much
 * more than one model's worth.
 *
 * @example
 * ```ts
 * checkpointByteBudget({});             // 400_568_697 (ResNet-50, 91 classes)
 * checkpointByteBudget({ depth: 101 }); // 571_967_865
 * ```
 */
export function checkpointByteBudget(config: MaskRCNNConfig): number {
  return Math.ceil(2.25 * 4 * stateDictFloats({ ...config, numClasses: Math.max(91, config.numClasses ?? 91) }));
}

/**
 * Builds a Mask R-CNN from a torchvision checkpoint (`torch.save(model.state_dict())`, zip format),
 * e.g. the published `maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth`, given by path or by its name in
 * {@link WEIGHTS_REGISTRY} (downloaded into the cache the first time, see {@link downloadWeights}).
 * Nothing in the file is executed.
 *
 * @example
 * ```ts
 * const model = await fromTorchvision('maskrcnn_resnet50_fpn_coco'); // downloaded once, then cached
 * const same = await fromTorchvision('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
 * // fine-tuning start: 3 classes, predictor layers left fresh
 * const mine = await fromTorchvision('maskrcnn_resnet50_fpn_coco', { config: { numClasses: 3 }, strict: false });
 * ```
 */
export async function fromTorchvision(source: string | WeightsEntry, options: LoadOptions = {}): Promise<MaskRCNNModel> {
  const named = namedWeights(source, 'fromTorchvision');
  if (named !== undefined) return fromNamedWeights(named, options, 'fromTorchvision');
  const path = source as string;
  // Everything that can be checked without the checkpoint is, before reading it.
  if (options.config !== undefined) checkConfig(options.config, 'Error in fromTorchvision: options.config');
  if (options.classNames !== undefined) checkClassNames(options.classNames, options.config?.numClasses, 'fromTorchvision');

  const maxTotalBytes = options.maxTotalBytes ?? checkpointByteBudget(options.config ?? {});
  if (!Number.isInteger(maxTotalBytes) || maxTotalBytes < 1) {
    throw new Error(`Error in fromTorchvision: options.maxTotalBytes must be a positive integer, got ${String(options.maxTotalBytes)}`);
  }
  const backend = await selectBackend({ backend: options.backend });
  // A forged checkpoint (expanded views, deflate bombs) cannot make reading allocate more.
  const sd = await readTorchStateDict(path, { key: options.checkpointKey, maxTotalBytes });
  const config: MaskRCNNConfig = { ...options.config };
  config.numClasses ??= numClassesOf(sd) ?? 91;

  // The number of classes is known now: check it and the names before building anything.
  checkConfig(config, `Error in fromTorchvision: ${path}: the configuration`);
  const classNames = options.classNames ?? defaultClassNames(config.numClasses);
  checkClassNames(classNames, config.numClasses, 'fromTorchvision');
  const strict = options.strict ?? true;
  // Random initialisation is wasted when every weight is about to be overwritten.
  const network = strict ? withoutInitialization(() => new MaskRCNN(config)) : new MaskRCNN(config);
  try {
    const report = loadStateDict(network, sd, { strict, source: path });
    return new MaskRCNNModel(network, classNames, backend, report);
  } catch (e) {
    network.dispose();
    throw e;
  }
}

/**
 * Loads a model: a published checkpoint by name (see {@link WEIGHTS_REGISTRY}; downloaded into
 * the cache the first time), a torchvision checkpoint (`.pth` / `.pt`), or a folder / model.json
 * / URL written by {@link MaskRCNNModel.save}. A folder named like a registered checkpoint needs
 * `./` in front.
 *
 * @example
 * ```ts
 * const coco = await load('maskrcnn_resnet50_fpn_coco');   // torchvision's COCO weights
 * const model = await load('file://models/shapes');       // saved earlier with model.save(...)
 * const preds = await model.predict(['a.jpg', 'b.png']);
 * ```
 */
export async function load(source: string | WeightsEntry, options: LoadOptions = {}): Promise<MaskRCNNModel> {
  const named = namedWeights(source, 'load');
  if (named !== undefined) return fromNamedWeights(named, options, 'load');
  if (typeof source !== 'string') throw new Error(`Error in load: source must be a string or a weights entry, got ${describeValue(source)}`);
  if (/\.(pth|pt)$/i.test(source)) return fromTorchvision(source, options);
  if (options.config !== undefined) checkConfig(options.config, 'Error in load: options.config');
  const backend = await selectBackend({ backend: options.backend });
  const url = /^[a-z]+:\/\//i.test(source) ? source : `file://${source}`;
  if (url.startsWith('file://') && !fs.existsSync(url.slice(7))) {
    throw new Error(`Error in load: ${source} does not exist (expected a .pth checkpoint, a model folder or model.json)`);
  }
  // The configuration saved with the weights builds the model the weights fit. Everything is
  // checked before the model is built: the configuration's values, that it fits the weights'
  // shapes, and the class names; for file:// sources, before any shard is read.
  let config: MaskRCNNConfig = {};
  let names: readonly string[] = [];
  const artifacts = await readWeightsArtifacts(url, {
    beforeWeights: (saved, specs) => {
      checkConfig(saved.config, `Error in load: ${source}: model.json's config`);
      config = { ...(saved.config as MaskRCNNConfig), ...options.config };
      checkConfigFitsWeights(config, specs, source);
      const numClasses = config.numClasses ?? DEFAULT_NUM_CLASSES;
      const savedNames = saved.metadata.classNames;
      if (options.classNames === undefined && savedNames !== undefined && !isStringArray(savedNames)) {
        throw new Error(`Error in load: ${source}: model.json's classNames must be an array of strings`);
      }
      names = options.classNames ?? (savedNames as string[] | undefined) ?? defaultClassNames(numClasses);
      checkClassNames(names, numClasses, 'load');
    },
  });
  const network = withoutInitialization(() => new MaskRCNN(config));
  try {
    applyWeightsArtifacts(network, artifacts, source);
    return new MaskRCNNModel(network, names, backend);
  } catch (e) {
    network.dispose();
    throw e;
  }
}

/**
 * The weights `source` names: an entry given as an object, or a registered name; undefined for
 * a path or URL. A name-like string that is neither registered nor an existing path is refused,
 * listing the known names.
 */
function namedWeights(source: string | WeightsEntry, fn: string): WeightsEntry | undefined {
  if (source !== null && typeof source === 'object') return resolveWeights(source, fn);
  if (typeof source !== 'string') return undefined;
  if (isWeightsName(source)) return WEIGHTS_REGISTRY[source];
  if (looksLikeWeightsName(source) && !fs.existsSync(source)) {
    throw new Error(`Error in ${fn}: ${unknownWeightsMessage(source)} (or give the path of a .pth checkpoint or a model folder)`);
  }
  return undefined;
}

/**
 * Loads registered weights: their configuration under `options.config`, their class names unless
 * the number of classes changed. Everything that can be checked is, before anything is downloaded.
 */
async function fromNamedWeights(entry: WeightsEntry, options: LoadOptions, fn: string): Promise<MaskRCNNModel> {
  if (entry.unsupported !== undefined) {
    throw new Error(`Error in ${fn}: cannot load ${entry.name}: ${entry.unsupported}; downloadWeights('${entry.name}') still downloads the file`);
  }
  if (options.config !== undefined) checkConfig(options.config, `Error in ${fn}: options.config`);
  const config: MaskRCNNConfig = { ...entry.config, ...options.config };
  checkConfig(config, `Error in ${fn}: ${entry.name}: the configuration`);
  // Without numClasses in the configuration it is read from the checkpoint, and the names checked then.
  const numClasses = config.numClasses;
  const fits = entry.classNames.length > 0 && (numClasses === undefined || entry.classNames.length === numClasses);
  const classNames = options.classNames ?? (fits ? entry.classNames : undefined);
  if (classNames !== undefined) checkClassNames(classNames, numClasses, fn);
  const file = await downloadWeights(entry, options.download);
  return fromTorchvision(file, { ...options, config, classNames });
}

/** torchvision's default number of classes (COCO's 91, background and gaps included). */
const DEFAULT_NUM_CLASSES = 91;
/**
 * The most classes a model may have: the predictors grow by 21 kB per class (LVIS has 1203);
 * 100000 classes would take 2 GB before any weight is read.
 *
 * @example
 * ```ts
 * await load('models/x', { config: { numClasses: MAX_NUM_CLASSES + 1 } }); // throws, allocates nothing
 * ```
 */
export const MAX_NUM_CLASSES = 10000;

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((v) => typeof v === 'string');
}

function describeValue(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

/**
 * Checks a model configuration's values before anything is allocated; `prefix` starts the error
 * (e.g. `Error in load: options.config`).
 */
function checkConfig(config: unknown, prefix: string): void {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new Error(`${prefix} must be an object, got ${describeValue(config)}`);
  }
  const c = config as Record<string, unknown>;
  const bad = (key: string, what: string): never => {
    throw new Error(`${prefix}: ${key} must be ${what}, got ${describeValue(c[key])}`);
  };
  const n = c.numClasses;
  if (n !== undefined && !(typeof n === 'number' && Number.isInteger(n) && n >= 2 && n <= MAX_NUM_CLASSES)) {
    bad('numClasses', `an integer in [2, ${MAX_NUM_CLASSES}] (background included)`);
  }
  if (c.depth !== undefined && !RESNET_DEPTHS.includes(c.depth as ResNetDepth)) bad('depth', RESNET_DEPTHS.join(', ').replace(/, (\d+)$/, ' or $1'));
  const channels = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_CHANNELS;
  for (const key of ['fpnChannels', 'representationSize', 'maskDimReduced']) {
    if (c[key] !== undefined && !channels(c[key])) bad(key, `an integer in [1, ${MAX_CHANNELS}]`);
  }
  const ml = c.maskLayers;
  if (ml !== undefined && !(Array.isArray(ml) && ml.length >= 1 && ml.length <= 16 && ml.every(channels))) {
    bad('maskLayers', `a list of 1 to 16 integers in [1, ${MAX_CHANNELS}]`);
  }
  const t = c.trainableBackboneLayers;
  if (t !== undefined && !(typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= 5)) bad('trainableBackboneLayers', 'an integer in [0, 5]');
  if (c.backboneNorm !== undefined && c.backboneNorm !== 'frozen' && c.backboneNorm !== 'batch') bad('backboneNorm', "'frozen' or 'batch'");
  for (const key of ['transform', 'rpn', 'detection']) {
    const v = c[key];
    if (v !== undefined && (v === null || typeof v !== 'object' || Array.isArray(v))) bad(key, 'an object');
  }
}

/** The largest channel count a configuration may ask for (torchvision's widest layer is 2048). */
const MAX_CHANNELS = 8192;

/**
 * Checks that the configuration builds the model the weight specs describe (number of classes,
 * ResNet depth) before the model is built: a model.json whose config says 100 000 classes while
 * its weights hold 91 fails here, not after allocating gigabytes. The remaining shapes are
 * checked key by key before any weight is written (see applyWeightsArtifacts).
 */
function checkConfigFitsWeights(config: MaskRCNNConfig, specs: readonly tf.io.WeightsManifestEntry[], source: string): void {
  const numClasses = config.numClasses ?? DEFAULT_NUM_CLASSES;
  const cls = specs.find((s) => s.name === 'roi_heads.box_predictor.cls_score.weight');
  if (cls === undefined) {
    throw new Error(`Error in load: ${source} has no weight roi_heads.box_predictor.cls_score.weight; it is not a Mask R-CNN`);
  }
  const found = cls.shape[cls.shape.length - 1];
  if (found !== numClasses) {
    throw new Error(
      `Error in load: ${source}: the configuration says numClasses ${numClasses} but the weights are for ${found} classes ` +
        `(roi_heads.box_predictor.cls_score.weight is [${cls.shape.join(', ')}]); nothing was built`,
    );
  }
  // The ResNet the keys imply: blocks in layer3 (18: 2, 34 and 50: 6, 101: 23), and whether the
  // blocks are bottlenecks (a conv3) or basic blocks.
  const depth = config.depth ?? 50;
  let blocks = 0;
  let bottleneck = false;
  for (const s of specs) {
    const m = /^backbone\.body\.layer3\.(\d+)\.(conv\d)/.exec(s.name);
    if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
    if (m?.[2] === 'conv3') bottleneck = true;
  }
  const implied = RESNET_DEPTHS.find((d) => RESNET_BLOCKS[d][2] === blocks && isBasicBlockDepth(d) !== bottleneck);
  if (implied !== depth) {
    const found = implied === undefined ? `${blocks} ${bottleneck ? 'bottleneck' : 'basic'} blocks in layer3, no ResNet depth` : `depth ${implied}`;
    throw new Error(`Error in load: ${source}: the configuration says depth ${depth} but the weights are of ${found}; nothing was built`);
  }
  const fpn = specs.find((s) => s.name === 'backbone.fpn.layer_blocks.0.0.bias');
  const c = config.fpnChannels ?? 256;
  if (fpn !== undefined && fpn.shape[0] !== c) {
    throw new Error(`Error in load: ${source}: the configuration says fpnChannels ${c} but the weights have ${fpn.shape[0]}; nothing was built`);
  }
}

function checkClassNames(names: readonly string[], numClasses: number | undefined, fn: string): void {
  if (!isStringArray(names)) throw new Error(`Error in ${fn}: classNames must be an array of strings`);
  if (numClasses !== undefined && names.length !== numClasses) {
    throw new Error(`Error in ${fn}: classNames has ${names.length} entries but the model has ${numClasses} classes (background included)`);
  }
}
