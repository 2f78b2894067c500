/**
 * `maskrcnn train`: the config file is read and checked (bad fields listed), relative paths are
 * taken from its folder, and a 2-step run on a tiny shapes dataset trains, evaluates the
 * held-out set, checkpoints and saves the model (the resumed run with --quantize float16). Runs
 * on wasm with our training kernels.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Command } from 'commander';
import { generateShapesDataset } from '../../src/data';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { readTrainConfig, registerTrainCommand } from '../../src/cli/train_command';
import { listCheckpoints } from '../../src/train/checkpoint';
import type { StepInfo } from '../../src/train/trainer';
import { useBackend } from '../support/backends';
import { seededMaskRCNN } from '../support/seeded_model';

let root: string;

function writeConfig(name: string, config: unknown): string {
  const file = path.join(root, name);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

async function cli(args: string[], lines: string[], steps: StepInfo[] = []): Promise<void> {
  const program = new Command('maskrcnn').exitOverride();
  registerTrainCommand(program, { buildModel: (c) => seededMaskRCNN(c, 2), log: (l) => lines.push(l), onStep: (s) => steps.push(s) });
  await program.parseAsync(['node', 'maskrcnn', 'train', ...args]);
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'train-cli-test-'));
  await generateShapesDataset({ outDir: path.join(root, 'train'), numImages: 4, width: 80, height: 64, seed: 1, shapesPerImage: [1, 2], sizeRange: [0.2, 0.4] });
  await generateShapesDataset({ outDir: path.join(root, 'val'), numImages: 2, width: 80, height: 64, seed: 2, shapesPerImage: [1, 2], sizeRange: [0.2, 0.4] });
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('maskrcnn train [wasm]', () => {
  it('lists every bad field of the config file, and names unreadable or invalid files', async () => {
    const bad = writeConfig('bad.json', { train: { annotationFile: 'a.json' }, outputDir: 'out', batchSize: 0, optimizer: 'lamb', stepz: 3 });
    await expect(cli(['--config', bad], [])).rejects.toThrow(
      /bad\.json: invalid training config:[\s\S]*stepz: unknown field[\s\S]*train: needs non-empty string paths imagesDir[\s\S]*optimizer: must be one of sgd, adam, adamw, got "lamb"[\s\S]*batchSize: must be an integer in \[1, inf\], got 0/,
    );
    fs.writeFileSync(path.join(root, 'broken.json'), '{ "train": ');
    expect(() => readTrainConfig(path.join(root, 'broken.json'))).toThrow(/broken\.json is not valid JSON/);
    expect(() => readTrainConfig(path.join(root, 'missing.json'))).toThrow(/cannot read --config .*missing\.json/);
    await expect(cli(['--config', bad, '--quantize', 'int8'], [])).rejects.toThrow("Error in train: --quantize is 'int8'; expected float16 or uint8");
  });

  it('parses a config with relative paths and trains 2 steps, evaluates, checkpoints and saves the model', async () => {
    const file = writeConfig('train.json', {
      train: { annotationFile: 'train/instances.json', imagesDir: 'train/images' },
      val: { annotationFile: 'val/instances.json', imagesDir: 'val/images' },
      outputDir: 'run',
      minSizes: [64],
      maxSize: 96,
      batchSize: 2,
      rpnPreNmsTopN: 100,
      rpnPostNmsTopN: 50,
      rpnBatchSizePerImage: 64,
      roiBatchSizePerImage: 32,
      lr: 0.01,
      warmupIters: 1,
      maxSteps: 2,
      checkpointEvery: 1,
      keep: 1,
      logEvery: 1,
      clipGradNorm: 10,
    });
    expect(readTrainConfig(file).train.annotationFile).toBe(path.join(root, 'train/instances.json'));
    const lines: string[] = [];
    const steps: StepInfo[] = [];
    await cli(['--config', file, '--backend', 'wasm', '--no-progress'], lines, steps);
    expect(steps.map((s) => s.step)).toEqual([1, 2]);
    for (const s of steps) expect(Number.isFinite(s.totalLoss) && s.imagesPerSecond > 0 && s.gradNorm! > 0).toBe(true);
    expect(lines.some((l) => /^step 2\/2 .*loss_mask \d/.test(l))).toBe(true);
    expect(lines.some((l) => /^step 2: box AP -?\d\.\d{4}  mask AP -?\d\.\d{4}$/.test(l))).toBe(true);
    expect(await listCheckpoints(path.join(root, 'run'))).toEqual([2]);
    expect(fs.existsSync(path.join(root, 'run', 'model', 'model.json'))).toBe(true);

    // --resume continues from the step-2 checkpoint to the new maxSteps.
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeConfig('train.json', { ...cfg, maxSteps: 3, val: undefined });
    const more: StepInfo[] = [];
    const resumedLines: string[] = [];
    await cli(['--config', file, '--backend', 'wasm', '--no-progress', '--resume', '--quantize', 'float16'], resumedLines, more);
    expect(more.map((s) => s.step)).toEqual([3]);
    const modelJson = JSON.parse(fs.readFileSync(path.join(root, 'run', 'model', 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(modelJson.userDefinedMetadata?.quantization).toBe('float16');
    expect(resumedLines.some((l) => /model saved to .* \(float16\)$/.test(l))).toBe(true);
    expect(resumedLines.some((l) => /resumed from .*step-000002 at step 2 \(epoch 0, batch 2\)/.test(l))).toBe(true);
    expect(await listCheckpoints(path.join(root, 'run'))).toEqual([3]);
  });
});
