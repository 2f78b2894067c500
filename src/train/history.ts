/**
 * The history of a training run as JSON lines in `<outputDir>/history.jsonl`: one record per
 * logged step (the steps `maskrcnn train` prints a loss line for, see {@link isLoggedStep}) and
 * one per evaluation, in the order they happened. It is what the training curves are drawn from,
 * and plain enough for `jq` or `pandas.read_json(lines=True)`.
 *
 * ```
 * {"type":"step","step":20,"epoch":0,"loss_objectness":0.41,"loss_rpn_box_reg":0.02,"loss_classifier":1.2,"loss_box_reg":0.9,"loss_mask":0.7,"total":3.23,"lr":0.0004,"gradNorm":7.1}
 * {"type":"eval","step":500,"boxAp":0.083,"maskAp":0.081}
 * ```
 *
 * Crash safety in one sentence: each record is appended with one write, so a crash can tear only
 * the last line, which the reader skips; a run that starts or resumes first rewrites the file
 * atomically (temporary file, fsync, rename) with the records up to its checkpoint's step, so the
 * file always tells the history of the run as it continued. Any other unreadable line is damage,
 * and an error names the file and the line.
 *
 * Appends are not fsynced: a power cut may lose the newest records (never a checkpoint).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic_file';
import { LOSS_NAMES, type LossName } from '../losses/names';
import type { CurveEvalRecord, CurveStepRecord } from '../viz/training_curves';
import type { EvalInfo, StepInfo } from './trainer';

/**
 * The name of the history file in a run's output folder.
 *
 * @example
 * ```ts
 * const file = path.join(config.outputDir, HISTORY_FILE); // runs/shapes/history.jsonl
 * ```
 */
export const HISTORY_FILE = 'history.jsonl';

/**
 * One logged training step: the five losses by their torchvision names, their sum, the learning
 * rate the step used, and the gradient norm before clipping (only when clipping is on).
 *
 * @example
 * ```ts
 * const r: StepRecord = { type: 'step', step: 20, epoch: 0, loss_objectness: 0.41, loss_rpn_box_reg: 0.02,
 *   loss_classifier: 1.2, loss_box_reg: 0.9, loss_mask: 0.7, total: 3.23, lr: 4e-4 };
 * ```
 */
export interface StepRecord extends CurveStepRecord {
  readonly epoch: number;
  /** Global gradient norm before clipping; absent when clipping is off. */
  readonly gradNorm?: number;
}

/**
 * One evaluation on the held-out set: box and mask AP @[.5:.95] after `step` steps (-1 or NaN
 * when there was nothing to score).
 *
 * @example
 * ```ts
 * const r: EvalRecord = { type: 'eval', step: 500, boxAp: 0.083, maskAp: 0.081 };
 * ```
 */
export type EvalRecord = CurveEvalRecord;

/**
 * A line of `history.jsonl`.
 *
 * @example
 * ```ts
 * const steps = records.filter((r): r is StepRecord => r.type === 'step');
 * ```
 */
export type HistoryRecord = StepRecord | EvalRecord;

/**
 * What {@link parseHistory} read: the records, and whether a torn last line was skipped.
 *
 * @example
 * ```ts
 * const { records, tornLastLine } = parseHistory(text, 'history.jsonl');
 * ```
 */
export interface ParsedHistory {
  readonly records: HistoryRecord[];
  /** The text after the last newline was not a record (a write cut short by a crash) and was left out. */
  readonly tornLastLine: boolean;
}

/**
 * Whether step `step` of `totalSteps` is logged: the first, every `logEvery`-th and the last, as
 * `maskrcnn train` prints its loss line; the history records the same steps.
 *
 * @example
 * ```ts
 * [1, 2, 20, 40, 45].map((s) => isLoggedStep(s, 45, 20)); // [true, false, true, true, true]
 * ```
 */
export function isLoggedStep(step: number, totalSteps: number, logEvery: number): boolean {
  return step === 1 || step % logEvery === 0 || step === totalSteps;
}

/**
 * The history record of a training step.
 *
 * @example
 * ```ts
 * await history.append(stepRecord(info)); // in TrainerOptions.onStep
 * ```
 */
export function stepRecord(info: Pick<StepInfo, 'step' | 'epoch' | 'losses' | 'totalLoss' | 'lr' | 'gradNorm'>): StepRecord {
  const losses = {} as Record<LossName, number>;
  for (const k of LOSS_NAMES) losses[k] = info.losses[k];
  return {
    type: 'step',
    step: info.step,
    epoch: info.epoch,
    ...losses,
    total: info.totalLoss,
    lr: info.lr,
    ...(info.gradNorm !== undefined ? { gradNorm: info.gradNorm } : {}),
  };
}

/**
 * The history record of an evaluation.
 *
 * @example
 * ```ts
 * await history.append(evalRecord(await trainer.evaluate()));
 * ```
 */
export function evalRecord(info: Pick<EvalInfo, 'step' | 'boxAp' | 'maskAp'>): EvalRecord {
  return { type: 'eval', step: info.step, boxAp: info.boxAp, maskAp: info.maskAp };
}

/** The record as one JSON line, fields in a fixed order (NaN and infinities become null). */
function serialize(r: HistoryRecord): string {
  if (r.type === 'eval') return JSON.stringify({ type: 'eval', step: r.step, boxAp: r.boxAp, maskAp: r.maskAp });
  return JSON.stringify(stepRecord({ step: r.step, epoch: r.epoch, losses: r, totalLoss: r.total, lr: r.lr, gradNorm: r.gradNorm }));
}

const STEP_VALUES: readonly string[] = [...LOSS_NAMES, 'total', 'lr'];

/** Why a parsed JSON value is not a record, or undefined when it is one. */
function problemOf(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  let counts: readonly string[];
  let values: readonly string[];
  if (o.type === 'step') {
    counts = ['step', 'epoch'];
    values = [...STEP_VALUES, ...(o.gradNorm !== undefined ? ['gradNorm'] : [])];
  } else if (o.type === 'eval') {
    counts = ['step'];
    values = ['boxAp', 'maskAp'];
  } else {
    return `type is ${JSON.stringify(o.type) ?? 'missing'}; expected "step" or "eval"`;
  }
  const badCounts = counts.filter((k) => !(Number.isSafeInteger(o[k]) && (o[k] as number) >= 0));
  // A value the writer could not represent (NaN, an infinity) is stored as null.
  const badValues = values.filter((k) => typeof o[k] !== 'number' && o[k] !== null);
  const why = [
    ...(badCounts.length > 0 ? [`${badCounts.join(', ')} must be ${badCounts.length > 1 ? 'integers' : 'an integer'} >= 0`] : []),
    ...(badValues.length > 0 ? [`${badValues.join(', ')} must be ${badValues.length > 1 ? 'numbers' : 'a number'}`] : []),
  ];
  return why.length > 0 ? why.join('; ') : undefined;
}

/** The record with nulls read back as NaN and fields other than the record's own left out. */
function toRecord(o: Record<string, unknown>): HistoryRecord {
  const num = (k: string): number => (o[k] === null ? NaN : (o[k] as number));
  if (o.type === 'eval') return { type: 'eval', step: num('step'), boxAp: num('boxAp'), maskAp: num('maskAp') };
  const losses = {} as Record<LossName, number>;
  for (const k of LOSS_NAMES) losses[k] = num(k);
  return stepRecord({ step: num('step'), epoch: num('epoch'), losses, totalLoss: num('total'), lr: num('lr'), gradNorm: o.gradNorm === undefined ? undefined : num('gradNorm') });
}

interface ParsedLines {
  readonly lines: { readonly record: HistoryRecord; readonly text: string }[];
  readonly tornLastLine: boolean;
}

function parseLines(text: string, source: string, where: string): ParsedLines {
  const parts = text.split('\n');
  // What follows the last newline is an unfinished write (or '' when the file ends in one).
  const tail = parts.pop() as string;
  const lines: { record: HistoryRecord; text: string }[] = [];
  const read = (line: string): HistoryRecord | string => {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      return `not JSON (${(e as Error).message})`;
    }
    return problemOf(v) ?? toRecord(v as Record<string, unknown>);
  };
  parts.forEach((line, i) => {
    if (line.trim() === '') return;
    const r = read(line);
    if (typeof r === 'string') {
      const shown = line.length > 80 ? `${line.slice(0, 77)}...` : line;
      throw new Error(
        `Error in ${where}: ${source} line ${i + 1} is not a history record: ${r}: ${shown}. ` +
          'Only a torn last line (a write cut short by a crash) is skipped; this one is followed by others, so the file is damaged: fix or delete that line.',
      );
    }
    lines.push({ record: r, text: line });
  });
  let tornLastLine = false;
  if (tail.trim() !== '') {
    const r = read(tail);
    if (typeof r === 'string') tornLastLine = true;
    else lines.push({ record: r, text: tail });
  }
  return { lines, tornLastLine };
}

/**
 * Parses the text of a `history.jsonl`. Blank lines are ignored; an unreadable text after the
 * last newline is a torn write and is left out (`tornLastLine`).
 *
 * @param source the file named in errors.
 * @throws Error naming `source` and the line, when a line that other lines follow is not a record.
 * @example
 * ```ts
 * const { records } = parseHistory(await (await fetch('runs/a/history.jsonl')).text(), 'runs/a/history.jsonl');
 * ```
 */
export function parseHistory(text: string, source = HISTORY_FILE): ParsedHistory {
  const { lines, tornLastLine } = parseLines(text, source, 'parseHistory');
  return { records: lines.map((l) => l.record), tornLastLine };
}

/**
 * Reads a `history.jsonl` (a file, or the output folder that holds one); a torn last line is
 * skipped.
 *
 * @throws Error naming the file when it cannot be read, or the file and line of a damaged record.
 * @example
 * ```ts
 * const records = await readHistory('runs/shapes');
 * const last = records.filter((r) => r.type === 'eval').pop();
 * ```
 */
export async function readHistory(fileOrDir: string): Promise<HistoryRecord[]> {
  const file = await historyFileOf(fileOrDir);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`Error in readHistory: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parseLines(text, file, 'readHistory').lines.map((l) => l.record);
}

async function historyFileOf(fileOrDir: string): Promise<string> {
  const st = await fs.stat(fileOrDir).catch(() => undefined);
  return st?.isDirectory() ? path.join(fileOrDir, HISTORY_FILE) : fileOrDir;
}

/**
 * Options of {@link TrainingHistory.open}.
 *
 * @example
 * ```ts
 * const options: OpenHistoryOptions = { resumeStep: 500 };
 * ```
 */
export interface OpenHistoryOptions {
  /**
   * The step of the checkpoint the run resumes from: records after it are dropped. Undefined (a
   * new run): the whole old history, if any, is dropped.
   */
  readonly resumeStep?: number;
}

/**
 * The history file of a run being trained: opened once when the run starts or resumes, then
 * appended to. See the file header for what it holds and how it survives crashes.
 *
 * @example
 * ```ts
 * const history = await TrainingHistory.open('runs/shapes', { resumeStep: 500 });
 * await history.append(stepRecord(info));
 * renderTrainingCurves(history.records);
 * ```
 */
export class TrainingHistory {
  private constructor(
    /** Path of `history.jsonl`. */
    readonly file: string,
    private readonly list: HistoryRecord[],
    /** Records dropped when opening (after `resumeStep`, or all for a new run). */
    readonly dropped: number,
    /** A torn last line was found and dropped when opening. */
    readonly droppedTornLine: boolean,
  ) {}

  /**
   * Opens `<outputDir>/history.jsonl` for a run starting at `resumeStep` (or anew): keeps the
   * records up to that step, and rewrites the file atomically when anything is dropped.
   *
   * @throws Error naming the file and line of a damaged record (only a torn last line is dropped).
   */
  static async open(outputDir: string, options: OpenHistoryOptions = {}): Promise<TrainingHistory> {
    const file = path.resolve(outputDir, HISTORY_FILE);
    let text: string | undefined;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`Error in TrainingHistory.open: cannot read ${file}: ${(e as Error).message}`);
    }
    if (text === undefined) return new TrainingHistory(file, [], 0, false);
    const { resumeStep } = options;
    const { lines, tornLastLine } = parseLines(text, file, 'TrainingHistory.open');
    const kept = resumeStep === undefined ? [] : lines.filter((l) => l.record.step <= resumeStep);
    if (kept.length < lines.length || tornLastLine || (kept.length === 0 && text.length > 0)) {
      await writeFileAtomic(file, kept.map((l) => `${l.text}\n`).join(''));
    }
    return new TrainingHistory(file, kept.map((l) => l.record), lines.length - kept.length, tornLastLine);
  }

  /** The records so far, oldest first. */
  get records(): readonly HistoryRecord[] {
    return this.list;
  }

  /** Appends a record to the file (one write) and to {@link records}. */
  async append(record: HistoryRecord): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    await fs.appendFile(this.file, `${serialize(record)}\n`, 'utf8');
    this.list.push(record);
  }
}
