/**
 * Loading a PyTorch state dict into our layers, as `module.load_state_dict` does, and making one
 * from them, as `module.state_dict()` does.
 *
 * Keys are torchvision's; each tensor is converted between PyTorch layout and ours by the layout
 * its parameter declares (conv OIHW <-> HWIO, linear [out, in] <-> [in, out]). `num_batches_tracked`
 * (a BatchNorm2d counter that FrozenBatchNorm2d does not have) is ignored when loading and
 * written only when asked for. Everything is checked before any variable is written, so a failed
 * strict load leaves the model untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { fromTorchLayout, TorchLayer, TorchParam, toTorchLayout, torchShape } from '../nn/torch_layer';
import { StateDict, TorchTensorData, toFloat32 } from './torch_checkpoint';

/** Options of {@link loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Strict (default): any missing, unexpected or mis-shaped key is an error and nothing is
   * loaded. Non-strict loads every key whose shape matches and reports the rest: the usual way
   * to start fine-tuning from a COCO checkpoint with another number of classes.
   */
  strict?: boolean;
  /**
   * Prefix of the layer's keys inside the state dict, e.g. `backbone.` to load only the
   * backbone from a full Mask R-CNN checkpoint; keys outside the prefix are then not
   * "unexpected". Default '' (the whole state dict belongs to the layer).
   */
  prefix?: string;
  /** Names the checkpoint in error messages. */
  source?: string;
}

/** What {@link loadStateDict} did, key by key (full state-dict names). */
export interface LoadReport {
  readonly loaded: string[];
  /** Our keys that the state dict lacks (left at their current values). */
  readonly missing: string[];
  /** State-dict keys we have no parameter for. */
  readonly unexpected: string[];
  /** Keys present on both sides whose shapes differ, with both shapes in PyTorch layout. */
  readonly mismatched: { key: string; expected: number[]; found: number[] }[];
}

/** Keys that exist in BatchNorm2d state dicts and carry no information for inference or us. */
const IGNORED = /(^|\.)num_batches_tracked$/;

function listNames(names: readonly string[], max = 8): string {
  const head = names.slice(0, max).join(', ');
  return names.length > max ? `${head} and ${names.length - max} more` : head;
}

/**
 * Copies a state dict into a layer's parameters.
 *
 * @example
 * ```ts
 * const sd = await readTorchStateDict('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
 * const report = loadStateDict(backbone, sd, { prefix: 'backbone.' });
 * ```
 */
export function loadStateDict(
  target: TorchLayer | Map<string, TorchParam>,
  stateDict: StateDict,
  options: LoadStateDictOptions = {},
): LoadReport {
  const strict = options.strict ?? true;
  const prefix = options.prefix ?? '';
  const source = options.source ?? 'state dict';
  const params = target instanceof Map ? target : target.stateDict();

  const ours = new Map<string, TorchParam>();
  for (const [k, p] of params) ours.set(prefix + k, p);

  const missing: string[] = [];
  const mismatched: LoadReport['mismatched'] = [];
  const toLoad: [string, TorchParam][] = [];
  for (const [key, p] of ours) {
    const t = stateDict.get(key);
    if (t === undefined) {
      missing.push(key);
      continue;
    }
    const expected = torchShape(p.variable.shape as number[], p.layout);
    const found = t.shape.length === 0 ? [] : [...t.shape];
    if (expected.length !== found.length || expected.some((d, i) => d !== found[i])) {
      mismatched.push({ key, expected, found });
      continue;
    }
    if (t.dtype === 'bool' || t.dtype.startsWith('int') || t.dtype === 'uint8') {
      throw new Error(`Error in loadStateDict: ${source}: ${key} has dtype ${t.dtype}, expected a floating-point tensor`);
    }
    toLoad.push([key, p]);
  }
  const unexpected = [...stateDict.keys()].filter((k) => k.startsWith(prefix) && !ours.has(k) && !IGNORED.test(k));

  if (strict && (missing.length > 0 || unexpected.length > 0 || mismatched.length > 0)) {
    const parts: string[] = [];
    if (missing.length) parts.push(`missing keys (${missing.length}): ${listNames(missing)}`);
    if (unexpected.length) parts.push(`unexpected keys (${unexpected.length}): ${listNames(unexpected)}`);
    if (mismatched.length) {
      const m = mismatched.map((x) => `${x.key} expected [${x.expected.join(', ')}] but found [${x.found.join(', ')}]`);
      parts.push(`mis-shaped keys (${mismatched.length}): ${listNames(m, 4)}`);
    }
    throw new Error(
      `Error in loadStateDict: ${source} does not match the model (nothing was loaded): ${parts.join('; ')}. ` +
        'Pass strict: false to load the matching keys only (e.g. to fine-tune with another number of classes).',
    );
  }

  for (const [key, p] of toLoad) {
    const t = stateDict.get(key)!;
    tf.tidy(() => {
      const value = tf.tensor(toFloat32(t), t.shape.length === 0 ? [1] : t.shape, 'float32');
      p.variable.write(fromTorchLayout(value, p.layout));
    });
  }
  return { loaded: toLoad.map(([k]) => k), missing, unexpected, mismatched };
}

/**
 * Options of {@link toTorchStateDict}.
 *
 * @example
 * ```ts
 * const options: ToTorchStateDictOptions = { numBatchesTracked: true }; // for a BatchNorm2d-built model
 * ```
 */
export interface ToTorchStateDictOptions {
  /**
   * Also write `<bn>.num_batches_tracked` (an int64 scalar 0) after each FrozenBatchNorm's
   * buffers, as the state dict of a torchvision model built with nn.BatchNorm2d
   * (`maskrcnn_resnet50_fpn(weights=None)`) has. Default false, as torchvision's published
   * checkpoints (FrozenBatchNorm2d) have none; either way torch's `load_state_dict(strict=True)`
   * accepts the file, since BatchNorm2d fills in a missing counter for state dicts without
   * module versions and FrozenBatchNorm2d drops one.
   */
  readonly numBatchesTracked?: boolean;
  /** Put before every key, e.g. `backbone.` for a backbone saved on its own; default ''. */
  readonly prefix?: string;
}

/**
 * Keys in torch's order. torch's `state_dict()` walks the module tree: a module's own tensors,
 * then each child's, children in the order they were registered. Ours walks our layers the same
 * way, but our FPN registers its blocks level by level (`inner_blocks.0`, `layer_blocks.0`,
 * `inner_blocks.1`, ...) where torchvision registers all `inner_blocks` before the
 * `layer_blocks`. Regrouping the keys as a tree whose children come in order of first
 * appearance gives torchvision's order back.
 */
function inModuleOrder(keys: readonly string[]): string[] {
  interface Node { readonly items: (string | Node)[]; readonly children: Map<string, Node> }
  const root: Node = { items: [], children: new Map() };
  for (const key of keys) {
    const parts = key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      let child = node.children.get(part);
      if (child === undefined) {
        child = { items: [], children: new Map() };
        node.children.set(part, child);
        node.items.push(child);
      }
      node = child;
    }
    node.items.push(key);
  }
  const out: string[] = [];
  const walk = (node: Node): void => {
    for (const item of node.items) {
      if (typeof item === 'string') out.push(item);
      else walk(item);
    }
  };
  walk(root);
  return out;
}

function contiguous(shape: readonly number[]): number[] {
  const strides: number[] = [];
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides.unshift(s);
    s *= shape[i];
  }
  return strides;
}

/**
 * The state dict torchvision's `model.state_dict()` would give for a layer's weights: torchvision
 * keys in torchvision's order, float32 tensors in PyTorch layout (conv HWIO -> OIHW, linear
 * [in, out] -> [out, in]), each its own copy. The inverse of {@link loadStateDict}: loading the
 * result back gives the same weights bit for bit. Write it with `writeTorchStateDict`, or see
 * `MaskRCNNModel.saveTorch`.
 *
 * @example
 * ```ts
 * const sd = await toTorchStateDict(model.network);
 * sd.get('backbone.body.conv1.weight')!.shape; // [64, 3, 7, 7]
 * await writeTorchStateDict('model.pth', sd);
 * ```
 */
export async function toTorchStateDict(
  source: TorchLayer | ReadonlyMap<string, TorchParam>,
  options: ToTorchStateDictOptions = {},
): Promise<StateDict> {
  const params = source instanceof TorchLayer ? source.stateDict() : source;
  const prefix = options.prefix ?? '';
  const out: StateDict = new Map();
  for (const key of inModuleOrder([...params.keys()])) {
    const p = params.get(key)!;
    const t = tf.tidy(() => toTorchLayout(p.variable.read(), p.layout));
    let values: Float32Array;
    try {
      // A copy: on the cpu backend data() hands back the tensor's own array, which a 'same'
      // layout (a clone) shares with the variable.
      values = ((await t.data()) as Float32Array).slice();
    } finally {
      t.dispose();
    }
    const shape = torchShape(p.variable.shape as number[], p.layout);
    const storageKey = String(out.size);
    const strides = contiguous(shape);
    out.set(prefix + key, {
      dtype: 'float32', shape, strides, data: values, requiresGrad: false, isParameter: false,
      source: { storageKey, storageOffset: 0, strides },
    });
    if (options.numBatchesTracked && key.endsWith('.running_var')) {
      const counter: TorchTensorData = {
        dtype: 'int64', shape: [], strides: [], data: new BigInt64Array(1), requiresGrad: false, isParameter: false,
        source: { storageKey: String(out.size), storageOffset: 0, strides: [] },
      };
      out.set(`${prefix}${key.slice(0, -'running_var'.length)}num_batches_tracked`, counter);
    }
  }
  return out;
}
