/**
 * Saving and loading our weights in the TF.js convention (model.json + binary shards).
 *
 * Weights are named by their torchvision state-dict keys and stored in our layout (conv HWIO,
 * linear [in, out]), so loading needs no conversion; model.json records the model's
 * configuration in `modelTopology` and `format: "maskrcnn-tfjs"`. `file://` paths work in Node
 * (our handler, or tfjs-node's), and the same files load in a browser with `tf.io.http`.
 */
import * as tf from '@tensorflow/tfjs';
import { TorchLayer } from '../nn/torch_layer';
import { registerFileRouter } from './file_handler';

/** The `format` field written to model.json. */
export const NATIVE_FORMAT = 'maskrcnn-tfjs';
/** Layout marker: weights are stored as we use them, not as PyTorch stores them. */
export const NATIVE_LAYOUT = 'tfjs-nhwc';

/** A place to save to or load from: a URL (`file://...`, `http(s)://...`, `indexeddb://...`) or a handler. */
export type WeightsLocation = string | tf.io.IOHandler;

function handlerFor(location: WeightsLocation, kind: 'save' | 'load'): tf.io.IOHandler {
  if (typeof location !== 'string') return location;
  registerFileRouter();
  const handlers = kind === 'save' ? tf.io.getSaveHandlers(location) : tf.io.getLoadHandlers(location);
  if (handlers.length === 0) {
    if (kind === 'load' && /^https?:\/\//.test(location)) return tf.io.http(location);
    throw new Error(`Error in ${kind}Weights: no IOHandler for '${location}'; use file://, http(s)://, indexeddb:// or pass a tf.io.IOHandler`);
  }
  return handlers[0];
}

/**
 * Saves every parameter and buffer of `layer` under its state-dict key.
 *
 * @example
 * ```ts
 * await saveWeights(model.backbone, 'file://out/backbone', { config: { depth: 50 } });
 * ```
 */
export async function saveWeights(
  layer: TorchLayer,
  location: WeightsLocation,
  options: { config?: Record<string, unknown>; metadata?: Record<string, unknown> } = {},
): Promise<tf.io.SaveResult> {
  const named: tf.NamedTensorMap = {};
  for (const [key, p] of layer.stateDict()) named[key] = p.variable.read();
  const { data, specs } = await tf.io.encodeWeights(named);
  const handler = handlerFor(location, 'save');
  if (!handler.save) throw new Error('Error in saveWeights: the handler cannot save');
  return handler.save({
    modelTopology: { class_name: layer.getClassName(), config: options.config ?? {} },
    format: NATIVE_FORMAT,
    generatedBy: 'maskrcnn-tfjs',
    convertedBy: null,
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: { layout: NATIVE_LAYOUT, ...(options.metadata ?? {}) },
  });
}

/** What {@link loadWeights} read besides the weights. */
export interface LoadedWeightsInfo {
  /** model.json's modelTopology.config (the configuration saved with the weights). */
  readonly config: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

/**
 * Loads weights saved by {@link saveWeights} into `layer`. Every key must be present with the
 * same shape, and no extra key may appear; on any mismatch nothing is written.
 *
 * @example
 * ```ts
 * await loadWeights(backbone, 'file://out/backbone/model.json');
 * ```
 */
export async function loadWeights(layer: TorchLayer, location: WeightsLocation): Promise<LoadedWeightsInfo> {
  const artifacts = await readWeightsArtifacts(location);
  return applyWeightsArtifacts(layer, artifacts, typeof location === 'string' ? location : 'the given handler');
}

/**
 * Reads a saved model (model.json and shards) without applying it, so that the model can first
 * be built from the configuration it holds (see {@link configOf}).
 */
export async function readWeightsArtifacts(location: WeightsLocation): Promise<tf.io.ModelArtifacts> {
  const handler = handlerFor(location, 'load');
  if (!handler.load) throw new Error('Error in loadWeights: the handler cannot load');
  const where = typeof location === 'string' ? location : 'the given handler';
  const artifacts = await handler.load();
  if (artifacts.format !== NATIVE_FORMAT || artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
    throw new Error(`Error in loadWeights: ${where} is not a ${NATIVE_FORMAT} model (format '${artifacts.format}')`);
  }
  const metadata = (artifacts.userDefinedMetadata ?? {}) as Record<string, unknown>;
  if (metadata.layout !== NATIVE_LAYOUT) {
    throw new Error(`Error in loadWeights: ${where} has weight layout '${String(metadata.layout)}', expected '${NATIVE_LAYOUT}'`);
  }
  return artifacts;
}

/** The configuration and metadata saved with the weights. */
export function configOf(artifacts: tf.io.ModelArtifacts): LoadedWeightsInfo {
  const topology = (artifacts.modelTopology ?? {}) as { config?: Record<string, unknown> };
  return { config: topology.config ?? {}, metadata: (artifacts.userDefinedMetadata ?? {}) as Record<string, unknown> };
}

/** Writes read artifacts into `layer`, all or nothing (see {@link loadWeights}). */
export function applyWeightsArtifacts(layer: TorchLayer, artifacts: tf.io.ModelArtifacts, where: string): LoadedWeightsInfo {
  if (artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
    throw new Error(`Error in loadWeights: ${where} holds no weights`);
  }
  const tensors = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    const params = layer.stateDict();
    const missing = [...params.keys()].filter((k) => !(k in tensors));
    const unexpected = Object.keys(tensors).filter((k) => !params.has(k));
    const misShaped = [...params]
      .filter(([k, p]) => k in tensors && tensors[k].shape.join(',') !== p.variable.shape.join(','))
      .map(([k, p]) => `${k} expected [${p.variable.shape.join(', ')}] found [${tensors[k].shape.join(', ')}]`);
    if (missing.length || unexpected.length || misShaped.length) {
      const parts = [
        missing.length ? `missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}` : '',
        unexpected.length ? `unexpected ${unexpected.slice(0, 5).join(', ')}` : '',
        misShaped.length ? `mis-shaped ${misShaped.slice(0, 3).join('; ')}` : '',
      ].filter((s) => s !== '');
      throw new Error(`Error in loadWeights: ${where} does not match the model (nothing was loaded): ${parts.join('; ')}`);
    }
    for (const [k, p] of params) p.variable.write(tensors[k]);
  } finally {
    tf.dispose(tensors);
  }
  return configOf(artifacts);
}
