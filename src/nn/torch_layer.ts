/**
 * Base class for layers whose weights are named by torchvision state_dict keys.
 *
 * Each parameter is created with {@link TorchLayer.param} under its key relative to the layer's
 * torchvision prefix (`layer1.0.conv1.weight` inside `backbone.body`), together with the layout
 * that converts a PyTorch tensor into ours. Loaders and savers walk {@link TorchLayer.stateDict};
 * tfjs's own variable names (made unique with `_1` suffixes) are never used for mapping.
 */
import * as tf from '@tensorflow/tfjs';
import type { Initializer } from '@tensorflow/tfjs-layers/dist/initializers';
import type { DisposeResult } from '@tensorflow/tfjs-layers/dist/engine/topology';
import { hashSeed } from '../util/random';

/**
 * How a PyTorch tensor maps onto ours.
 * - `conv`: Conv2d weight, torch OIHW `[out, in, kh, kw]` -> tfjs HWIO `[kh, kw, in, out]`.
 * - `conv_transpose`: ConvTranspose2d weight, torch `[in, out, kh, kw]` -> tfjs
 *   conv2dTranspose filter `[kh, kw, out, in]` (the same permutation 2,3,1,0).
 * - `linear`: Linear weight, torch `[out, in]` -> `[in, out]`.
 * - `same`: biases, norm parameters and buffers, copied as they are.
 */
export type TorchLayout = 'conv' | 'conv_transpose' | 'linear' | 'same';

/** One parameter or buffer: our variable and how torch lays it out. */
export interface TorchParam {
  readonly variable: tf.LayerVariable;
  readonly layout: TorchLayout;
  /** False for FrozenBatchNorm statistics and other buffers that are never trained. */
  readonly trainable: boolean;
}

/** Shape of the PyTorch tensor that maps onto a tfjs tensor of `shape` under `layout`. */
export function torchShape(shape: readonly number[], layout: TorchLayout): number[] {
  switch (layout) {
    case 'conv':
    case 'conv_transpose': // tfjs [kh, kw, a, b] <- torch [b, a, kh, kw]
      return [shape[3], shape[2], shape[0], shape[1]];
    case 'linear':
      return [shape[1], shape[0]];
    case 'same':
      return [...shape];
  }
}

/** Converts a tensor from PyTorch layout to ours. The caller owns the result. */
export function fromTorchLayout(t: tf.Tensor, layout: TorchLayout): tf.Tensor {
  switch (layout) {
    case 'conv':
    case 'conv_transpose':
      return tf.transpose(t, [2, 3, 1, 0]);
    case 'linear':
      return tf.transpose(t, [1, 0]);
    case 'same':
      return t.clone();
  }
}

/** Converts a tensor from our layout to PyTorch's. The caller owns the result. */
export function toTorchLayout(t: tf.Tensor, layout: TorchLayout): tf.Tensor {
  switch (layout) {
    case 'conv':
    case 'conv_transpose':
      return tf.transpose(t, [3, 2, 0, 1]);
    case 'linear':
      return tf.transpose(t, [1, 0]);
    case 'same':
      return t.clone();
  }
}

let skipInitialization = 0;

/** The seeded-initialisation scope of {@link withInitializationSeed}: its seed and parameters made so far. */
let seeded: { seed: number; count: number } | undefined;

/**
 * A parameter's initial values: a tfjs initializer that draws no random numbers (zeros, ones,
 * constant), or a function of a seed that returns one. The seed is `undefined` outside
 * {@link withInitializationSeed} (tfjs then seeds from `Math.random`).
 */
export type ParamInit = Initializer | ((seed: number | undefined) => Initializer);

const DETERMINISTIC_INITIALIZERS = new Set(['Zeros', 'Ones', 'Constant']);

/**
 * Runs `build` with every random initialisation seeded from `seed`: the n-th parameter made in
 * `build` draws from `hash(seed, n)`, so the same seed and the same construction give
 * bit-identical weights. Parameters are made in a fixed order (construction, then `build` of
 * each child), so `build` should construct and build the layers it makes (see
 * {@link TorchLayer.ensureBuilt}). Nested calls are refused.
 *
 * @example
 * ```ts
 * const a = withInitializationSeed(7, () => new MaskRCNN({ numClasses: 3 }));
 * const b = withInitializationSeed(7, () => new MaskRCNN({ numClasses: 3 })); // same weights as a
 * ```
 */
export function withInitializationSeed<T>(seed: number, build: () => T): T {
  if (!Number.isInteger(seed)) throw new Error(`Error in withInitializationSeed: seed must be an integer, got ${seed}`);
  if (seeded !== undefined) throw new Error('Error in withInitializationSeed: already inside a seeded initialisation');
  seeded = { seed, count: 0 };
  try {
    return build();
  } finally {
    seeded = undefined;
  }
}

/** The seed of the next parameter's initializer, or undefined outside a seeded scope. */
function nextParamSeed(): number | undefined {
  if (seeded === undefined) return undefined;
  // tfjs treats a falsy seed as "no seed", so 0 maps to 1.
  return hashSeed(seeded.seed, seeded.count++) || 1;
}

/**
 * Runs `build` with random initialisation switched off: every parameter starts at zero. Used when
 * the weights will be overwritten at once by a checkpoint, which saves seconds per model.
 *
 * @example
 * ```ts
 * const backbone = withoutInitialization(() => new BackboneWithFpn());
 * loadStateDict(backbone, sd, { prefix: 'backbone.' });
 * ```
 */
export function withoutInitialization<T>(build: () => T): T {
  skipInitialization++;
  try {
    return build();
  } finally {
    skipInitialization--;
  }
}

/** Constructor arguments shared by every {@link TorchLayer}. */
export interface TorchLayerArgs {
  /** tfjs layer name; defaults to a unique name derived from the class. */
  name?: string;
}

/** A tf.layers.Layer whose weights carry torchvision state_dict keys. */
export abstract class TorchLayer extends tf.layers.Layer {
  /** tfjs names layers after their class; subclasses override this. */
  static className = 'TorchLayer';
  private readonly torchParams = new Map<string, TorchParam>();
  private readonly children = new Map<string, TorchLayer>();

  /**
   * Creates a weight under a torchvision key relative to this layer.
   * Initial values are placeholders: real values come from a checkpoint or an initializer
   * (a random one is passed as a function of the seed, see {@link ParamInit}).
   */
  protected param(
    key: string,
    shape: number[],
    layout: TorchLayout,
    init: ParamInit = tf.initializers.zeros(),
    trainable = true,
  ): tf.LayerVariable {
    if (this.torchParams.has(key)) throw new Error(`${this.name}: parameter ${key} created twice`);
    const seed = nextParamSeed();
    if (seeded !== undefined && typeof init !== 'function' && !DETERMINISTIC_INITIALIZERS.has(init.getClassName())) {
      throw new Error(`${this.name}: parameter ${key} has a random initializer that cannot be seeded; pass a function of the seed`);
    }
    const initializer = skipInitialization > 0 ? tf.initializers.zeros() : typeof init === 'function' ? init(seed) : init;
    const variable = this.addWeight(key, shape, 'float32', initializer, undefined, trainable);
    this.torchParams.set(key, { variable, layout, trainable });
    return variable;
  }

  /** Registers a child whose keys appear under `prefix.` in this layer's state dict. */
  protected child<T extends TorchLayer>(prefix: string, layer: T): T {
    this.children.set(prefix, layer);
    return layer;
  }

  /** Every parameter and buffer of this layer and its children, by key relative to this layer. */
  stateDict(): Map<string, TorchParam> {
    // Layers that create weights in build() (lazily, as tfjs layers may) must have them now.
    this.ensureBuilt();
    const out = new Map<string, TorchParam>(this.torchParams);
    for (const [prefix, layer] of this.children) {
      for (const [k, p] of layer.stateDict()) out.set(`${prefix}.${k}`, p);
    }
    return out;
  }

  /** All child layers (recursively), so that their weights count as this layer's. */
  protected descendants(): TorchLayer[] {
    const out: TorchLayer[] = [];
    for (const layer of this.children.values()) out.push(layer, ...layer.descendants());
    return out;
  }

  /** Builds this layer and its children without running it. */
  ensureBuilt(): void {
    if (!this.built) this.build([]);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    for (const c of this.children.values()) c.ensureBuilt();
    super.build(inputShape);
  }

  override get trainable(): boolean {
    return super.trainable;
  }

  /** Freezing or unfreezing a layer does the same to all its children (torch's requires_grad_). */
  override set trainable(value: boolean) {
    super.trainable = value;
    // The tfjs Layer constructor sets this before our fields exist.
    if (this.children !== undefined) for (const c of this.children.values()) c.trainable = value;
  }

  override get trainableWeights(): tf.LayerVariable[] {
    if (!this.trainable) return [];
    return [...this.stateDict().values()].filter((p) => p.trainable && p.variable.trainable).map((p) => p.variable);
  }

  override get nonTrainableWeights(): tf.LayerVariable[] {
    const trainable = new Set(this.trainableWeights);
    return [...this.stateDict().values()].map((p) => p.variable).filter((v) => !trainable.has(v));
  }

  override get weights(): tf.LayerVariable[] {
    return [...this.stateDict().values()].map((p) => p.variable);
  }

  /** Frees every variable of this layer and its children; the layer is unusable afterwards. */
  override dispose(): DisposeResult {
    let numDisposedVariables = 0;
    for (const p of this.torchParams.values()) {
      p.variable.dispose();
      numDisposedVariables++;
    }
    for (const c of this.children.values()) numDisposedVariables += c.dispose().numDisposedVariables;
    this.torchParams.clear();
    this.children.clear();
    return { refCountAfterDispose: 0, numDisposedVariables };
  }
}
