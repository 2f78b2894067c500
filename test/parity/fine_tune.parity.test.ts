/**
 * Fine-tuning, the most common torchvision workflow: start from a 91-class checkpoint (the seeded
 * torchvision model of the parity fixtures) and train a model with the dataset's own classes.
 * Every weight but the three class-specific predictor layers must come from the checkpoint, and
 * one training step must update the trainable weights and leave the frozen ones alone.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { generateShapesDataset } from '../../src/data';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { Trainer } from '../../src/train/trainer';
import { useBackend } from '../support/backends';
import { describeParity } from '../support/parity_fixtures';

const PREDICTOR_KEYS = [
  'roi_heads.box_predictor.cls_score.weight',
  'roi_heads.box_predictor.cls_score.bias',
  'roi_heads.box_predictor.bbox_pred.weight',
  'roi_heads.box_predictor.bbox_pred.bias',
  'roi_heads.mask_predictor.mask_fcn_logits.weight',
  'roi_heads.mask_predictor.mask_fcn_logits.bias',
];

describeParity('fine-tuning from a torchvision checkpoint [wasm]', (fx) => {
  let root: string;
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('loads all but the predictor layers, sizes those for the dataset, and trains a step', async () => {
    const ds = await generateShapesDataset({ outDir: path.join(root, 'shapes'), numImages: 2, width: 80, height: 64, seed: 9 });
    const baseline = tf.memory().numTensors;
    const trainer = await Trainer.create(
      {
        train: { annotationFile: ds.annotationFile, imagesDir: ds.imagesDir },
        outputDir: path.join(root, 'run'),
        init: fx.checkpointPath,
        minSizes: [64],
        maxSize: 96,
        batchSize: 1,
        rpnPreNmsTopN: 100,
        rpnPostNmsTopN: 50,
        rpnBatchSizePerImage: 64,
        roiBatchSizePerImage: 32,
        lr: 0.001,
        warmupIters: 1,
        maxSteps: 1,
        checkpointEvery: 100,
      },
      { log: () => undefined },
    );
    const network = trainer.model.network;
    const report = trainer.model.loadReport!;
    const numClasses = ds.categories.length + 1;
    expect(network.numClasses).toBe(numClasses);
    expect(report.mismatched.map((m) => m.key)).toEqual(PREDICTOR_KEYS);
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(report.loaded.length + PREDICTOR_KEYS.length).toBe(network.stateDict().size);
    expect(network.stateDict().get('roi_heads.box_predictor.cls_score.weight')!.variable.shape).toEqual([1024, numClasses]);

    const read = (k: string) => network.stateDict().get(k)!.variable.read().dataSync().slice();
    const conv1 = read('backbone.body.conv1.weight');
    const layer2 = read('backbone.body.layer2.0.conv2.weight');
    const bnMean = read('backbone.body.layer3.0.bn1.running_mean');
    const result = await trainer.run();
    expect(result.steps).toBe(1);
    expect(read('backbone.body.conv1.weight')).toEqual(conv1); // frozen (trainable layers 3)
    expect(read('backbone.body.layer3.0.bn1.running_mean')).toEqual(bnMean); // FrozenBatchNorm
    const moved = read('backbone.body.layer2.0.conv2.weight').some((v, i) => v !== layer2[i]);
    expect(moved).toBe(true);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
