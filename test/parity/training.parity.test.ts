/**
 * Training-mode parity with torchvision 0.14: the five losses of the seeded model on a small
 * two-image batch with masks (take-all sampling on both sides, so no random draw is involved),
 * and the gradients of sampled parameters of every trained stage (RPN head, box head and
 * predictor, mask head and predictor, FPN, layer4, layer2) after backward of their sum.
 * Bounds (issue 6): each loss within 1e-4 relative, each gradient within 1e-3 relative
 * (max|ours - theirs| / max|theirs|), or within twice torchvision's own float32 error where that
 * is larger: the fixture also holds torchvision's float64 gradients, and on this random model
 * torchvision's float32 layer2 gradient is itself ~1.9e-3 from the float64 one, so no float32
 * implementation can be held to 1e-3 there. Both figures are printed. Then an image without ground truth alone: its box, mask
 * and RPN box losses are exactly 0 on both sides, the other two within 1e-4.
 * Runs on wasm with our training kernels registered.
 *
 * Fixtures: tools/parity/make_training_fixtures.py writes .fixtures/training (override with
 * MASKRCNN_TRAINING_FIXTURES). Missing fixtures skip this suite, or fail it when
 * MASKRCNN_REQUIRE_FIXTURES=1, as for the other parity suites.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { readTorchStateDict } from '../../src/io/torch_checkpoint';
import { loadStateDict } from '../../src/io/state_dict';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import type { LossName } from '../../src/losses/names';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { computeTrainingLosses, prepareTrainingTargets, trainingLosses, type TrainingBatch, type TrainingTarget } from '../../src/model/training_losses';
import { toTorchLayout, withoutInitialization } from '../../src/nn/torch_layer';
import { useBackend } from '../support/backends';
import { relativeMaxError } from '../support/parity_fixtures';

const DIR = path.resolve(process.env.MASKRCNN_TRAINING_FIXTURES ?? path.join(__dirname, '..', '..', '.fixtures', 'training'));
const HOW_TO = 'make them with `/usr/bin/python3 tools/parity/make_training_fixtures.py` (needs Debian python3-torchvision)';
const LOSSES: readonly LossName[] = ['loss_objectness', 'loss_rpn_box_reg', 'loss_classifier', 'loss_box_reg', 'loss_mask'];

interface Entry {
  shape: number[];
  dtype: 'float32' | 'int32';
  file: string;
}
interface Index {
  meta: { take_all: number; proposals: number[]; grad_params: string[]; image_sizes: [number, number][] };
  tensors: Record<string, Entry>;
}

function readIndex(): Index | undefined {
  const p = path.join(DIR, 'index.json');
  if (fs.existsSync(p)) return JSON.parse(fs.readFileSync(p, 'utf8')) as Index;
  if (process.env.MASKRCNN_REQUIRE_FIXTURES === '1') {
    throw new Error(`training fixtures missing at ${DIR} and MASKRCNN_REQUIRE_FIXTURES=1: ${HOW_TO}`);
  }
  console.warn(`Skipping torchvision training parity: no fixtures at ${DIR}; ${HOW_TO}.`);
  return undefined;
}

function rawData(index: Index, name: string): { data: Float32Array | Int32Array; shape: number[] } {
  const e = index.tensors[name];
  if (!e) throw new Error(`fixture tensor ${name} not in ${DIR}/index.json; regenerate the fixtures`);
  const buf = fs.readFileSync(path.join(DIR, e.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return { data: e.dtype === 'int32' ? new Int32Array(ab) : new Float32Array(ab), shape: e.shape };
}

function rawTensor(index: Index, name: string): tf.Tensor {
  const { data, shape } = rawData(index, name);
  return tf.tensor(data, shape);
}

function loadBatch(index: Index): TrainingBatch {
  const images = tf.tidy(() => tf.transpose(rawTensor(index, 'batch/images'), [0, 2, 3, 1]) as tf.Tensor4D); // NCHW -> NHWC
  const sizes = rawData(index, 'batch/image_sizes').data;
  const imageSizes: [number, number][] = [];
  for (let i = 0; i < sizes.length / 2; i++) imageSizes.push([sizes[2 * i], sizes[2 * i + 1]]);
  const targets: TrainingTarget[] = imageSizes.map(([height, width], i) => {
    const boxes = rawData(index, `targets/${i}/boxes`).data as Float32Array;
    return {
      boxes,
      labels: Int32Array.from(rawData(index, `targets/${i}/labels`).data),
      masks: { data: Uint8Array.from(rawData(index, `targets/${i}/masks`).data), height, width },
    };
  });
  return { images, imageSizes, targets };
}

const index = readIndex();
if (index === undefined) {
  describe.skip('Mask R-CNN training losses parity with torchvision (fixtures missing)', () => it('needs fixtures', () => undefined));
} else {
  describe('Mask R-CNN training losses parity with torchvision [wasm]', () => {
    let model: MaskRCNN;
    let batch: TrainingBatch;

    beforeAll(async () => {
      registerWasmTrainingKernels();
      await useBackend('wasm');
      const sd = await readTorchStateDict(path.join(DIR, 'maskrcnn_seeded_train.pth'));
      model = withoutInitialization(() => new MaskRCNN());
      loadStateDict(model, sd, { source: 'maskrcnn_seeded_train.pth' });
      batch = loadBatch(index);
    });
    afterAll(() => {
      tf.dispose(batch?.images);
      model?.dispose();
    });

    it('five losses within 1e-4 and gradients within 1e-3 (or torchvision\'s own float32 error) of torchvision', async () => {
      const takeAll = index.meta.take_all;
      const before = tf.memory().numTensors;
      const prepared = await prepareTrainingTargets(model, batch, { rpnBatchSizePerImage: takeAll, roiBatchSizePerImage: takeAll });
      console.log(`parity [wasm] training proposals: ours [${prepared.proposalCounts}], torchvision [${index.meta.proposals}]`);
      expect(prepared.proposalCounts).toEqual(index.meta.proposals);

      const sd = model.stateDict();
      const params = index.meta.grad_params.map((name) => {
        const p = sd.get(name);
        if (!p) throw new Error(`no parameter ${name} in our state dict`);
        return { name, param: p, variable: p.variable.read() as tf.Variable };
      });
      const kept: Partial<Record<LossName, tf.Scalar>> = {};
      const t0 = Date.now();
      const { value, grads } = tf.variableGrads(() => {
        const losses = trainingLosses(model, batch, prepared);
        for (const k of LOSSES) kept[k] = tf.keep(losses[k]);
        return tf.addN(LOSSES.map((k) => losses[k])) as tf.Scalar;
      }, params.map((p) => p.variable));
      console.log(`parity [wasm] training losses + gradients: ${Date.now() - t0} ms`);

      for (const k of LOSSES) {
        const ours = (kept[k] as tf.Scalar).dataSync()[0];
        const theirs = rawData(index, `losses/${k}`).data[0];
        const rel = Math.abs(ours - theirs) / Math.abs(theirs);
        console.log(`parity [wasm] ${k}: ours ${ours.toPrecision(9)}, torchvision ${theirs.toPrecision(9)}, relative ${rel.toExponential(3)}`);
        expect(rel).toBeLessThanOrEqual(1e-4);
      }
      for (const { name, param, variable } of params) {
        const g = grads[variable.name];
        expect(g).toBeDefined();
        const ours = toTorchLayout(g, param.layout);
        const ref = rawTensor(index, `grads/${name}`);
        const exact = rawTensor(index, `grads64/${name}`);
        const e = relativeMaxError(ours, ref);
        const torchOwn = relativeMaxError(ref, exact).rel;
        const oursExact = relativeMaxError(ours, exact).rel;
        const bound = Math.max(1e-3, 2 * torchOwn);
        console.log(
          `parity [wasm] grad ${name}: relative ${e.rel.toExponential(3)} (max|ref| ${e.scale.toExponential(3)}); ` +
            `torchvision float32 vs float64 ${torchOwn.toExponential(3)}, ours vs float64 ${oursExact.toExponential(3)}; bound ${bound.toExponential(1)}`,
        );
        expect(e.rel).toBeLessThanOrEqual(bound);
        tf.dispose([ours, ref, exact]);
      }
      tf.dispose([value, ...Object.values(grads), ...Object.values(kept)]);
      expect(tf.memory().numTensors).toBe(before);
    }, 600_000);

    it('an image without ground truth: zero box and mask losses, the others within 1e-4', async () => {
      const [height, width] = index.meta.image_sizes[1];
      const empty: TrainingBatch = {
        images: tf.tidy(() => tf.transpose(rawTensor(index, 'empty/batch/images'), [0, 2, 3, 1]) as tf.Tensor4D), // NCHW -> NHWC
        imageSizes: [[height, width]],
        targets: [{ boxes: new Float32Array(0), labels: new Int32Array(0), masks: { data: new Uint8Array(0), height, width } }],
      };
      const takeAll = index.meta.take_all;
      const losses = await computeTrainingLosses(model, empty, { rpnBatchSizePerImage: takeAll, roiBatchSizePerImage: takeAll });
      for (const k of LOSSES) {
        const ours = losses[k].dataSync()[0];
        const theirs = rawData(index, `empty/losses/${k}`).data[0];
        console.log(`parity [wasm] no-GT image ${k}: ours ${ours.toPrecision(9)}, torchvision ${theirs.toPrecision(9)}`);
        if (theirs === 0) expect(Math.abs(ours)).toBe(0);
        else expect(Math.abs(ours - theirs) / Math.abs(theirs)).toBeLessThanOrEqual(1e-4);
      }
      tf.dispose([losses, empty.images]);
    }, 120_000);
  });
}
