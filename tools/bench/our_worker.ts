/**
 * Our side of `npm run bench`: a worker process holding one model on the wasm backend, answering
 * the driver's commands one at a time (see child.ts for the protocol):
 *
 * - `setup {mode, weights, manifest, minSize, lr}`: loads the torchvision state dict with
 *   `fromTorchvision`; mode `train` registers the wasm training kernels first (mode `infer`
 *   leaves them out, as `load` does for a user who only predicts).
 * - `infer {count}`: `count` predictions of the inference image, one at a time, with their times
 *   and stage times (the model's StageClock, via `lastStageTimes`).
 * - `train`: one training step on the two training images (transform, targets, gradients, SGD).
 * - `memory`: peak resident memory (getrusage's maxrss, as torch_bench.py reads it).
 *
 * The wasm backend runs on one thread in Node (tfjs turns wasm threads off there).
 */
import * as readline from 'readline';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { fromTorchvision, type MaskRCNNModel, registerWasmTrainingKernels, type StageTimes, type TrainingTarget, wasmHeapBytes } from '../../src';
import { replyLine, type Reply } from './child';
import { readBenchInputs } from './inputs';
import { makeOurTrainStep } from './our_train_step';
import type { BenchStage } from './report';

/** Our StageClock's stages summed into the bench's five. */
function benchStages(t: StageTimes): Record<BenchStage, number> {
  return {
    preprocess: t.decode + t.transform,
    backbone_fpn: t.backbone,
    rpn: t.rpn,
    box_head: t.box_head,
    mask_head_paste: t.mask_head + t.postprocess,
  };
}

interface Loaded {
  readonly model: MaskRCNNModel;
  readonly image: tf.Tensor3D;
  readonly train?: {
    readonly images: tf.Tensor3D[];
    readonly targets: TrainingTarget[];
    readonly step: ReturnType<typeof makeOurTrainStep>;
  };
}

const MiB = 2 ** 20;

async function setup(c: Record<string, unknown>): Promise<{ loaded: Loaded; reply: Reply }> {
  const mode = c.mode as 'infer' | 'train';
  if (mode === 'train') registerWasmTrainingKernels();
  const { inputs, inference, training } = readBenchInputs(String(c.manifest));
  const t0 = performance.now();
  const model = await fromTorchvision(String(c.weights), { backend: 'wasm', config: { transform: { minSize: Number(c.minSize) } } });
  const loadMs = performance.now() - t0;
  const image = tf.tensor3d(inference, [inputs.inference.height, inputs.inference.width, 3], 'float32');
  let train: Loaded['train'];
  if (mode === 'train') {
    const images = inputs.training.map((t, i) => tf.tensor3d(training[i].pixels, [t.height, t.width, 3], 'float32'));
    const targets = inputs.training.map(
      (t, i): TrainingTarget => ({
        boxes: Float32Array.from(t.boxes.flat()),
        labels: Int32Array.from(t.labels),
        masks: { data: training[i].masks, height: t.height, width: t.width },
      }),
    );
    // torchvision's reference momentum and decay; the driver's lr (see TRAIN_LR in bench.ts).
    const step = makeOurTrainStep(model.network, { lr: Number(c.lr), momentum: 0.9, weightDecay: 1e-4, seed: 0 });
    train = { images, targets, step };
  }
  const reply: Reply = { ok: true, loadMs, backend: tf.getBackend(), versions: { tfjs: tf.version.tfjs, 'tfjs-backend-wasm': version_wasm, node: process.versions.node } };
  return { loaded: { model, image, train }, reply };
}

async function infer(l: Loaded, count: number): Promise<Reply> {
  const ms: number[] = [];
  const stages: Array<Record<BenchStage, number>> = [];
  const detections: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const [prediction] = await l.model.predict(l.image);
    ms.push(performance.now() - t0);
    stages.push(benchStages(l.model.lastStageTimes as StageTimes));
    detections.push(prediction.detections.length);
  }
  return { ok: true, ms, stages, detections };
}

async function trainStep(l: Loaded): Promise<Reply> {
  const t = l.train;
  if (t === undefined) throw new Error('train: the worker was set up for inference');
  const t0 = performance.now();
  const transformed = l.model.network.transform.forward(t.images);
  try {
    transformed.imageSizes.forEach(([h, w], i) => {
      const [oh, ow] = transformed.originalSizes[i];
      if (h !== oh || w !== ow) throw new Error(`train: image ${i} was resized from ${oh}x${ow} to ${h}x${w}; the targets are in the original pixels`);
    });
    const losses = await t.step.step({ images: transformed.images, imageSizes: transformed.imageSizes, targets: t.targets });
    return { ok: true, ms: performance.now() - t0, losses };
  } finally {
    transformed.images.dispose();
  }
}

function memory(): Reply {
  const heap = wasmHeapBytes();
  return {
    ok: true,
    peakMiB: process.resourceUsage().maxRSS / 1024,
    rssMiB: process.memoryUsage().rss / MiB,
    ...(heap === undefined ? {} : { wasmHeapMiB: heap / MiB }),
    numTensors: tf.memory().numTensors,
  };
}

async function main(): Promise<void> {
  let loaded: Loaded | undefined;
  const need = (): Loaded => {
    if (loaded === undefined) throw new Error('the worker is not set up');
    return loaded;
  };
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let reply: Reply;
    try {
      const c = JSON.parse(line) as Record<string, unknown>;
      if (c.cmd === 'quit') break;
      else if (c.cmd === 'setup') ({ loaded, reply } = await setup(c));
      else if (c.cmd === 'infer') reply = await infer(need(), Number(c.count ?? 1));
      else if (c.cmd === 'train') reply = await trainStep(need());
      else if (c.cmd === 'memory') reply = memory();
      else throw new Error(`unknown command '${String(c.cmd)}' (valid: setup, infer, train, memory, quit)`);
    } catch (e) {
      reply = { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    process.stdout.write(replyLine(reply));
  }
  loaded?.train?.step.dispose();
  loaded?.model.dispose();
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
