import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  CHECKPOINT_FORMAT,
  type CheckpointProgress,
  type OptimizerStateRecord,
  checkpointName,
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/train/checkpoint';
import { Rng } from '../../src/util/random';
import { describeEachBackend, useBackend } from '../support/backends';
import { TinyNet, emptyTinyNet, seededTinyNet, weightValues } from './support/tiny_model';

const roots: string[] = [];
function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-test-'));
  roots.push(root);
  return root;
}
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function optimizerState(seed: number): OptimizerStateRecord {
  const rng = new Rng(seed);
  const arr = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return {
    scalars: { step: seed, lr: 0.02 },
    arrays: new Map([
      ['conv1.weight/m', { shape: [3, 3, 3, 4], data: arr(108) }],
      ['conv1.weight/v', { shape: [3, 3, 3, 4], data: arr(108) }],
      ['scalar/slot', { shape: [], data: arr(1) }],
      ['empty/slot', { shape: [0, 2], data: new Float32Array(0) }],
    ]),
  };
}

async function save(root: string, step: number, model: TinyNet, extra: { keep?: number } = {}): Promise<string> {
  const rng = new Rng(100 + step);
  return saveCheckpoint(
    root,
    { model, modelConfig: { channels: model.channels }, optimizerState: optimizerState(step), step, epoch: step >> 1, rngState: rng.getState(), trainConfig: { lr: 0.02 } },
    extra,
  );
}

function expectSameWeights(a: TinyNet, b: TinyNet): void {
  const wa = weightValues(a);
  const wb = weightValues(b);
  expect([...wb.keys()]).toEqual([...wa.keys()]);
  for (const [k, v] of wa) expect(wb.get(k)).toEqual(v);
}

describeEachBackend('checkpoint round trip', () => {
  it('restores weights, optimizer arrays, step, epoch, configs, metrics and the rng stream, without leaks', async () => {
    const root = tempRoot();
    const model = seededTinyNet(1);
    const rng = new Rng(42);
    for (let i = 0; i < 17; i++) rng.float();
    const opt = optimizerState(3);
    const fresh = emptyTinyNet();
    const before = tf.memory().numTensors;
    const dir = await saveCheckpoint(root, {
      model,
      modelConfig: { channels: 4, name: 'tiny' },
      optimizerState: opt,
      step: 123,
      epoch: 2,
      rngState: rng.getState(),
      trainConfig: { lr: 0.02, batch: 2, schedule: [8, 11] },
      metrics: { loss: 0.75, diverged: Number.NaN },
    });
    expect(dir).toBe(path.join(root, 'step-000123'));
    expect(fs.readFileSync(path.join(root, 'latest'), 'utf8')).toBe('step-000123\n');

    const loaded = await loadCheckpoint(root);
    loaded.applyWeights(fresh);
    expect(tf.memory().numTensors).toBe(before);
    expectSameWeights(model, fresh);
    expect(weightValues(fresh).get('conv1.weight')!.some((v) => v !== 0)).toBe(true);

    expect(loaded.dir).toBe(dir);
    expect(loaded.step).toBe(123);
    expect(loaded.epoch).toBe(2);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.modelConfig).toEqual({ channels: 4, name: 'tiny' });
    expect(loaded.trainConfig).toEqual({ lr: 0.02, batch: 2, schedule: [8, 11] });
    expect(loaded.metrics).toEqual({ loss: 0.75, diverged: null });
    expect(loaded.optimizerState.scalars).toEqual({ step: 3, lr: 0.02 });
    expect([...loaded.optimizerState.arrays.keys()]).toEqual([...opt.arrays.keys()]);
    for (const [k, a] of opt.arrays) {
      expect(loaded.optimizerState.arrays.get(k)!.shape).toEqual(a.shape);
      expect(loaded.optimizerState.arrays.get(k)!.data).toEqual(a.data);
    }
    const resumed = Rng.fromState(loaded.rngState);
    const expected = Array.from({ length: 20 }, () => rng.float());
    expect(Array.from({ length: 20 }, () => resumed.float())).toEqual(expected);

    expect(loaded.manifest.format).toBe(CHECKPOINT_FORMAT);
    const listed = loaded.manifest.files.map((f) => f.path);
    expect(listed).toEqual(expect.arrayContaining(['optimizer.bin', 'weights/model.json', 'weights/group1-shard1of1.bin']));
    expect(fs.statSync(path.join(dir, 'optimizer.bin')).size).toBe((108 + 108 + 1) * 4);
    for (const f of loaded.manifest.files) {
      expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(fs.statSync(path.join(dir, f.path)).size).toBe(f.bytes);
    }
    // Loading the folder directly gives the same checkpoint.
    expect((await loadCheckpoint(dir)).step).toBe(123);
    model.dispose();
    fresh.dispose();
  });
});

describe('checkpoint folders', () => {
  beforeAll(() => useBackend('cpu'));

  it('keeps the newest `keep` checkpoints and never touches other files or folders', async () => {
    const root = tempRoot();
    const model = seededTinyNet(2);
    fs.mkdirSync(path.join(root, 'notes'));
    fs.writeFileSync(path.join(root, 'notes', 'a.txt'), 'mine');
    fs.writeFileSync(path.join(root, 'step-000000'), 'a file, not a checkpoint');
    fs.mkdirSync(path.join(root, 'step-000001'));
    fs.writeFileSync(path.join(root, 'step-000001', 'other.json'), '{}');
    fs.mkdirSync(path.join(root, 'step-000099')); // not ours: must not take one of the `keep` places
    fs.mkdirSync(path.join(root, '.step-000009.tmp-1')); // pid 1 is alive: not ours to delete
    const progress: string[] = [];
    for (const step of [2, 3, 4, 5]) {
      await saveCheckpoint(
        root,
        { model, modelConfig: {}, step, epoch: 0, rngState: new Rng(step).getState(), trainConfig: {} },
        { keep: 2, onProgress: (e: CheckpointProgress) => void progress.push(e.stage) },
      );
    }
    expect(fs.readdirSync(root).sort()).toEqual(['.step-000009.tmp-1', 'latest', 'notes', 'step-000000', 'step-000001', 'step-000004', 'step-000005', 'step-000099']);
    expect(fs.readFileSync(path.join(root, 'notes', 'a.txt'), 'utf8')).toBe('mine');
    expect(await listCheckpoints(root)).toEqual([99, 5, 4, 1]);
    expect(progress.slice(0, 6)).toEqual(['started', 'file-written', 'file-written', 'file-written', 'file-written', 'folder-committed']);
    expect(progress[6]).toBe('latest-updated');
    const latest = await latestCheckpoint(root);
    expect(latest!.step).toBe(5);
    expect(latest!.optimizerState.arrays.size).toBe(0);
    model.dispose();
  });

  it('replaces a checkpoint of the same step (a rerun from an earlier point)', async () => {
    const root = tempRoot();
    const a = seededTinyNet(3);
    const b = seededTinyNet(4);
    await save(root, 10, a);
    await save(root, 10, b);
    expect(fs.readdirSync(root).sort()).toEqual(['latest', 'step-000010']);
    const fresh = emptyTinyNet();
    (await loadCheckpoint(root)).applyWeights(fresh);
    expectSameWeights(b, fresh);
    [a, b, fresh].forEach((m) => m.dispose());
  });

  it('rejects a second concurrent save to the same directory', async () => {
    const root = tempRoot();
    const model = seededTinyNet(3);
    const first = save(root, 1, model);
    await expect(save(root, 2, model)).rejects.toThrow(`another save to ${root} is in progress`);
    await first;
    await save(root, 2, model);
    expect(await listCheckpoints(root)).toEqual([2, 1]);
    model.dispose();
  });

  it('cleans up leftovers of dead writers and of this process, and restores a checkpoint moved aside', async () => {
    const root = tempRoot();
    const model = seededTinyNet(3);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    await save(root, 4, model);
    // A same-step replacement interrupted between moving the old folder aside and renaming the new one in.
    fs.renameSync(path.join(root, 'step-000004'), path.join(root, `.step-000004.old-${deadPid}`));
    fs.mkdirSync(path.join(root, `.step-000004.tmp-${deadPid}`));
    fs.mkdirSync(path.join(root, `.step-000003.tmp-${process.pid}`));
    fs.writeFileSync(path.join(root, `latest.tmp-${deadPid}`), 'step-000004\n');
    await save(root, 5, model);
    expect(fs.readdirSync(root).sort()).toEqual(['latest', 'step-000004', 'step-000005']);
    expect((await loadCheckpoint(path.join(root, 'step-000004'))).step).toBe(4);
    model.dispose();
  });

  it('refuses to replace a same-named folder that is not one of ours', async () => {
    const root = tempRoot();
    fs.mkdirSync(path.join(root, 'step-000010'));
    fs.writeFileSync(path.join(root, 'step-000010', 'precious.txt'), 'x');
    const model = seededTinyNet(3);
    await expect(save(root, 10, model)).rejects.toThrow(/step-000010 exists and is not a checkpoint written by saveCheckpoint/);
    expect(fs.readFileSync(path.join(root, 'step-000010', 'precious.txt'), 'utf8')).toBe('x');
    model.dispose();
  });

  it('rejects bad arguments with messages naming them', async () => {
    const root = tempRoot();
    const model = seededTinyNet(3);
    const base = { model, modelConfig: {}, step: 1, epoch: 0, rngState: new Rng(1).getState(), trainConfig: {} };
    await expect(saveCheckpoint(root, { ...base, step: -1 })).rejects.toThrow('step must be a non-negative integer, got -1');
    await expect(saveCheckpoint(root, { ...base, epoch: 1.5 })).rejects.toThrow('epoch must be a non-negative integer, got 1.5');
    await expect(saveCheckpoint(root, base, { keep: 0 })).rejects.toThrow('options.keep must be an integer >= 1, got 0');
    await expect(saveCheckpoint(root, { ...base, rngState: { a: 1, b: 2, c: -3, d: 4 } })).rejects.toThrow('rngState.c must be an unsigned 32-bit integer');
    const badShape = { scalars: {}, arrays: new Map([['m', { shape: [2, 2], data: new Float32Array(3) }]]) };
    await expect(saveCheckpoint(root, { ...base, optimizerState: badShape })).rejects.toThrow("optimizerState.arrays 'm' has shape [2, 2] (4 values) but 3 values");
    const badScalar = { scalars: { lr: Number.POSITIVE_INFINITY }, arrays: new Map() };
    await expect(saveCheckpoint(root, { ...base, optimizerState: badScalar })).rejects.toThrow('optimizerState.scalars.lr must be a finite number');
    expect(await listCheckpoints(root)).toEqual([]);
    model.dispose();
  });
});

describe('damaged checkpoints', () => {
  beforeAll(() => useBackend('cpu'));
  let root: string;
  let good: TinyNet;
  let newer: TinyNet;

  beforeEach(async () => {
    root = tempRoot();
    good = seededTinyNet(5);
    newer = seededTinyNet(6);
    await save(root, 1, good);
    await save(root, 2, newer);
  });
  afterEach(() => {
    good.dispose();
    newer.dispose();
  });

  async function expectFallbackToStep1(warning: RegExp): Promise<void> {
    const loaded = await latestCheckpoint(root);
    expect(loaded!.step).toBe(1);
    expect(loaded!.warnings.join('\n')).toMatch(warning);
    const fresh = emptyTinyNet();
    loaded!.applyWeights(fresh);
    expectSameWeights(good, fresh);
    fresh.dispose();
  }

  it('a truncated weight shard is named, and latest falls back to the previous checkpoint', async () => {
    const shard = path.join(root, 'step-000002', 'weights', 'group1-shard1of1.bin');
    const size = fs.statSync(shard).size;
    fs.truncateSync(shard, size - 10);
    await expect(loadCheckpoint(path.join(root, 'step-000002'))).rejects.toThrow(`${shard} has ${size - 10} bytes, expected ${size} (truncated)`);
    await expectFallbackToStep1(/latest names step-000002, which cannot be used: .*group1-shard1of1\.bin has \d+ bytes/);
  });

  it('a flipped byte fails the checksum, naming the file', async () => {
    const file = path.join(root, 'step-000002', 'optimizer.bin');
    const data = fs.readFileSync(file);
    data[5] ^= 0x40;
    fs.writeFileSync(file, data);
    await expect(loadCheckpoint(root)).resolves.toMatchObject({ step: 1 });
    await expect(loadCheckpoint(path.join(root, 'step-000002'))).rejects.toThrow(`${file} fails its sha256 checksum`);
    await expectFallbackToStep1(/optimizer\.bin fails its sha256 checksum/);
  });

  it('a missing manifest or an edited manifest is named', async () => {
    const manifest = path.join(root, 'step-000002', 'checkpoint.json');
    const json = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { step: number };
    json.step = 99;
    fs.writeFileSync(manifest, JSON.stringify(json));
    await expect(loadCheckpoint(path.join(root, 'step-000002'))).rejects.toThrow(`${manifest} fails its checksum`);
    fs.rmSync(manifest);
    await expect(loadCheckpoint(path.join(root, 'step-000002'))).rejects.toThrow(`${manifest} is missing`);
    await expectFallbackToStep1(/checkpoint\.json is missing/);
  });

  it('a missing or dangling latest pointer falls back to the newest checkpoint that verifies', async () => {
    fs.rmSync(path.join(root, 'latest'));
    expect((await latestCheckpoint(root))!.step).toBe(2);
    expect((await latestCheckpoint(root))!.warnings.join()).toMatch(/latest is missing/);
    fs.writeFileSync(path.join(root, 'latest'), 'step-000007\n');
    const loaded = await latestCheckpoint(root);
    expect(loaded!.step).toBe(2);
    expect(loaded!.warnings.join()).toMatch(/names step-000007.*does not exist/);
  });

  it('when nothing verifies, the error lists every damaged file; an empty directory has no checkpoint', async () => {
    fs.rmSync(path.join(root, 'step-000002', 'weights', 'model.json'));
    fs.truncateSync(path.join(root, 'step-000001', 'optimizer.bin'), 4);
    const err = await latestCheckpoint(root).then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/no checkpoint in .* verifies/);
    expect(err).toContain(path.join(root, 'step-000002', 'weights', 'model.json') + ' is missing');
    expect(err).toContain(path.join(root, 'step-000001', 'optimizer.bin') + ' has 4 bytes');
    const empty = tempRoot();
    expect(await latestCheckpoint(empty)).toBeUndefined();
    await expect(loadCheckpoint(empty)).rejects.toThrow(`${empty} holds no checkpoint`);
    await expect(loadCheckpoint(path.join(empty, checkpointName(3)))).rejects.toThrow('step-000003 does not exist');
  });

  it('a model that does not match is rejected without writing anything', async () => {
    const loaded = await loadCheckpoint(root);
    const other = emptyTinyNet(5);
    expect(() => loaded.applyWeights(other)).toThrow(/does not match the model \(nothing was loaded\)/);
    expect(weightValues(other).get('conv1.weight')!.every((v) => v === 0)).toBe(true);
    other.dispose();
  });
});

interface ChildRun {
  lines: string[];
  stderr: string;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** Runs the writer child and SIGKILLs it on the first stdout line that `killOn` matches. */
function runChild(root: string, payloadMb: number, killOn: RegExp, pauseAt?: string): Promise<ChildRun> {
  const script = path.join(__dirname, 'support', 'checkpoint_writer_child.js');
  const args = [script, root, String(payloadMb), ...(pauseAt === undefined ? [] : [pauseAt])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { lines: [], stderr: '', signal: null, code: null };
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        run.lines.push(line);
        if (killOn.test(line)) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ ...run, code, signal }));
  });
}

async function expectStep1Survives(root: string, run: ChildRun): Promise<void> {
  expect(run.stderr).not.toMatch(/Error/);
  expect(run.signal).toBe('SIGKILL');
  expect(run.lines).not.toContain('finished');
  expect(fs.readFileSync(path.join(root, 'latest'), 'utf8')).toBe('step-000001\n');
  const loaded = await latestCheckpoint(root);
  expect(loaded!.step).toBe(1);
  expect(loaded!.warnings).toEqual([]);
  expect(loaded!.optimizerState.arrays.get('m')!.data).toEqual(new Float32Array([1, 2, 3]));
  const fresh = emptyTinyNet();
  loaded!.applyWeights(fresh);
  const reference = seededTinyNet(1);
  expectSameWeights(reference, fresh);
  fresh.dispose();
  reference.dispose();
}

/** The next save removes the dead child's temp folder and leaves the other checkpoints alone. */
async function expectNextSaveCleansUp(root: string): Promise<void> {
  const model = seededTinyNet(7);
  await save(root, 3, model);
  const left = fs.readdirSync(root).filter((n) => n.startsWith('.'));
  expect(left).toEqual([]);
  expect((await latestCheckpoint(root))!.step).toBe(3);
  expect((await loadCheckpoint(path.join(root, 'step-000001'))).step).toBe(1);
  model.dispose();
}

describe('killing the writer mid-checkpoint', () => {
  beforeAll(() => useBackend('cpu'));

  it('SIGKILL while files are being written (a 128 MB optimizer slot) leaves the previous checkpoint loadable', async () => {
    const root = tempRoot();
    const run = await runChild(root, 128, /^progress started /);
    await expectStep1Survives(root, run);
    const temps = fs.readdirSync(root).filter((n) => /^\.step-000002\.tmp-\d+-[0-9a-z]+$/.test(n));
    expect(temps).toHaveLength(1);
    // The kill landed before the manifest was written.
    expect(fs.existsSync(path.join(root, temps[0], 'checkpoint.json'))).toBe(false);
    await expectNextSaveCleansUp(root);
  });

  it('SIGKILL after every file but the manifest is written leaves the previous checkpoint loadable', async () => {
    const root = tempRoot();
    const run = await runChild(root, 1, /^paused$/, 'optimizer.bin');
    expect(run.lines).toContain('progress file-written optimizer.bin');
    await expectStep1Survives(root, run);
    await expectNextSaveCleansUp(root);
  });

  it('SIGKILL after the folder is committed but before latest moves keeps latest on the previous checkpoint', async () => {
    const root = tempRoot();
    const run = await runChild(root, 1, /^paused$/, 'folder-committed');
    await expectStep1Survives(root, run);
    // The new folder is complete and verifies on its own.
    expect((await loadCheckpoint(path.join(root, 'step-000002'))).step).toBe(2);
    await expectNextSaveCleansUp(root);
  });
});
