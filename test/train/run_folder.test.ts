/**
 * What `maskrcnn train` leaves and shows, on a small ResNet-18 run: the final model/ stores no
 * weights a second time (its shards are hard links to the last checkpoint's, which still
 * verifies), survives retention deleting that checkpoint, and gives way cleanly to a quantized or
 * resumed save; on a terminal, no printed line lands on the progress bar.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { load } from '../../src/api/model';
import { runTrain } from '../../src/cli/train_command';
import { generateShapesDataset } from '../../src/data';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { latestCheckpoint, listCheckpoints } from '../../src/train/checkpoint';
import type { StepInfo } from '../../src/train/trainer';
import { useBackend } from '../support/backends';
import { fakeStderr, Terminal } from '../support/terminal';
import { folderSizes } from '../support/seeded_model';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const shardsOf = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();

describe('a training run folder [wasm]', () => {
  let root: string;
  let config: string;
  let run: string;
  let model: string;

  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'run-folder-'));
    await generateShapesDataset({ outDir: path.join(root, 'data'), numImages: 3, width: 80, height: 64, seed: 1, shapesPerImage: [1, 2], sizeRange: [0.2, 0.4] });
    run = path.join(root, 'run');
    model = path.join(run, 'model');
    config = path.join(root, 'train.json');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  function writeConfig(fields: Record<string, unknown>): void {
    fs.writeFileSync(
      config,
      JSON.stringify({
        train: { annotationFile: 'data/instances.json', imagesDir: 'data/images' },
        outputDir: 'run',
        // The small architecture: a run in seconds.
        depth: 18, fpnChannels: 64, representationSize: 256, maskLayers: [64, 64, 64, 64], maskDimReduced: 64,
        minSizes: [64], maxSize: 96, batchSize: 1, lr: 0.001, warmupIters: 1,
        rpnPreNmsTopN: 100, rpnPostNmsTopN: 50, rpnBatchSizePerImage: 64, roiBatchSizePerImage: 32,
        checkpointEvery: 2, keep: 1, logEvery: 2,
        ...fields,
      }),
    );
  }

  it('stores the final model once: model/ shards are hard links to the last checkpoint; lines go round the bar', async () => {
    writeConfig({ maxSteps: 3 });
    const terminal = new Terminal();
    const stderr = fakeStderr(terminal, true);
    const landed: string[] = [];
    const lines: string[] = [];
    await runTrain(
      { config, backend: 'wasm' },
      {
        stderr,
        log: (l) => {
          landed.push(terminal.line.trim());
          lines.push(l);
        },
      },
    );
    // On a terminal: a bar was drawn, and every line came with it taken off.
    expect(stderr.writes).toBeGreaterThan(0);
    expect(landed.every((l) => l === '')).toBe(true);
    expect(lines.filter((l) => /^step \d\/3 /.test(l)).map((l) => l.split(' ')[1])).toEqual(['1/3', '2/3', '3/3']);
    expect(terminal.line).toBe('');

    expect(await listCheckpoints(run)).toEqual([3]);
    const ckptWeights = path.join(run, 'step-000003', 'weights');
    const shards = shardsOf(model);
    expect(shards).toEqual(shardsOf(ckptWeights));
    for (const s of shards) {
      expect(fs.statSync(path.join(model, s)).ino).toBe(fs.statSync(path.join(ckptWeights, s)).ino);
    }
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^model: ${shards.length} of ${shards.length} shards \\([\\d.]+ MB\\) are hard links to ${escape(path.join(run, 'step-000003'))}, stored once$`)),
    );
    // The run folder holds the weights once: only model.json and `latest` beyond the checkpoint.
    const all = folderSizes(run);
    const checkpoint = folderSizes(path.join(run, 'step-000003'));
    expect(all.disk - checkpoint.disk).toBeLessThan(100_000);
    expect(all.paths - all.disk).toBeGreaterThan(0.9 * folderSizes(ckptWeights).paths);
    // Both copies stand on their own: the checkpoint verifies, the model loads with its class names.
    expect((await latestCheckpoint(run))!.warnings).toEqual([]);
    const m = await load(model, { backend: 'wasm' });
    expect(m.classNames[0]).toBe('__background__');
    m.dispose();
  });

  it('model/ survives retention deleting its checkpoint; a quantized save replaces its shards without leaving the old', async () => {
    writeConfig({ maxSteps: 5 });
    const oldShards = shardsOf(model);
    const checks: string[] = [];
    const onStep = (s: StepInfo): void => {
      if (s.step !== 5) return;
      // step-000004 is written and keep 1 deleted step-000003: model/ keeps the data alone.
      checks.push(`${fs.existsSync(path.join(run, 'step-000003'))} ${fs.statSync(path.join(model, oldShards[0])).nlink}`);
    };
    const lines: string[] = [];
    await runTrain({ config, backend: 'wasm', resume: true, quantize: 'float16', progress: false }, { onStep, log: (l) => lines.push(l) });
    expect(checks).toEqual(['false 1']);
    const json = JSON.parse(fs.readFileSync(path.join(model, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[]; userDefinedMetadata: { quantization: string } };
    expect(json.userDefinedMetadata.quantization).toBe('float16');
    expect(shardsOf(model)).toEqual(json.weightsManifest[0].paths.slice().sort()); // no float32 shard left behind
    expect(lines.some((l) => l.startsWith('model: '))).toBe(false); // quantized: nothing to share
  });

  it('a resumed run that has nothing left to train links model/ to the checkpoint it resumed from', async () => {
    const lines: string[] = [];
    await runTrain({ config, backend: 'wasm', resume: true, progress: false }, { log: (l) => lines.push(l) });
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^model: (\\d+) of \\1 shards .* are hard links to ${escape(path.join(run, 'step-000005'))}, stored once$`)));
    expect(shardsOf(model)).toEqual(shardsOf(path.join(run, 'step-000005', 'weights')));
  });
});
