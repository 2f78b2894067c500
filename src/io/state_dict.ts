/**
 * Loading a PyTorch state dict into our layers, as `module.load_state_dict` does.
 *
 * Keys are torchvision's; each tensor is converted from PyTorch layout to ours by the layout its
 * parameter declares (conv OIHW -> HWIO, linear [out, in] -> [in, out]). `num_batches_tracked`
 * (a BatchNorm2d counter that FrozenBatchNorm2d does not have) is ignored. Everything is checked
 * before any variable is written, so a failed strict load leaves the model untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { fromTorchLayout, TorchLayer, TorchParam, torchShape } from '../nn/torch_layer';
import { StateDict, toFloat32 } from './torch_checkpoint';

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
