/**
 * NodeFileHandler's two ways of not keeping weights twice: a shard equal to one of
 * `reuseShardsFrom` is hard-linked to it (bytes compared first; written when they differ or the
 * folder is absent), and the shards of the model.json a save replaces that the new one no longer
 * lists are removed, ours only.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { NodeFileHandler, SHARD_BYTES } from '../../src/io/file_handler';

/** `n` float32 values, value i = i * scale, as artifacts of one weight `w`. */
function artifacts(n: number, scale = 1): tf.io.ModelArtifacts {
  const data = Float32Array.from({ length: n }, (_, i) => i * scale);
  return { modelTopology: {}, weightSpecs: [{ name: 'w', shape: [n], dtype: 'float32' }], weightData: data.buffer };
}

const inode = (p: string): number => fs.statSync(p).ino;

describe('NodeFileHandler shards', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shard-links-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const n = Math.floor((2.5 * SHARD_BYTES) / 4); // three shards, the last one half full

  it('hard-links shards identical to those of reuseShardsFrom, writes the others, and loads the same', async () => {
    const ckpt = path.join(dir, 'step-000005', 'weights');
    await new NodeFileHandler(ckpt).save(artifacts(n));
    const model = path.join(dir, 'model');
    const changed = artifacts(n);
    new Float32Array(changed.weightData as ArrayBuffer)[n - 1] = -1; // only the last shard differs
    const handler = new NodeFileHandler(model, { reuseShardsFrom: ckpt });
    await handler.save(changed);
    expect(handler.lastSave).toEqual({ shards: 3, linked: 2, linkedBytes: 2 * SHARD_BYTES, removedStale: 0 });
    for (const s of ['group1-shard1of3.bin', 'group1-shard2of3.bin']) {
      expect(inode(path.join(model, s))).toBe(inode(path.join(ckpt, s)));
      expect(fs.statSync(path.join(model, s)).nlink).toBe(2);
    }
    expect(inode(path.join(model, 'group1-shard3of3.bin'))).not.toBe(inode(path.join(ckpt, 'group1-shard3of3.bin')));
    const same = async (): Promise<boolean> => {
      const loaded = await new NodeFileHandler(model).load();
      return Buffer.from(loaded.weightData as ArrayBuffer).equals(Buffer.from(changed.weightData as ArrayBuffer));
    };
    expect(await same()).toBe(true);
    // Deleting the checkpoint (retention) leaves the model whole.
    fs.rmSync(path.join(dir, 'step-000005'), { recursive: true });
    expect(await same()).toBe(true);
  });

  it('writes every shard when reuseShardsFrom is absent or holds other bytes', async () => {
    const absent = new NodeFileHandler(path.join(dir, 'a'), { reuseShardsFrom: path.join(dir, 'nowhere') });
    await absent.save(artifacts(n));
    expect(absent.lastSave).toMatchObject({ shards: 3, linked: 0 });
    const other = new NodeFileHandler(path.join(dir, 'b'), { reuseShardsFrom: path.join(dir, 'a') });
    await other.save(artifacts(n, 2));
    expect(other.lastSave).toMatchObject({ shards: 3, linked: 0 });
  });

  it('removes the replaced model\'s shards that the new model.json no longer lists, and nothing else', async () => {
    const model = path.join(dir, 'model');
    await new NodeFileHandler(model).save(artifacts(n));
    fs.writeFileSync(path.join(model, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(model, 'group1-shard9of9.bin'), 'not listed by model.json');
    const smaller = new NodeFileHandler(model);
    await smaller.save(artifacts(100)); // one shard now
    expect(smaller.lastSave).toMatchObject({ shards: 1, removedStale: 3 }); // shard 1, 2 and 3 of 3
    expect(fs.readdirSync(model).sort()).toEqual(['group1-shard1of1.bin', 'group1-shard9of9.bin', 'model.json', 'notes.txt']);
  });
});
