/**
 * A `file://` IOHandler for Node that writes and reads the standard TF.js layout: `model.json`
 * (topology + weightsManifest) and binary weight shards `group1-shardKofN.bin`.
 *
 * tfjs-node brings its own `file://` handler; plain tfjs (wasm, cpu) in Node has none, so we
 * register this one when no other handler claims the scheme. The files are the ones
 * `tf.io.http` loads in a browser.
 *
 * Saving is crash-safe: every file is written under a temporary name, then renamed over the old
 * one, model.json last, so an interrupted save leaves the previous model loadable.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

/** TF.js's usual shard size: 4 MiB. */
export const SHARD_BYTES = 4 * 1024 * 1024;
const MODEL_JSON = 'model.json';

function concat(data: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/** An IOHandler on a folder (or on a model.json path inside it). */
export class NodeFileHandler implements tf.io.IOHandler {
  readonly dir: string;
  readonly modelJsonPath: string;

  constructor(location: string) {
    const p = location.startsWith('file://') ? location.slice('file://'.length) : location;
    if (p === '') throw new Error('Error in NodeFileHandler: empty path');
    this.modelJsonPath = p.endsWith('.json') ? path.resolve(p) : path.resolve(p, MODEL_JSON);
    this.dir = path.dirname(this.modelJsonPath);
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    await fs.mkdir(this.dir, { recursive: true });
    const data = new Uint8Array(artifacts.weightData ? concat(artifacts.weightData) : new ArrayBuffer(0));
    const n = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
    const paths = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
    const manifest: tf.io.WeightsManifestConfig = [{ paths, weights: artifacts.weightSpecs ?? [] }];
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as tf.io.ModelJSON['modelTopology'],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: manifest,
      userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    const tmp = `.tmp-${process.pid}-${Date.now()}`;
    const writes: [string, Uint8Array | string][] = paths.map((p, i) => [
      p,
      data.subarray(i * SHARD_BYTES, Math.min(data.byteLength, (i + 1) * SHARD_BYTES)),
    ]);
    writes.push([path.basename(this.modelJsonPath), JSON.stringify(modelJson)]);
    for (const [name, content] of writes) await fs.writeFile(path.join(this.dir, name + tmp), content);
    for (const [name] of writes) await fs.rename(path.join(this.dir, name + tmp), path.join(this.dir, name));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    let text: string;
    try {
      text = await fs.readFile(this.modelJsonPath, 'utf8');
    } catch (e) {
      throw new Error(`Error loading ${this.modelJsonPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    let json: tf.io.ModelJSON;
    try {
      json = JSON.parse(text) as tf.io.ModelJSON;
    } catch (e) {
      throw new Error(`Error loading ${this.modelJsonPath}: not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(json.weightsManifest)) throw new Error(`Error loading ${this.modelJsonPath}: no weightsManifest`);
    return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const buffers: ArrayBuffer[] = [];
      for (const group of manifest) {
        for (const p of group.paths) {
          const file = path.join(this.dir, p);
          const b = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
            throw new Error(`Error loading ${this.modelJsonPath}: weight shard ${file} ${e.code === 'ENOENT' ? 'is missing' : e.message}`);
          });
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
        }
      }
      return [tf.io.getWeightSpecs(manifest), tf.io.concatenateArrayBuffers(buffers)];
    });
  }
}

let registered = false;

/** Registers {@link NodeFileHandler} for `file://` unless another handler (tfjs-node) has it. */
export function registerFileRouter(): void {
  if (registered || typeof process === 'undefined' || !process.versions?.node) return;
  registered = true;
  const probe = 'file:///tmp/maskrcnn-probe';
  // tfjs routers return null for URLs they do not handle, though the type says IOHandler.
  const router = ((url: string | string[]) => {
    const u = Array.isArray(url) ? url[0] : url;
    return u.startsWith('file://') ? new NodeFileHandler(u) : null;
  }) as Parameters<typeof tf.io.registerSaveRouter>[0];
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(router);
  if (tf.io.getLoadHandlers(probe).length === 0) tf.io.registerLoadRouter(router);
}
