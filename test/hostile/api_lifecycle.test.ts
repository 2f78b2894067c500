/**
 * Hostile inputs to the public API's loaders and the model's lifecycle:
 * - `fromTorchvision` with 2 class names for a 91-class checkpoint (strict off, so the load itself
 *   succeeds), with `config.numClasses` 100000, with 2 names for `config.numClasses` 3;
 * - a saved model whose last shard is 1000 bytes short;
 * - a saved model whose `backbone.body.conv1.weight` spec says int32 (via `load`, and via
 *   `loadWeights` into an existing model, whose weights must stay as they were);
 * - a saved model whose shard path is `../../../../../etc/passwd`;
 * - model.json configs with numClasses 100000 (out of range) and 5000 (in range, but not what the
 *   weights hold): peak memory measured in a child process, under 500 MB;
 * - a model.json config with depth 101 for ResNet-50 weights, model.json classNames that are not
 *   strings, `classNames` with 2 entries;
 * - `predict` and `save` after `dispose()`, a second `dispose()`, `predict` on a disposed tensor.
 * Each failure: an error naming the file / argument and what is wrong, no leaked tensor, nothing
 * written into the model folder. Built models: one to save, one to load back, one for the int32 spec.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { fromTorchvision, load, MaskRCNNModel } from '../../src/api/model';
import { loadWeights } from '../../src/io/native_weights';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { useBackend } from '../support/backends';
import { runInChild } from '../support/child_process';

const NAMES = ['__background__', 'a', 'b', 'c', 'd'];
const WATCHED = ['backbone.body.conv1.weight', 'roi_heads.box_predictor.cls_score.weight', 'roi_heads.mask_predictor.mask_fcn_logits.bias'];
const FIXTURE_PTH = path.join(__dirname, '..', 'fixtures', 'torch', 'state_dict.pth');

type ModelJson = {
  modelTopology: { config: Record<string, unknown> };
  weightsManifest: { paths: string[]; weights: { name: string; dtype: string }[] }[];
  userDefinedMetadata: Record<string, unknown>;
};

describe('hostile API inputs and lifecycle', () => {
  let dir: string;
  let good: string;
  let model: MaskRCNNModel;
  let watched: number[][];

  const values = (net: MaskRCNN): number[][] => {
    const sd = net.stateDict();
    return WATCHED.map((k) => Array.from(sd.get(k)!.variable.read().dataSync()));
  };
  const digest = (folder: string): string =>
    fs
      .readdirSync(folder)
      .sort()
      .map((f) => `${f}:${fs.statSync(path.join(folder, f)).size}:${fs.statSync(path.join(folder, f)).mtimeMs}`)
      .join('\n');

  /** The good save with model.json edited; shards are hard links (the 176 MB are not copied). */
  function variant(name: string, edit: (json: ModelJson, folder: string) => void): string {
    const folder = path.join(dir, name);
    fs.mkdirSync(folder);
    for (const f of fs.readdirSync(good)) if (f !== 'model.json') fs.linkSync(path.join(good, f), path.join(folder, f));
    const json = JSON.parse(fs.readFileSync(path.join(good, 'model.json'), 'utf8')) as ModelJson;
    edit(json, folder);
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
    return folder;
  }

  async function expectRefused(run: () => Promise<unknown>, message: RegExp, folder?: string): Promise<void> {
    const files = folder === undefined ? '' : digest(folder);
    const n = tf.memory().numTensors;
    await expect(run()).rejects.toThrow(message);
    expect(tf.memory().numTensors).toBe(n);
    if (folder !== undefined) expect(digest(folder)).toBe(files);
  }

  beforeAll(async () => {
    await useBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-hostile-api-'));
    const net = withoutInitialization(() => new MaskRCNN({ numClasses: 5 }));
    const sd = net.stateDict();
    WATCHED.forEach((k, i) => {
      const v = sd.get(k)!.variable;
      const t = tf.tidy(() => tf.randomUniform(v.shape as number[], -1, 1, 'float32', i + 1));
      v.write(t);
      t.dispose();
    });
    model = new MaskRCNNModel(net, NAMES, undefined);
    watched = values(net);
    good = path.join(dir, 'good');
    await model.save(`file://${good}`);
  });

  afterAll(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the good save loads back with the same weights and names', async () => {
    const again = await load(good, { backend: 'cpu' });
    expect(again.classNames).toEqual(NAMES);
    expect(values(again.network)).toEqual(watched);
    again.dispose();
  });

  it('fromTorchvision checks class names and config before building anything', async () => {
    await expectRefused(
      () => fromTorchvision(FIXTURE_PTH, { backend: 'cpu', strict: false, classNames: ['x', 'y'] }),
      /Error in fromTorchvision: classNames has 2 entries but the model has 91 classes/,
    );
    await expectRefused(
      () => fromTorchvision(FIXTURE_PTH, { backend: 'cpu', config: { numClasses: 100000 } }),
      /Error in fromTorchvision: options.config: numClasses must be an integer in \[2, 10000\] \(background included\), got 100000/,
    );
    await expectRefused(
      () => fromTorchvision(FIXTURE_PTH, { backend: 'cpu', config: { numClasses: 3 }, classNames: ['x', 'y'] }),
      /classNames has 2 entries but the model has 3 classes/,
    );
  });

  it('a shard 1000 bytes short is named with both sizes, before anything is built', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(good, 'model.json'), 'utf8')) as ModelJson;
    const last = json.weightsManifest[0].paths[json.weightsManifest[0].paths.length - 1];
    const size = fs.statSync(path.join(good, last)).size;
    const folder = variant('short', (_, f) => {
      fs.rmSync(path.join(f, last));
      fs.copyFileSync(path.join(good, last), path.join(f, last));
      fs.truncateSync(path.join(f, last), size - 1000);
    });
    await expectRefused(
      () => load(folder, { backend: 'cpu' }),
      new RegExp(`weight shard ${path.join(folder, last)} has ${size - 1000} bytes, expected ${size} \\(truncated\\)`),
      folder,
    );
  });

  it('an int32 spec fails before any weight is written, into a new or an existing model', async () => {
    const folder = variant('int32', (j) => (j.weightsManifest[0].weights.find((w) => w.name === 'backbone.body.conv1.weight')!.dtype = 'int32'));
    const message = /does not match the model \(nothing was loaded\): wrong dtype backbone.body.conv1.weight expected float32 found int32/;
    await expectRefused(() => load(folder, { backend: 'cpu' }), message, folder);
    await expectRefused(() => loadWeights(model.network, `file://${folder}`), message, folder);
    expect(values(model.network)).toEqual(watched);
  });

  it('a shard path out of the model folder is refused, naming model.json and the path', async () => {
    const folder = variant('passwd', (j) => (j.weightsManifest[0].paths[0] = '../../../../../etc/passwd'));
    await expectRefused(
      () => load(folder, { backend: 'cpu' }),
      new RegExp(`${path.join(folder, 'model.json')}: weight shard path '\\.\\./\\.\\./\\.\\./\\.\\./\\.\\./etc/passwd' points outside the model folder`),
      folder,
    );
  });

  it('model.json configs and names are checked before building', async () => {
    const cases: [string, (j: ModelJson) => void, RegExp][] = [
      ['classes-100000', (j) => (j.modelTopology.config.numClasses = 100000), /model.json's config: numClasses must be an integer in \[2, 10000\] \(background included\), got 100000/],
      ['classes-5000', (j) => (j.modelTopology.config.numClasses = 5000), /the configuration says numClasses 5000 but the weights are for 5 classes \(roi_heads.box_predictor.cls_score.weight is \[1024, 5\]\); nothing was built/],
      ['classes-string', (j) => (j.modelTopology.config.numClasses = '5'), /numClasses must be an integer in \[2, 10000\] \(background included\), got '5'/],
      ['depth-101', (j) => (j.modelTopology.config.depth = 101), /the configuration says depth 101 but the weights are of depth 50; nothing was built/],
      ['depth-7', (j) => (j.modelTopology.config.depth = 7), /depth must be 18, 34, 50 or 101, got 7/],
      ['depth-18', (j) => (j.modelTopology.config.depth = 18), /the configuration says depth 18 but the weights are of depth 50; nothing was built/],
      ['fpn-64', (j) => (j.modelTopology.config.fpnChannels = 64), /the configuration says fpnChannels 64 but the weights have 256; nothing was built/],
      ['mask-layers', (j) => (j.modelTopology.config.maskLayers = 'x'), /maskLayers must be a list of 1 to 16 integers in \[1, 8192\], got 'x'/],
      ['names-number', (j) => (j.userDefinedMetadata.classNames = 5), /model.json's classNames must be an array of strings/],
      ['names-short', (j) => (j.userDefinedMetadata.classNames = ['x', 'y']), /Error in load: classNames has 2 entries but the model has 5 classes/],
    ];
    for (const [name, edit, message] of cases) {
      const folder = variant(name, edit);
      await expectRefused(() => load(folder, { backend: 'cpu' }), message, folder);
    }
    await expectRefused(() => load(good, { backend: 'cpu', classNames: ['x', 'y'] }), /classNames has 2 entries but the model has 5 classes/, good);
    await expectRefused(() => load(good, { backend: 'cpu', config: { numClasses: 0 } }), /options.config: numClasses must be an integer in \[2, 10000\]/, good);
  });

  it('a model.json asking for 100000 or 5000 classes fails in well under 500 MB', async () => {
    for (const [name, n, message] of [
      ['rss-100000', 100000, /numClasses must be an integer in \[2, 10000\]/],
      ['rss-5000', 5000, /the configuration says numClasses 5000 but the weights are for 5 classes/],
    ] as const) {
      const folder = variant(name, (j) => (j.modelTopology.config.numClasses = n));
      const r = await runInChild(`
        const { load } = require(root + '/src/api/model');
        try { await load(${JSON.stringify(folder)}, { backend: 'cpu' }); console.log('LOADED'); }
        catch (e) { console.log('ERROR ' + e.message); }
      `);
      const hwm = r.maxRssMiB; // the child's own peak (VmHWM)
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(message);
      expect(hwm).toBeLessThan(500);
      process.stdout.write(`${name}: peak RSS ${hwm.toFixed(0)} MiB\n`);
    }
  });

  it('a disposed model or a disposed input gives a clear error', async () => {
    const t = tf.zeros([8, 8, 3]) as tf.Tensor3D;
    t.dispose();
    await expectRefused(() => model.predict(t), /Error in predict: input 0 is a disposed tensor/);
    const other = tf.zeros([8, 8, 3]) as tf.Tensor3D;
    await expectRefused(() => model.predict([other, t]), /input 1 is a disposed tensor/);
    other.dispose();
    model.dispose();
    expect(model.isDisposed).toBe(true);
    const n = tf.memory().numTensors;
    model.dispose(); // a second call does nothing
    expect(tf.memory().numTensors).toBe(n);
    const live = tf.zeros([8, 8, 3]) as tf.Tensor3D;
    await expectRefused(() => model.predict(live), /Error in predict: this MaskRCNNModel was disposed/);
    live.dispose();
    await expectRefused(() => model.save(`file://${path.join(dir, 'after-dispose')}`), /Error in save: this MaskRCNNModel was disposed/);
    expect(fs.existsSync(path.join(dir, 'after-dispose'))).toBe(false);
  });
});
