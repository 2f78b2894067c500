/**
 * What `maskrcnn train` prints while it trains, on a terminal and without one.
 *
 * - On a terminal (stderr a TTY): a progress bar on stderr, and every other line (the loss line
 *   every `logEvery` steps, checkpoints, evaluations) printed with the bar taken off first and
 *   drawn again after, so no line lands on the bar.
 * - Without one (CI, nohup, docker logs): no bar, whose carriage returns would fill a log file
 *   with one overwritten line; the loss line every `logEvery` steps (and at the first and last)
 *   carries the progress instead: step of total, percent, loss, img/s, elapsed and ETA.
 *
 * There is one ETA: the trainer's `StepInfo.etaSeconds`, formatted once and shown in both the bar
 * and the loss line (cli-progress's own estimate, from a moving window of bar updates, would
 * disagree with it).
 */
import { SingleBar } from 'cli-progress';
import { LOSS_NAMES } from '../losses/names';
import { isLoggedStep } from '../train/history';
import type { StepInfo } from '../train/trainer';

/**
 * Where the bar is drawn: process.stderr, or a stand-in in tests.
 *
 * @example
 * ```ts
 * const stream: ProgressStream = process.stderr;
 * ```
 */
export type ProgressStream = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };

/**
 * Seconds as a short duration: `42s`, `12m05s`, `3h07m`; `?` when not finite (before any step).
 *
 * @example
 * ```ts
 * formatDuration(725); // '12m05s'
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The loss line of a step: step of total with percent, epoch, total and per-loss values, lr, speed,
 * elapsed time and ETA.
 *
 * @example
 * ```ts
 * lossLine(step, 65);
 * // 'step 40/500 (8%)  epoch 0  loss 1.2345  loss_classifier 0.4000 ...  lr 1.000e-2  2.31 img/s  elapsed 1m05s  ETA 13m20s'
 * ```
 */
export function lossLine(s: StepInfo, elapsedSeconds: number): string {
  const losses = LOSS_NAMES.map((k) => `${k} ${s.losses[k].toFixed(4)}`).join('  ');
  const percent = Math.floor((100 * s.step) / s.totalSteps);
  return (
    `step ${s.step}/${s.totalSteps} (${percent}%)  epoch ${s.epoch}  loss ${s.totalLoss.toFixed(4)}  ${losses}  lr ${s.lr.toExponential(3)}  ` +
    `${s.imagesPerSecond.toFixed(2)} img/s  elapsed ${formatDuration(elapsedSeconds)}  ETA ${formatDuration(s.etaSeconds)}`
  );
}

/**
 * Options of {@link TrainProgress}.
 *
 * @example
 * ```ts
 * const o: TrainProgressOptions = { log: console.log, logEvery: 20, stream: process.stderr };
 * ```
 */
export interface TrainProgressOptions {
  /** Where lines go (stdout by default in the CLI). */
  readonly log: (line: string) => void;
  /** A loss line every this many steps, and at the first and last. */
  readonly logEvery: number;
  /** Where the bar goes; default process.stderr. */
  readonly stream?: ProgressStream;
  /** false: never a bar. Default: a bar when `stream` is a terminal. */
  readonly bar?: boolean;
}

/**
 * The progress display of a training run; see the file header.
 *
 * @example
 * ```ts
 * const progress = new TrainProgress({ log: console.log, logEvery: 20 });
 * const trainer = await Trainer.create(config, { onStep: (s) => progress.step(s), log: (l) => progress.print(l) });
 * try { await trainer.run(); } finally { progress.stop(); }
 * ```
 */
export class TrainProgress {
  private readonly bar: SingleBar | undefined;
  private total = 0;
  private value = 0;
  private payload: Record<string, string> = {};
  private active = false;
  private readonly started = Date.now();

  constructor(private readonly options: TrainProgressOptions) {
    const stream = options.stream ?? process.stderr;
    if (options.bar !== false && stream.isTTY === true) {
      this.bar = new SingleBar({
        format: 'train [{bar}] {value}/{total} steps | loss {loss} | lr {lr} | {ips} img/s | ETA {eta_text}',
        stream,
        // Taken off the screen before each printed line and drawn again after it.
        clearOnComplete: true,
        hideCursor: true,
      });
    }
  }

  /** True when a bar is shown (stderr is a terminal and the bar was not turned off). */
  get showsBar(): boolean {
    return this.bar !== undefined;
  }

  /** After every step: moves the bar, and prints the loss line at the first and last step and every `logEvery`. */
  step(s: StepInfo): void {
    this.total = s.totalSteps;
    this.value = s.step;
    this.payload = { loss: s.totalLoss.toFixed(4), lr: s.lr.toExponential(2), ips: s.imagesPerSecond.toFixed(2), eta_text: formatDuration(s.etaSeconds) };
    if (isLoggedStep(s.step, s.totalSteps, this.options.logEvery)) {
      this.print(lossLine(s, (Date.now() - this.started) / 1000));
    } else {
      this.draw();
    }
  }

  /** Prints a line; with a bar up, the bar is taken off first and drawn again after the line. */
  print(line: string): void {
    if (this.active) {
      this.bar!.stop();
      this.active = false;
    }
    this.options.log(line);
    this.draw();
  }

  /** Takes the bar off for good (idempotent). */
  stop(): void {
    if (this.active) this.bar!.stop();
    this.active = false;
    this.total = 0;
  }

  private draw(): void {
    if (this.bar === undefined || this.total === 0) return;
    if (!this.active) {
      this.bar.start(this.total, this.value, this.payload);
      this.active = true;
    } else {
      this.bar.update(this.value, this.payload);
    }
  }
}
