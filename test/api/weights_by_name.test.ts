/**
 * `load` / `fromTorchvision` given a weights name or entry, end to end against a local server: a
 * small Mask R-CNN (ResNet-18, 16 FPN channels) is written as a real torch.save `.pth`, served,
 * downloaded into a temporary cache, read by our own checkpoint reader and loaded; its
 * predictions equal those of the model it was written from. Also: the second load makes no
 * request, the v2 checkpoint and unknown names are refused before anything is downloaded or
 * built, class names are checked before the download, paths keep working, and nothing leaks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { fromTorchvision, load, MaskRCNNModel } from '../../src/api/model';
import { MaskRCNN, MaskRCNNConfig } from '../../src/model/mask_rcnn';
import type { WeightsEntry } from '../../src/io/weights_registry';
import { useBackend } from '../support/backends';
import { toTorchStateDict } from '../../src/io/state_dict';
import { encodeTorchStateDict } from '../../src/io/torch_writer';
import { entryFor, serveBytes, WeightsServer } from '../io/support/weights_server';

const CONFIG: MaskRCNNConfig = {
  numClasses: 3,
  depth: 18,
  fpnChannels: 16,
  representationSize: 32,
  maskLayers: [16],
  maskDimReduced: 16,
  transform: { minSize: 64, maxSize: 96 },
  rpn: { preNmsTopN: { training: 100, testing: 50 }, postNmsTopN: { training: 100, testing: 50 } },
};
const NAMES = ['__background__', 'cat', 'dog'];
const FEW = { scoreThreshold: 0, maxDetections: 3 };

describe('weights by name', () => {
  let server: WeightsServer;
  let cacheDir: string;
  let source: MaskRCNN;
  let entry: WeightsEntry;
  let picture: tf.Tensor3D;

  beforeAll(async () => {
    await useBackend('wasm');
    server = await WeightsServer.start();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weights-by-name-'));
    source = new MaskRCNN(CONFIG);
    // A real torch.save-format file of the model, written by our own .pth writer.
    const chunks = encodeTorchStateDict(await toTorchStateDict(source), { archiveName: 'small_r18' });
    const pth = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    chunks.reduce((at, c) => (pth.set(c, at), at + c.length), 0);
    entry = entryFor(pth, server.base, 'small_r18', { config: CONFIG, classNames: NAMES });
    server.handler = serveBytes(pth);
    picture = tf.tidy(() => tf.randomUniform([48, 64, 3], 0, 255, 'int32', 3) as tf.Tensor3D);
  });
  afterAll(async () => {
    source.dispose();
    picture.dispose();
    await server.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.requests.length = 0;
  });

  it('downloads a checkpoint once and loads it, with the predictions of the model it was saved from', async () => {
    const before = tf.memory().numTensors;
    const model = await load(entry, { download: { cacheDir } });
    expect(server.requests).toHaveLength(1);
    expect(fs.readdirSync(cacheDir)).toEqual([entry.fileName]);
    expect(model.classNames).toEqual(NAMES);
    expect(model.loadReport).toMatchObject({ missing: [], unexpected: [], mismatched: [] });
    const original = new MaskRCNNModel(source, NAMES, undefined);
    const [want] = await original.predict(picture, FEW);
    const [got] = await model.predict(picture, FEW);
    expect(got.detections.length).toBeGreaterThan(0);
    expect(got.detections.map((d) => [d.box, d.score, d.labelName])).toEqual(want.detections.map((d) => [d.box, d.score, d.labelName]));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // Cached: no request the second time, through either entry point.
    const again = await fromTorchvision(entry, { download: { cacheDir } });
    again.dispose();
    expect(server.requests).toHaveLength(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes options.config and classNames over the entry, for fine-tuning', async () => {
    const before = tf.memory().numTensors;
    const model = await load(entry, { download: { cacheDir }, config: { numClasses: 5 }, strict: false });
    expect(model.network.numClasses).toBe(5);
    expect(model.classNames).toEqual(['__background__', 'class_1', 'class_2', 'class_3', 'class_4']);
    expect(model.loadReport!.mismatched.map((m) => m.key)).toContain('roi_heads.box_predictor.cls_score.weight');
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses the v2 checkpoint before downloading anything, saying why', async () => {
    const before = tf.memory().numTensors;
    const download = { cacheDir, baseUrl: server.base };
    for (const run of [() => load('maskrcnn_resnet50_fpn_v2_coco', { download }), () => fromTorchvision('maskrcnn_resnet50_fpn_v2_coco', { download })]) {
      await expect(run()).rejects.toThrow(
        /cannot load maskrcnn_resnet50_fpn_v2_coco: it is Mask R-CNN v2 .* which this library does not build yet \(issue 17\); downloadWeights\('maskrcnn_resnet50_fpn_v2_coco'\) still downloads the file/,
      );
    }
    expect(server.requests).toHaveLength(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fetches a registered name from baseUrl, and reports the server error with the URL', async () => {
    const before = tf.memory().numTensors;
    const saved = server.handler;
    server.handler = (_req, res) => res.writeHead(404).end();
    try {
      await expect(load('maskrcnn_resnet50_fpn_coco', { download: { cacheDir, baseUrl: `${server.base}/m` } })).rejects.toThrow(
        `GET ${server.base}/m/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth answered 404 Not Found`,
      );
    } finally {
      server.handler = saved;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('checks class names before downloading', async () => {
    await expect(load('maskrcnn_resnet50_fpn_coco', { download: { cacheDir, baseUrl: server.base }, classNames: ['a', 'b'] })).rejects.toThrow(
      'Error in load: classNames has 2 entries but the model has 91 classes (background included)',
    );
    expect(server.requests).toHaveLength(0);
  });

  it('lists the known names for an unknown one, and keeps paths working', async () => {
    const known = 'known names: maskrcnn_resnet50_fpn_coco, maskrcnn_resnet50_fpn_v2_coco (or give the path of a .pth checkpoint or a model folder)';
    await expect(load('maskrcnn_resnet50')).rejects.toThrow(`Error in load: unknown weights 'maskrcnn_resnet50'; ${known}`);
    await expect(fromTorchvision('resnet50_coco')).rejects.toThrow(`Error in fromTorchvision: unknown weights 'resnet50_coco'; ${known}`);
    await expect(load(path.join(cacheDir, 'nothing-here'))).rejects.toThrow(/nothing-here does not exist/);
    // The cached file by its path loads as any .pth does.
    const model = await load(path.join(cacheDir, entry.fileName), { config: CONFIG });
    expect(model.network.numClasses).toBe(3);
    model.dispose();
    expect(server.requests).toHaveLength(0);
  });
});
