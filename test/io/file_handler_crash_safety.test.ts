/**
 * NodeFileHandler.save is crash-safe through atomic_file.ts: every shard and model.json fsynced
 * under a temporary name before any rename, model.json renamed last, the folder fsynced after; a
 * save that fails part way leaves the previous model loadable and no temporary file; the next
 * save clears what a killed one left.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { NodeFileHandler, SHARD_BYTES } from '../../src/io/file_handler';
import { deadPid, diskFullAfter, recordSyncsAndRenames, withoutTokens } from './support/fs_spies';

/** `n` float32 values, value i = i * scale, as artifacts of one weight `w`. */
function artifacts(n: number, scale = 1): tf.io.ModelArtifacts {
  const data = Float32Array.from({ length: n }, (_, i) => i * scale);
  return { modelTopology: {}, weightSpecs: [{ name: 'w', shape: [n], dtype: 'float32' }], weightData: data.buffer };
}

async function loadedValues(dir: string): Promise<Float32Array> {
  const loaded = await new NodeFileHandler(dir).load();
  return new Float32Array(loaded.weightData as ArrayBuffer);
}

describe('NodeFileHandler.save crash safety', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-handler-save-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const n = Math.floor((1.5 * SHARD_BYTES) / 4); // two shards

  it('fsyncs every file before the first rename, renames model.json last, then fsyncs the folder', async () => {
    const model = path.join(dir, 'model');
    await new NodeFileHandler(model).save(artifacts(n)); // a model to replace
    const { events, restore } = await recordSyncsAndRenames(dir);
    try {
      await new NodeFileHandler(model).save(artifacts(n, 2));
    } finally {
      restore();
    }
    expect(events.map(withoutTokens)).toEqual([
      'sync .group1-shard1of2.bin.tmp',
      'sync .group1-shard2of2.bin.tmp',
      'sync .model.json.tmp',
      'rename .group1-shard1of2.bin.tmp -> group1-shard1of2.bin',
      'rename .group1-shard2of2.bin.tmp -> group1-shard2of2.bin',
      'rename .model.json.tmp -> model.json',
      'sync model',
    ]);
    expect((await loadedValues(model))[7]).toBe(14);
  });

  it('a save whose disk fills part way leaves the previous model loadable and no temporary file', async () => {
    const model = path.join(dir, 'model');
    await new NodeFileHandler(model).save(artifacts(n));
    const before = fs.readdirSync(model).sort();
    const full = await diskFullAfter(dir, 1); // the first shard is written, the second fails
    try {
      await expect(new NodeFileHandler(model).save(artifacts(n, 3))).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      full.restore();
    }
    expect(fs.readdirSync(model).sort()).toEqual(before);
    expect((await loadedValues(model))[7]).toBe(7);
  });

  it('the next save removes the temporary files a killed save left, ours only', async () => {
    const model = path.join(dir, 'model');
    fs.mkdirSync(model);
    const dead = deadPid();
    const leftovers = [`.model.json.tmp-${dead}-abcdefgh`, `.group1-shard1of2.bin.tmp-${dead}-abcdefgh`, `group1-shard1of1.bin.tmp-${dead}-1700000000000`];
    for (const f of leftovers) fs.writeFileSync(path.join(model, f), 'partial');
    fs.writeFileSync(path.join(model, `.notes.txt.tmp-${dead}-abcdefgh`), 'not ours');
    await new NodeFileHandler(model).save(artifacts(n));
    expect(fs.readdirSync(model).sort()).toEqual([`.notes.txt.tmp-${dead}-abcdefgh`, 'group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
  });
});
