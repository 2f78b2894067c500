/**
 * `maskrcnn convert <input> <output>`: a torchvision checkpoint (`.pth` / `.pt`) to our model
 * folder (model.json + shards), or our folder to a `.pth` that torchvision loads with
 * `load_state_dict(..., strict=True)`. The direction follows the output's extension unless
 * `--to` says; an existing output is replaced only with `--force`, and the output appears whole
 * or not at all (written under a temporary name, then renamed).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { fromTorchvision, load, MaskRCNNModel } from '../api/model';
import { describeBackend } from '../backend';
import { writeFolderAtomic } from '../io/atomic_file';
import { inferArchitecture } from '../io/infer_architecture';
import { WEIGHT_QUANTIZATIONS, type WeightQuantization } from '../io/quantization';
import { readTorchShapes } from '../io/torch_checkpoint';
import type { MaskRCNNConfig } from '../model/mask_rcnn';

/**
 * The two formats `convert` reads and writes: `torch` (a torchvision state dict, `.pth` /
 * `.pt`) and `native` (our model folder, model.json + shards).
 *
 * @example
 * ```ts
 * CONVERT_FORMATS.includes('torch'); // true
 * ```
 */
export const CONVERT_FORMATS = ['torch', 'native'] as const;

/**
 * A format of {@link CONVERT_FORMATS}.
 *
 * @example
 * ```ts
 * const to: ConvertFormat = 'torch';
 * ```
 */
export type ConvertFormat = (typeof CONVERT_FORMATS)[number];

/**
 * Options of {@link runConvert}.
 *
 * @example
 * ```ts
 * const o: ConvertOptions = { input: 'runs/shapes/model', output: 'shapes.pth' };
 * ```
 */
export interface ConvertOptions {
  /** A `.pth` / `.pt` checkpoint, or a model folder (or its model.json) saved by maskrcnn-tfjs. */
  input: string;
  /** A `.pth` / `.pt` file (torch) or a folder (native). */
  output: string;
  /** The output's format; default `torch` for a `.pth` / `.pt` output, else `native`. */
  to?: string;
  /** Replace an existing output. */
  force?: boolean;
  /** Native output only: store the large weights as `float16` or `uint8` (see `WeightQuantization`). */
  quantize?: string;
  /**
   * A JSON file holding a `MaskRCNNConfig`, over what the input implies (torch input: the
   * architecture read off its shapes; native: model.json's): preprocessing, RPN and detection
   * settings a `.pth` cannot hold.
   */
  config?: string;
  /** A JSON array of class names (background first), stored with native output. */
  classNames?: string;
  /** Torch input: the key of the state dict inside a training checkpoint (`model`, `state_dict`, ...). */
  checkpointKey?: string;
  /** Torch output: also write BatchNorm2d's `num_batches_tracked` counters (as 0). */
  numBatchesTracked?: boolean;
  /** auto (default), tensorflow-gpu, tensorflow, wasm or cpu. */
  backend?: string;
}

/**
 * What {@link runConvert} did.
 *
 * @example
 * ```ts
 * const { to, output, tensors } = await runConvert({ input: 'a.pth', output: 'a' });
 * ```
 */
export interface ConvertResult {
  readonly from: ConvertFormat;
  readonly to: ConvertFormat;
  /** The absolute path written. */
  readonly output: string;
  /** Parameters and buffers written (with `numBatchesTracked`, the counters too). */
  readonly tensors: number;
  /** The output's size on disk. */
  readonly bytes: number;
}

const isTorchPath = (p: string): boolean => /\.(pth|pt)$/i.test(p);

function readJson(file: string, option: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`Error in convert: cannot read ${option} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`Error in convert: ${option} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The input's format, from what is on disk; throws naming the file when it is neither. */
function inputFormat(input: string): ConvertFormat {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(input);
  } catch {
    throw new Error(`Error in convert: input ${input} does not exist`);
  }
  if (stat.isFile() && isTorchPath(input)) return 'torch';
  if (stat.isFile() && input.toLowerCase().endsWith('.json')) return 'native';
  if (stat.isDirectory()) {
    if (fs.existsSync(path.join(input, 'model.json'))) return 'native';
    throw new Error(`Error in convert: input ${input} is a folder without model.json, not a model saved by maskrcnn-tfjs`);
  }
  throw new Error(`Error in convert: input ${input} is neither a .pth / .pt checkpoint nor a model folder or model.json saved by maskrcnn-tfjs`);
}

/** Checks every option against the others and the disk; returns the output format. */
function checkOptions(o: ConvertOptions): ConvertFormat {
  if (o.to !== undefined && !CONVERT_FORMATS.includes(o.to as ConvertFormat)) {
    throw new Error(`Error in convert: --to is '${o.to}'; expected ${CONVERT_FORMATS.join(' or ')}`);
  }
  const to = (o.to as ConvertFormat | undefined) ?? (isTorchPath(o.output) ? 'torch' : 'native');
  if (to === 'torch' && !isTorchPath(o.output)) {
    throw new Error(`Error in convert: output ${o.output} must end in .pth or .pt for --to torch`);
  }
  if (to === 'native' && (isTorchPath(o.output) || o.output.toLowerCase().endsWith('.json'))) {
    throw new Error(`Error in convert: output ${o.output} is a file name, but native output is a folder (model.json + shards); drop the extension or pass --to torch`);
  }
  if (o.quantize !== undefined) {
    if (!WEIGHT_QUANTIZATIONS.includes(o.quantize as WeightQuantization)) {
      throw new Error(`Error in convert: --quantize is '${o.quantize}'; expected ${WEIGHT_QUANTIZATIONS.join(' or ')}`);
    }
    if (to === 'torch') throw new Error('Error in convert: --quantize applies to native output only; a .pth holds float32 weights');
  }
  if (o.numBatchesTracked && to === 'native') throw new Error('Error in convert: --num-batches-tracked applies to .pth output only');
  if (o.classNames !== undefined && to === 'torch') throw new Error('Error in convert: --class-names applies to native output only; a .pth holds weights only');
  return to;
}

async function loadInput(o: ConvertOptions, from: ConvertFormat): Promise<MaskRCNNModel> {
  const config = o.config === undefined ? undefined : (readJson(o.config, '--config') as MaskRCNNConfig);
  const classNames = o.classNames === undefined ? undefined : (readJson(o.classNames, '--class-names') as string[]);
  if (from === 'native') {
    if (o.checkpointKey !== undefined) throw new Error('Error in convert: --checkpoint-key applies to .pth input only');
    return load(o.input, { config, classNames, backend: o.backend });
  }
  let shapes: Map<string, number[]>;
  try {
    shapes = readTorchShapes(o.input, { key: o.checkpointKey });
  } catch (e) {
    throw new Error(`Error in convert: ${(e as Error).message}`);
  }
  // The checkpoint's shapes say which architecture to build; --config settles the rest (and wins).
  const architecture = inferArchitecture(shapes, o.input);
  return fromTorchvision(o.input, { config: { ...architecture, ...config }, classNames, checkpointKey: o.checkpointKey, backend: o.backend });
}

function sizeOnDisk(p: string): number {
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(p).reduce((n, f) => n + sizeOnDisk(path.join(p, f)), 0);
}

/**
 * Converts between a torchvision checkpoint and our model folder (see the module comment).
 * Everything that can be checked before reading the input is, so a bad option costs nothing.
 *
 * @throws Error naming the file: missing or unrecognised input, an output that exists (without
 *   `force`), an extension that does not fit the format, an option that does not apply.
 * @example
 * ```ts
 * await runConvert({ input: 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth', output: 'models/coco', quantize: 'float16' });
 * await runConvert({ input: 'runs/shapes/model', output: 'shapes.pth' }); // for torchvision
 * ```
 */
export async function runConvert(o: ConvertOptions, log: (line: string) => void = console.log): Promise<ConvertResult> {
  const to = checkOptions(o);
  const from = inputFormat(o.input);
  const output = path.resolve(o.output);
  const inputDir = path.resolve(from === 'native' && o.input.toLowerCase().endsWith('.json') ? path.dirname(o.input) : o.input);
  if (output === inputDir || output === path.resolve(o.input)) {
    throw new Error(`Error in convert: output ${o.output} is the input; write somewhere else`);
  }
  if (fs.existsSync(output) && !o.force) throw new Error(`Error in convert: ${o.output} exists; pass --force to replace it`);

  const model = await loadInput(o, from);
  try {
    if (model.backend) log(describeBackend(model.backend));
    let tensors = model.network.stateDict().size;
    if (to === 'torch') {
      tensors = (await model.saveTorch(output, { numBatchesTracked: o.numBatchesTracked === true })).tensors;
    } else {
      const quantization = o.quantize as WeightQuantization | undefined;
      await writeFolderAtomic(output, (tmp) => model.save(`file://${tmp}`, { quantization }), { replace: o.force === true });
    }
    const bytes = sizeOnDisk(output);
    const describe = (f: ConvertFormat) => (f === 'torch' ? 'torchvision state dict' : 'maskrcnn-tfjs model');
    log(
      `converted ${o.input} (${describe(from)}) to ${o.output} (${describe(to)}${o.quantize ? `, ${o.quantize}` : ''}): ` +
        `${tensors} tensors, ${(bytes / 1e6).toFixed(1)} MB`,
    );
    return { from, to, output, tensors, bytes };
  } finally {
    model.dispose();
  }
}

/**
 * Adds `convert` to the `maskrcnn` program.
 *
 * @example
 * ```ts
 * const program = new Command('maskrcnn');
 * registerConvertCommand(program);
 * await program.parseAsync(['node', 'maskrcnn', 'convert', 'runs/shapes/model', 'shapes.pth']);
 * ```
 */
export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('convert a torchvision checkpoint (.pth) to a maskrcnn-tfjs model folder, or back (--to torch, or an output ending in .pth)')
    .argument('<input>', 'a .pth / .pt checkpoint, or a model folder (or model.json) saved by maskrcnn-tfjs')
    .argument('<output>', 'a .pth / .pt file (torch) or a folder (native)')
    .option('--to <format>', 'torch or native (default: torch for a .pth / .pt output, else native)')
    .option('--force', 'replace the output if it exists')
    .option('--quantize <type>', 'native output: store the large weights as float16 (~2x smaller) or uint8 (~4x)')
    .option('--config <file>', 'JSON MaskRCNNConfig over what the input implies (e.g. transform, rpn, detection settings)')
    .option('--class-names <file>', 'native output: JSON array of class names, background first')
    .option('--checkpoint-key <key>', '.pth input: the key of the state dict in a training checkpoint (model, state_dict, ...)')
    .option('--num-batches-tracked', '.pth output: also write BatchNorm2d num_batches_tracked counters (as 0)')
    .option('--backend <name>', 'auto, tensorflow-gpu, tensorflow, wasm or cpu (default: MASKRCNN_BACKEND or auto)')
    .action(async (input: string, output: string, opts: Omit<ConvertOptions, 'input' | 'output'>) => {
      await runConvert({ ...opts, input, output });
    });
}
