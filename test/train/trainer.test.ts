/**
 * The training loop on a tiny shapes dataset (64 x 80 images, small RPN top-n and samplers) on
 * wasm with our training kernels: one backbone pass per step, resume equals an uninterrupted run, no tensor growth, frozen
 * weights stay put, NaN losses stop training with the last checkpoint intact, config errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../../src/data';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { MaskRCNN, type MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { latestCheckpoint } from '../../src/train/checkpoint';
import { resolveTrainConfig, type TrainConfig } from '../../src/train/train_config';
import { optimizerStateFromRecord, optimizerStateToRecord } from '../../src/train/checkpoint';
import { Trainer, TrainingDivergedError } from '../../src/train/trainer';
import { useBackend } from '../support/backends';
import { seededMaskRCNN } from '../support/seeded_model';

/** Bitwise equality of two float arrays (jest's toEqual walks 44M elements far too slowly). */
function sameBits(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function weights(model: MaskRCNN): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, p] of model.stateDict()) out.set(k, p.variable.read().dataSync() as Float32Array);
  return out;
}

let root: string;
let data: { annotationFile: string; imagesDir: string };

function config(outputDir: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    train: data,
    outputDir: path.join(root, outputDir),
    minSizes: [64],
    maxSize: 96,
    batchSize: 2,
    rpnPreNmsTopN: 100,
    rpnPostNmsTopN: 50,
    rpnBatchSizePerImage: 64,
    roiBatchSizePerImage: 32,
    lr: 0.01,
    warmupIters: 2,
    milestones: [3],
    seed: 3,
    maxSteps: 4,
    checkpointEvery: 2,
    keep: 1,
    ...extra,
  };
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'trainer-test-'));
  const ds = await generateShapesDataset({ outDir: path.join(root, 'shapes'), numImages: 6, width: 80, height: 64, seed: 5, shapesPerImage: [1, 2], sizeRange: [0.2, 0.4] });
  data = { annotationFile: ds.annotationFile, imagesDir: ds.imagesDir };
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('Trainer [wasm]', () => {
  it('resumed from a step-2 checkpoint, reaches the same weights, optimizer slots and lr at step 4; no tensor growth; frozen weights unchanged', async () => {
    const baseline = tf.memory().numTensors;
    const counts = new Map<number, number>();
    const full = await Trainer.create(config('full', { checkpointEvery: 100 }), { buildModel: (c) => seededMaskRCNN(c, 11), onStep: (s) => counts.set(s.step, tf.memory().numTensors) });
    const before = weights(full.model.network);
    const frozen = [...full.model.network.stateDict()].filter(([, p]) => !(p.trainable && p.variable.trainable)).map(([k]) => k);
    const backbonePasses = jest.spyOn(full.model.network.backbone, 'forward');
    const result = await full.run();
    expect(result.steps).toBe(4);
    // One backbone forward per training step (no evaluation in this run).
    expect(backbonePasses).toHaveBeenCalledTimes(4);
    backbonePasses.mockRestore();
    // No tensor growth once the optimizer slots exist.
    expect(counts.get(4)).toBe(counts.get(2));
    const after = weights(full.model.network);
    // Frozen: conv1, layer1 (trainableBackboneLayers 3) and every FrozenBatchNorm buffer.
    expect(frozen).toContain('backbone.body.conv1.weight');
    expect(frozen.some((k) => k.startsWith('backbone.body.layer1.'))).toBe(true);
    expect(frozen.filter((k) => k.startsWith('backbone.body.layer4.') && k.endsWith('running_mean')).length).toBeGreaterThan(0);
    expect(frozen.filter((k) => !sameBits(after.get(k), before.get(k)))).toEqual([]);
    expect(sameBits(after.get('roi_heads.box_predictor.cls_score.weight'), before.get('roi_heads.box_predictor.cls_score.weight'))).toBe(false);
    const fullState = full.optimizer.getState();
    const fullLr = full.schedule.lr;
    full.dispose();

    const first = await Trainer.create(config('resumed'), { buildModel: (c) => seededMaskRCNN(c, 11) });
    expect((await first.run(2)).steps).toBe(2);
    first.dispose();
    const resumed = await Trainer.create(config('resumed'), { resume: true });
    expect(resumed.step).toBe(2);
    await resumed.run();
    expect(resumed.step).toBe(4);
    const got = weights(resumed.model.network);
    expect([...after].filter(([k, v]) => !sameBits(got.get(k), v)).map(([k]) => k)).toEqual([]);
    const state = resumed.optimizer.getState();
    expect(state.step).toBe(fullState.step);
    expect([...state.slots.keys()]).toEqual([...fullState.slots.keys()]);
    const slotDiffs: string[] = [];
    for (const [k, slots] of fullState.slots) {
      const mine = state.slots.get(k) ?? [];
      slots.forEach((s, i) => {
        if (mine[i]?.name !== s.name || !sameBits(mine[i]?.values, s.values)) slotDiffs.push(`${k}/${s.name}`);
      });
    }
    expect(slotDiffs).toEqual([]);
    expect(resumed.schedule.lr).toBe(fullLr);
    expect(resumed.schedule.iteration).toBe(4);
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('stops on a NaN loss with an error naming the step and the losses; the previous checkpoint stays loadable', async () => {
    const trainer = await Trainer.create(config('nan', { checkpointEvery: 1 }), { buildModel: (c) => seededMaskRCNN(c, 11) });
    await trainer.run(1);
    const [, poisoned] = [...trainer.model.network.stateDict()].find(([k]) => k === 'rpn.head.cls_logits.weight') ?? [];
    expect(poisoned).toBeDefined();
    const nan = tf.fill(poisoned!.variable.read().shape, NaN);
    poisoned!.variable.write(nan);
    nan.dispose();
    const err = await trainer.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toMatch(/step 2: a loss is not finite; losses loss_objectness=NaN/);
    expect(trainer.step).toBe(1);
    trainer.dispose();
    const ckpt = await latestCheckpoint(path.join(root, 'nan'));
    expect(ckpt?.step).toBe(1);
    const fresh = withoutInitialization(() => new MaskRCNN(ckpt!.modelConfig as MaskRCNNConfig));
    ckpt!.applyWeights(fresh);
    const w = fresh.stateDict().get('rpn.head.cls_logits.weight')!.variable.read().dataSync();
    expect(Array.from(w).every(Number.isFinite)).toBe(true);
    fresh.dispose();
  });
});

describe('training config and optimizer-state adapter', () => {
  it('lists every bad field with what it must be', () => {
    expect(() => resolveTrainConfig({ outputDir: 'x', lr: -1, optimizer: 'rmsprop', minSizes: [], bogus: 1 }, 'train.json')).toThrow(
      /train\.json[\s\S]*bogus: unknown field[\s\S]*train: required[\s\S]*optimizer: must be one of sgd, adam, adamw[\s\S]*lr: must be a number in \(0, inf\), got -1[\s\S]*minSizes: must be a non-empty list/,
    );
    expect(() => resolveTrainConfig({ train: { annotationFile: 'a.json' }, outputDir: 'o', maxSteps: 2, epochs: 1 })).toThrow(/imagesDir[\s\S]*give one of them/);
    expect(() => resolveTrainConfig([1])).toThrow(/expected a JSON object/);
    const c = resolveTrainConfig({ train: { annotationFile: 'a.json', imagesDir: 'i' }, outputDir: 'o' });
    expect([c.optimizer, c.momentum, c.weightDecay, c.trainableBackboneLayers, c.gamma, c.warmupFactor]).toEqual(['sgd', 0.9, 1e-4, 3, 0.1, 0.001]);
  });

  it('takes the small-model architecture fields and checks them', () => {
    const base = { train: { annotationFile: 'a.json', imagesDir: 'i' }, outputDir: 'o' };
    const c = resolveTrainConfig({ ...base, depth: 18, fpnChannels: 64, representationSize: 256, maskLayers: [64, 64], maskDimReduced: 32 });
    expect([c.depth, c.fpnChannels, c.representationSize, c.maskLayers, c.maskDimReduced]).toEqual([18, 64, 256, [64, 64], 32]);
    // Left out, they stay undefined and the model's defaults (maskrcnn_resnet50_fpn's) apply.
    expect(resolveTrainConfig(base).fpnChannels).toBeUndefined();
    expect(() => resolveTrainConfig({ ...base, depth: 16, fpnChannels: 0, maskLayers: [], representationSize: 1.5 }, 'train.json')).toThrow(
      /depth: must be 18, 34, 50 or 101, got 16[\s\S]*fpnChannels: must be an integer in \[1, 8192\], got 0[\s\S]*representationSize: must be an integer[\s\S]*maskLayers: must be a list of 1 to 16 integers in \[1, 8192\], got \[\]/,
    );
  });

  it('maps optimizer slots to <key>/<slot> arrays and back', () => {
    const state = {
      kind: 'adam' as const,
      step: 3,
      slots: new Map([
        ['a.b.weight', [{ name: 'exp_avg', shape: [2], values: Float32Array.of(1, 2) }, { name: 'step', shape: [], values: Float32Array.of(3) }]],
      ]),
    };
    const record = optimizerStateToRecord(state, 7);
    expect([...record.arrays.keys()]).toEqual(['a.b.weight/exp_avg', 'a.b.weight/step']);
    expect(record.scalars).toEqual({ step: 3, scheduleIteration: 7 });
    expect(optimizerStateFromRecord(record, 'adam')).toEqual(state);
    expect(() => optimizerStateFromRecord({ scalars: { step: 1 }, arrays: new Map([['noslash', { shape: [], data: new Float32Array(1) }]]) }, 'sgd')).toThrow(/<key>\/<slot>/);
  });
});
