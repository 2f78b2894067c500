/**
 * Saving and loading our weights in the TF.js convention (model.json + binary shards).
 *
 * Weights are named by their torchvision state-dict keys and stored in our layout (conv HWIO,
 * linear [in, out]), so loading needs no conversion; model.json records the model's
 * configuration in `modelTopology` and `format: "maskrcnn-tfjs"`. `file://` paths work in Node
 * (our handler, or tfjs-node's), and the same files load in a browser with `tf.io.http`.
 *
 * Saves can quantize the large float32 weights to float16 or uint8 (quantization.ts), in TF.js's
 * own manifest convention, so `tf.io.decodeWeights` decodes them back to float32.
 *
 * Loading is all or nothing: every weight spec (name, shape, dtype, quantization, byte range) is checked
 * against the model and the weight data before the first weight is written, so a bad file leaves
 * the model's weights as they were and no tensor behind. Saves record the weight data's size and
 * sha256 (per shard for `file://`, see file_handler.ts; for the whole data otherwise), and loads
 * check them where recorded.
 */
import * as tf from '@tensorflow/tfjs';
import { TorchLayer } from '../nn/torch_layer';
import { NodeFileHandler, registerFileRouter, sha256Hex, shardRecordsOf, weightSpecBytes, weightSpecsBytes } from './file_handler';
import { type QuantizeOptions, QUANTIZATION_METADATA_KEY, checkQuantizeOptions, quantizeWeightData } from './quantization';

/** The `format` field written to model.json. */
export const NATIVE_FORMAT = 'maskrcnn-tfjs';
/** Layout marker: weights are stored as we use them, not as PyTorch stores them. */
export const NATIVE_LAYOUT = 'tfjs-nhwc';

/**
 * Metadata key holding the whole weight data's size and sha256 (saves through handlers other than
 * our file handler, which records each shard instead).
 *
 * @example
 * ```ts
 * await saveWeights(model, 'indexeddb://mine');
 * const { bytes, sha256 } = artifacts.userDefinedMetadata[INTEGRITY_METADATA_KEY]; // checked on load
 * ```
 */
export const INTEGRITY_METADATA_KEY = 'weightsIntegrity';

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
 * Options of {@link saveWeights}: what model.json records besides the weights, and how the
 * float32 weights are stored (see {@link QuantizeOptions}; default float32).
 *
 * @example
 * ```ts
 * const options: SaveWeightsOptions = { config: { depth: 50 }, metadata: { step: 1000 }, quantization: 'float16' };
 * await saveWeights(model.backbone, 'file://out/backbone', options);
 * ```
 */
export interface SaveWeightsOptions extends QuantizeOptions {
  /** Written to model.json's `modelTopology.config` (the configuration to rebuild the layer). */
  readonly config?: Record<string, unknown>;
  /** Merged into model.json's `userDefinedMetadata`. */
  readonly metadata?: Record<string, unknown>;
}

/**
 * Saves every parameter and buffer of `layer` under its state-dict key. With
 * `options.quantization` the large float32 weights are stored as float16 or uint8 in TF.js's
 * manifest convention (any TF.js loader reads them back as float32), and model.json's
 * `userDefinedMetadata.quantization` says which; the recorded sizes and sha256 are those of the
 * stored bytes.
 *
 * @example
 * ```ts
 * await saveWeights(model.backbone, 'file://out/backbone', { config: { depth: 50 } });
 * await saveWeights(model.backbone, 'file://out/backbone-u8', { quantization: 'uint8' }); // about 4x smaller
 * ```
 */
export async function saveWeights(layer: TorchLayer, location: WeightsLocation, options: SaveWeightsOptions = {}): Promise<tf.io.SaveResult> {
  checkQuantizeOptions(options, 'saveWeights');
  const named: tf.NamedTensorMap = {};
  for (const [key, p] of layer.stateDict()) named[key] = p.variable.read();
  const encoded = await tf.io.encodeWeights(named);
  const { data, specs } = quantizeWeightData(encoded.data, encoded.specs, options);
  const handler = handlerFor(location, 'save');
  if (!handler.save) throw new Error('Error in saveWeights: the handler cannot save');
  // Our file handler records each shard's size and hash; other handlers get the whole data's.
  const integrity: Record<string, object> =
    handler instanceof NodeFileHandler ? {} : { [INTEGRITY_METADATA_KEY]: { bytes: data.byteLength, sha256: sha256Hex(new Uint8Array(data)) } };
  const quantization: Record<string, string> = options.quantization === undefined ? {} : { [QUANTIZATION_METADATA_KEY]: options.quantization };
  return handler.save({
    modelTopology: { class_name: layer.getClassName(), config: options.config ?? {} },
    format: NATIVE_FORMAT,
    generatedBy: 'maskrcnn-tfjs',
    convertedBy: null,
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: { layout: NATIVE_LAYOUT, ...(options.metadata ?? {}), ...quantization, ...integrity },
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
 * be built from the configuration it holds (see {@link configOf}). The weight data's size must be
 * what the weight specs need; {@link applyWeightsArtifacts} then checks the sha256 the save
 * recorded (when it did).
 */
export async function readWeightsArtifacts(location: WeightsLocation, options: ReadWeightsOptions = {}): Promise<tf.io.ModelArtifacts> {
  const handler = handlerFor(location, 'load');
  if (!handler.load) throw new Error('Error in loadWeights: the handler cannot load');
  const where = typeof location === 'string' ? location : handler instanceof NodeFileHandler ? handler.modelJsonPath : 'the given handler';
  const header = (format: string | undefined, meta: unknown, specs: tf.io.WeightsManifestEntry[] | undefined, topology: unknown): void => {
    if (format !== NATIVE_FORMAT || specs === undefined) {
      throw new Error(`Error in loadWeights: ${where} is not a ${NATIVE_FORMAT} model (format '${format}')`);
    }
    const metadata = (meta ?? {}) as Record<string, unknown>;
    options.beforeWeights?.(configOf({ modelTopology: topology as tf.io.ModelArtifacts['modelTopology'], userDefinedMetadata: metadata as {} }), specs);
  };
  let artifacts: tf.io.ModelArtifacts;
  if (handler instanceof NodeFileHandler) {
    // model.json is checked before any shard is read.
    const json = await handler.readModelJson();
    header(json.format, json.userDefinedMetadata, tf.io.getWeightSpecs(json.weightsManifest), json.modelTopology);
    artifacts = await handler.loadFrom(json);
  } else {
    artifacts = await handler.load();
    header(artifacts.format, artifacts.userDefinedMetadata, artifacts.weightSpecs, artifacts.modelTopology);
  }
  if (artifacts.weightData === undefined) throw new Error(`Error in loadWeights: ${where} holds no weight data`);
  const metadata = (artifacts.userDefinedMetadata ?? {}) as Record<string, unknown>;
  if (metadata.layout !== NATIVE_LAYOUT) {
    throw new Error(`Error in loadWeights: ${where} has weight layout '${String(metadata.layout)}', expected '${NATIVE_LAYOUT}'`);
  }
  // Sizes now; the recorded hashes are checked once, when the weights are applied.
  checkWeightDataSize(artifacts, where);
  return artifacts;
}

/**
 * Options of {@link readWeightsArtifacts}.
 *
 * @example
 * ```ts
 * const artifacts = await readWeightsArtifacts('file://out/model.json', {
 *   beforeWeights: (info) => {
 *     if (info.config.numClasses !== 5) throw new Error('not my model'); // no shard read yet
 *   },
 * });
 * ```
 */
export interface ReadWeightsOptions {
  /**
   * Called with the saved configuration and the weight specs before the weight data is read
   * (file://) or used (other handlers); throwing stops the load. For checks that must run before
   * anything large is read or allocated.
   */
  beforeWeights?: (info: LoadedWeightsInfo, specs: readonly tf.io.WeightsManifestEntry[]) => void;
}

/** The configuration and metadata saved with the weights. */
export function configOf(artifacts: tf.io.ModelArtifacts): LoadedWeightsInfo {
  const topology = (artifacts.modelTopology ?? {}) as { config?: Record<string, unknown> };
  return { config: topology.config ?? {}, metadata: (artifacts.userDefinedMetadata ?? {}) as Record<string, unknown> };
}

function weightDataBytes(data: tf.io.WeightData): number {
  return Array.isArray(data) ? data.reduce((a, b) => a + b.byteLength, 0) : data.byteLength;
}

/** Checks that the weight data holds exactly the bytes the weight specs need. */
function checkWeightDataSize(artifacts: tf.io.ModelArtifacts, where: string): void {
  const specs = artifacts.weightSpecs;
  const data = artifacts.weightData;
  if (specs === undefined || data === undefined) throw new Error(`Error in loadWeights: ${where} holds no weights`);
  const need = weightSpecsBytes(specs, where);
  const have = weightDataBytes(data);
  if (need !== have) {
    throw new Error(`Error in loadWeights: ${where}: the weight data has ${have} bytes but its weight specs need ${need} (${have < need ? 'truncated' : 'overlong'})`);
  }
}

/**
 * Checks the weight data's size against its specs, and its sha256 against what the save
 * recorded, if anything: per shard (`userDefinedMetadata.weightsShards`, written by our file
 * handler, whatever handler loads it back) or for the whole data
 * (`userDefinedMetadata.weightsIntegrity`, other handlers). The one place hashes are checked.
 */
function checkWeightData(artifacts: tf.io.ModelArtifacts, where: string): void {
  checkWeightDataSize(artifacts, where);
  const data = artifacts.weightData as tf.io.WeightData;
  const have = weightDataBytes(data);
  const shards = shardRecordsOf(artifacts.userDefinedMetadata, where);
  const recorded = ((artifacts.userDefinedMetadata ?? {}) as Record<string, unknown>)[INTEGRITY_METADATA_KEY];
  if (shards === undefined && recorded === undefined) return;
  const all = new Uint8Array(Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data);
  if (shards !== undefined) {
    const total = shards.reduce((a, s) => a + s.bytes, 0);
    if (total !== have) throw new Error(`Error in loadWeights: ${where}: the weight data has ${have} bytes, the save recorded ${total} in its shards`);
    let offset = 0;
    for (const s of shards) {
      const sha = sha256Hex(all.subarray(offset, offset + s.bytes));
      offset += s.bytes;
      if (sha !== s.sha256) throw new Error(`Error in loadWeights: ${where}: weight shard ${s.path} is corrupt (sha256 ${sha}, expected ${s.sha256})`);
    }
  }
  if (recorded !== undefined) {
    const r = recorded as { bytes?: unknown; sha256?: unknown };
    if (r === null || typeof r !== 'object' || typeof r.bytes !== 'number' || typeof r.sha256 !== 'string') {
      throw new Error(`Error in loadWeights: ${where}: userDefinedMetadata.${INTEGRITY_METADATA_KEY} is malformed (expected { bytes, sha256 })`);
    }
    if (r.bytes !== have) throw new Error(`Error in loadWeights: ${where}: the weight data has ${have} bytes, the save recorded ${r.bytes}`);
    const sha = sha256Hex(all);
    if (sha !== r.sha256) throw new Error(`Error in loadWeights: ${where}: the weight data is corrupt (sha256 ${sha}, the save recorded ${r.sha256})`);
  }
}

const list = (items: string[], n: number, sep = ', '): string =>
  `${items.slice(0, n).join(sep)}${items.length > n ? ` and ${items.length - n} more` : ''}`;

/**
 * Writes read artifacts into `layer`, all or nothing (see {@link loadWeights}): the data's size and
 * recorded sha256 and every spec are checked first (known name, no duplicate, the variable's
 * shape and dtype, the bytes it needs),
 * then the weights are decoded and written. On any error the layer's weights are unchanged and no
 * tensor is left behind.
 *
 * @example
 * ```ts
 * const artifacts = await readWeightsArtifacts('file://out/model.json');
 * const model = new MaskRCNN(configOf(artifacts).config);
 * applyWeightsArtifacts(model, artifacts, 'out/model.json');
 * ```
 */
export function applyWeightsArtifacts(layer: TorchLayer, artifacts: tf.io.ModelArtifacts, where: string): LoadedWeightsInfo {
  checkWeightData(artifacts, where);
  const specs = artifacts.weightSpecs as tf.io.WeightsManifestEntry[];
  const data = artifacts.weightData as tf.io.WeightData;
  const params = layer.stateDict();
  const seen = new Set<string>();
  const duplicate: string[] = [];
  const unexpected: string[] = [];
  const misShaped: string[] = [];
  const misTyped: string[] = [];
  for (const spec of specs) {
    weightSpecBytes(spec, where); // well formed
    if (seen.has(spec.name)) duplicate.push(spec.name);
    seen.add(spec.name);
    const p = params.get(spec.name);
    if (p === undefined) {
      unexpected.push(spec.name);
      continue;
    }
    if (spec.shape.join(',') !== p.variable.shape.join(',')) {
      misShaped.push(`${spec.name} expected [${p.variable.shape.join(', ')}] found [${spec.shape.join(', ')}]`);
    }
    if (spec.dtype !== p.variable.dtype) misTyped.push(`${spec.name} expected ${p.variable.dtype} found ${spec.dtype}`);
  }
  const missing = [...params.keys()].filter((k) => !seen.has(k));
  if (missing.length || unexpected.length || misShaped.length || misTyped.length || duplicate.length) {
    const parts = [
      missing.length ? `missing ${list(missing, 5)}` : '',
      unexpected.length ? `unexpected ${list(unexpected, 5)}` : '',
      duplicate.length ? `duplicate ${list(duplicate, 5)}` : '',
      misShaped.length ? `mis-shaped ${list(misShaped, 3, '; ')}` : '',
      misTyped.length ? `wrong dtype ${list(misTyped, 3, '; ')}` : '',
    ].filter((s) => s !== '');
    throw new Error(`Error in loadWeights: ${where} does not match the model (nothing was loaded): ${parts.join('; ')}`);
  }
  // decodeWeights may throw half way; tidy frees what it made then.
  const tensors = tf.tidy(() => tf.io.decodeWeights(data, specs));
  try {
    for (const [k, p] of params) p.variable.write(tensors[k]);
  } finally {
    tf.dispose(tensors);
  }
  return configOf(artifacts);
}
