/**
 * A real `maskrcnn train` run keeps its history: a few steps of a small ResNet-18-FPN on a tiny
 * shapes dataset (wasm, our training kernels) write history.jsonl (the logged steps and the
 * evaluations) and curves.png; a resume drops what was logged after its checkpoint; with
 * `history: false` the Trainer writes neither.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Command } from 'commander';
import { registerTrainCommand } from '../../src/cli/train_command';
import { generateShapesDataset } from '../../src/data';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { readHistory } from '../../src/train/history';
import { CURVES_FILE, Trainer } from '../../src/train/trainer';
import { useBackend } from '../support/backends';
import { seededMaskRCNN } from '../support/seeded_model';

let root: string;

const small = {
  train: { annotationFile: 'train/instances.json', imagesDir: 'train/images' },
  outputDir: 'run',
  depth: 18,
  fpnChannels: 32,
  representationSize: 64,
  maskLayers: [16],
  maskDimReduced: 16,
  minSizes: [64],
  maxSize: 96,
  batchSize: 2,
  rpnPreNmsTopN: 100,
  rpnPostNmsTopN: 50,
  rpnBatchSizePerImage: 64,
  roiBatchSizePerImage: 32,
  lr: 0.01,
  warmupIters: 1,
  keep: 1,
};

function writeConfig(config: unknown): string {
  const file = path.join(root, 'train.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

async function cli(args: string[], lines: string[]): Promise<void> {
  const program = new Command('maskrcnn').exitOverride();
  registerTrainCommand(program, { buildModel: (c) => seededMaskRCNN(c, 5), log: (l) => lines.push(l) });
  await program.parseAsync(['node', 'maskrcnn', 'train', ...args, '--backend', 'wasm', '--no-progress']);
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'history-run-test-'));
  await generateShapesDataset({ outDir: path.join(root, 'train'), numImages: 4, width: 80, height: 64, seed: 1, shapesPerImage: [1, 2], sizeRange: [0.2, 0.4] });
  await generateShapesDataset({ outDir: path.join(root, 'val'), numImages: 2, width: 80, height: 64, seed: 2, shapesPerImage: [1, 2], sizeRange: [0.2, 0.4] });
});

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('training history of a run [wasm]', () => {
  it('maskrcnn train writes history.jsonl and curves.png; --resume drops the records after its checkpoint', async () => {
    const run = path.join(root, 'run');
    // Step 1 (first), 2 (logEvery, evaluation) and 3 (last, evaluation) are logged.
    const file = writeConfig({ ...small, val: { annotationFile: 'val/instances.json', imagesDir: 'val/images' }, maxSteps: 3, logEvery: 2, evalEvery: 2, checkpointEvery: 2 });
    const lines: string[] = [];
    await cli(['--config', file], lines);
    const records = await readHistory(run);
    expect(records.map((r) => `${r.type}${r.step}`)).toEqual(['step1', 'step2', 'eval2', 'step3', 'eval3']);
    for (const r of records) {
      if (r.type === 'step') expect(Number.isFinite(r.total) && r.lr > 0 && Math.abs(r.total - (r.loss_objectness + r.loss_rpn_box_reg + r.loss_classifier + r.loss_box_reg + r.loss_mask)) < 1e-5).toBe(true);
      else expect(Number.isFinite(r.boxAp) && Number.isFinite(r.maskAp)).toBe(true);
    }
    const png = path.join(run, CURVES_FILE);
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 960, 720]);
    expect(lines).toContain(`curves: ${png}`);
    expect(lines.some((l) => l.startsWith(`history: ${path.join(run, 'history.jsonl')}; curves: ${png}`))).toBe(true);
    expect(fs.readdirSync(run).filter((f) => f.startsWith('.'))).toEqual([]); // no temporary file left

    // As if the process had died after logging steps past its last checkpoint (step 3).
    fs.appendFileSync(path.join(run, 'history.jsonl'), `${JSON.stringify({ ...records[3], step: 4 })}\n{"type":"step","st`);
    writeConfig({ ...small, maxSteps: 4, logEvery: 2, checkpointEvery: 2 });
    const resumed: string[] = [];
    await cli(['--config', file, '--resume'], resumed);
    expect(resumed).toContain(`history: resuming at step 3: dropped 1 record and a torn last line from ${path.join(run, 'history.jsonl')}`);
    const after = await readHistory(run);
    expect(after.map((r) => `${r.type}${r.step}`)).toEqual(['step1', 'step2', 'eval2', 'step3', 'eval3', 'step4']);
    expect(after.slice(0, 5)).toEqual(records);
    expect((await sharp(png).metadata()).width).toBe(960);
  });

  it('with history: false the Trainer writes neither file', async () => {
    const outputDir = path.join(root, 'quiet');
    const trainer = await Trainer.create(
      { ...small, train: { annotationFile: path.join(root, 'train/instances.json'), imagesDir: path.join(root, 'train/images') }, outputDir, maxSteps: 1, checkpointEvery: 1, depth: 18 },
      { buildModel: (c) => seededMaskRCNN(c, 5), history: false },
    );
    try {
      await trainer.run();
    } finally {
      trainer.dispose();
    }
    expect(trainer.history).toBeUndefined();
    expect(fs.readdirSync(outputDir).filter((f) => f === 'history.jsonl' || f === CURVES_FILE)).toEqual([]);
  });
});
