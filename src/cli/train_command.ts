/**
 * `maskrcnn train --config train.json [--resume] [--quantize float16|uint8]`: trains on a COCO-format dataset folder with
 * the settings of a JSON file (see `TrainConfig`), with a progress bar, a loss line every
 * `logEvery` steps, checkpoints, box / mask AP on the held-out set, and the run's history
 * (`history.jsonl`) drawn as `curves.png` in the output folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
// Registered (not initialised) up front so our training kernels can be put in before it starts.
import '@tensorflow/tfjs-backend-wasm';
import { describeBackend, selectBackend } from '../backend';
import { registerWasmTrainingKernels } from '../kernels/register';
import { WEIGHT_QUANTIZATIONS, type WeightQuantization } from '../io/quantization';
import { resolveTrainConfig, type ResolvedTrainConfig } from '../train/train_config';
import { CURVES_FILE, Trainer, type TrainerOptions, type TrainResult } from '../train/trainer';
import { TrainProgress, type ProgressStream } from './train_progress';

/**
 * Options of {@link runTrain}.
 *
 * @example
 * ```ts
 * const opts: TrainCommandOptions = { config: 'train.json', resume: true };
 * ```
 */
export interface TrainCommandOptions {
  /** Path of the JSON training config. */
  config: string;
  /** Continue from the newest checkpoint in the config's outputDir. */
  resume?: boolean;
  /** auto (default), tensorflow-gpu, tensorflow, wasm or cpu. */
  backend?: string;
  /** false: no progress bar (shown only when stderr is a terminal anyway). */
  progress?: boolean;
  /** Store the final model's large float32 weights as float16 or uint8 (checkpoints stay float32). */
  quantize?: string;
}

/**
 * Reads and checks a `train.json`; relative paths in it are taken from the file's folder.
 *
 * @throws Error naming the file and listing every bad field.
 * @example
 * ```ts
 * const config = readTrainConfig('runs/shapes/train.json');
 * ```
 */
export function readTrainConfig(file: string): ResolvedTrainConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message;
    throw new Error(`Error in train: cannot read --config ${file}: ${why}; expected a training config JSON (train, outputDir and optional settings, see TrainConfig)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`Error in train: --config ${file} is not valid JSON: ${(e as Error).message}`);
  }
  const c = resolveTrainConfig(raw, file);
  const base = path.dirname(path.resolve(file));
  const at = (p: string): string => path.resolve(base, p);
  const paths = (d: { annotationFile: string; imagesDir: string }) => ({ annotationFile: at(d.annotationFile), imagesDir: at(d.imagesDir) });
  return {
    ...c,
    train: paths(c.train),
    val: c.val && paths(c.val),
    init: c.init && at(c.init),
    outputDir: at(c.outputDir),
  };
}

/**
 * Checks the files a config names before anything is loaded, listing every problem at once with
 * the field, the path (as resolved from the config's folder) and what it should be.
 */
function checkConfigPaths(config: ResolvedTrainConfig, file: string): void {
  const problems: string[] = [];
  const check = (field: string, p: string, kind: 'file' | 'folder', expected: string): void => {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(p);
      fs.accessSync(p, fs.constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`${field}: ${p} ${code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? (e as Error).message})`}; expected ${expected}`);
      return;
    }
    if (kind === 'file' && !st.isFile()) problems.push(`${field}: ${p} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; expected ${expected}`);
    if (kind === 'folder' && !st.isDirectory()) problems.push(`${field}: ${p} is not a folder; expected ${expected}`);
  };
  for (const [name, d] of [['train', config.train], ['val', config.val]] as const) {
    if (d === undefined) continue;
    check(`${name}.annotationFile`, d.annotationFile, 'file', 'a COCO instances JSON');
    check(`${name}.imagesDir`, d.imagesDir, 'folder', `the folder of the images named in ${name}.annotationFile`);
  }
  if (config.init !== undefined) check('init', config.init, 'file', 'a torchvision checkpoint (.pth), e.g. maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
  if (problems.length > 0) {
    throw new Error(`Error in train: --config ${file} names paths that cannot be used (relative paths are taken from the config's folder):\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Runs a training from a config file and prints progress; resolves when training ends.
 *
 * @param deps trainer hooks (e.g. `buildModel`) and the progress stream; `log` defaults to console.log.
 * @throws TrainingDivergedError on a NaN/Inf loss (the CLI then exits with status 1).
 * @example
 * ```ts
 * const result = await runTrain({ config: 'train.json' });
 * console.log(result.lastEval?.maskAp);
 * ```
 */
export async function runTrain(o: TrainCommandOptions, deps: TrainCommandDeps = {}): Promise<TrainResult> {
  if (o.quantize !== undefined && !WEIGHT_QUANTIZATIONS.includes(o.quantize as WeightQuantization)) {
    throw new Error(`Error in train: --quantize is '${o.quantize}'; expected ${WEIGHT_QUANTIZATIONS.join(' or ')}`);
  }
  const quantization = o.quantize as WeightQuantization | undefined;
  const config = readTrainConfig(o.config);
  checkConfigPaths(config, o.config);
  const log = deps.log ?? console.log;
  registerWasmTrainingKernels();
  const backend = await selectBackend({ backend: o.backend });
  log(describeBackend(backend));
  const progress = new TrainProgress({ log, logEvery: config.logEvery, stream: deps.stderr, bar: o.progress !== false });
  try {
    const trainer = await Trainer.create(config, {
      ...deps,
      resume: o.resume === true || deps.resume === true,
      // Every line printed during training goes round the bar.
      log: (line) => progress.print(line),
      onStep: (s) => {
        deps.onStep?.(s);
        progress.step(s);
      },
      onEval: (e) => {
        deps.onEval?.(e);
        progress.print(`step ${e.step}: box AP ${e.boxAp.toFixed(4)}  mask AP ${e.maskAp.toFixed(4)}`);
        for (const line of e.lines) progress.print(line);
      },
    });
    try {
      const where = progress.showsBar ? 'progress bar on stderr' : `a progress line every ${config.logEvery} steps (logEvery)`;
      log(`training ${trainer.dataset.length} images, ${trainer.dataset.numClasses - 1} classes; ${trainer.totalSteps} steps from step ${trainer.step}; ${where}`);
      if (trainer.history !== undefined) {
        log(`history: ${trainer.history.file}; curves: ${path.join(config.outputDir, CURVES_FILE)} (redrawn at each evaluation and at the end)`);
      }
      const result = await trainer.run();
      progress.stop();
      const saved = await trainer.saveModel(undefined, { quantization });
      log(`done: ${result.steps} steps, ${result.imagesPerSecond.toFixed(2)} img/s; model saved to ${saved}${quantization ? ` (${quantization})` : ''}`);
      return result;
    } finally {
      trainer.dispose();
    }
  } finally {
    progress.stop();
  }
}

/**
 * What {@link runTrain} and {@link registerTrainCommand} take besides the options: the trainer's
 * hooks, and the stream the progress bar is drawn on (default process.stderr; a bar only when it
 * is a terminal).
 *
 * @example
 * ```ts
 * const deps: TrainCommandDeps = { log: (l) => lines.push(l), stderr: process.stderr };
 * ```
 */
export interface TrainCommandDeps extends TrainerOptions {
  readonly stderr?: ProgressStream;
}

/**
 * Adds `train` to the `maskrcnn` program.
 *
 * @example
 * ```ts
 * const program = new Command('maskrcnn');
 * registerTrainCommand(program);
 * await program.parseAsync(['node', 'maskrcnn', 'train', '--config', 'train.json', '--resume']);
 * ```
 */
export function registerTrainCommand(program: Command, deps: TrainCommandDeps = {}): void {
  program
    .command('train')
    .description('train Mask R-CNN on a COCO-format dataset folder, with the settings of a JSON file')
    .requiredOption('--config <file>', 'training config (JSON): train, outputDir, and optional schedule, sizes, val, ...')
    .option('--resume', 'continue from the newest checkpoint in outputDir')
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu')
    .option('--no-progress', 'no progress bar (there is none when stderr is not a terminal: a loss line every logEvery steps shows progress)')
    .option('--quantize <type>', 'save the final model with its large weights as float16 (~2x smaller) or uint8 (~4x); checkpoints stay float32')
    .action(async (opts: TrainCommandOptions) => {
      await runTrain(opts, deps);
    });
}
