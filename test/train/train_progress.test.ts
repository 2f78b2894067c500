/**
 * What `maskrcnn train` prints: without a terminal a progress line every logEvery steps (step,
 * percent, loss, img/s, elapsed, ETA) and nothing on stderr; on a terminal a bar that every
 * printed line goes round (taken off, line, drawn again), with the same ETA as the loss line.
 * A small terminal emulator replays what was written to check where each line lands.
 */
import { formatDuration, lossLine, TrainProgress, type ProgressStream } from '../../src/cli/train_progress';
import type { StepInfo } from '../../src/train/trainer';
import { fakeStderr, Terminal } from '../support/terminal';

function stepInfo(step: number, totalSteps: number, etaSeconds: number): StepInfo {
  const losses = { loss_objectness: 0.1, loss_rpn_box_reg: 0.2, loss_classifier: 0.3, loss_box_reg: 0.4, loss_mask: 0.5 };
  return { step, totalSteps, epoch: 0, batchIndex: step - 1, losses, totalLoss: 1.5, lr: 0.01, images: 2, stepSeconds: 1, imagesPerSecond: 2.5, etaSeconds };
}

describe('train progress', () => {
  // A failed expectation must not leave a bar's redraw timer running.
  const made: TrainProgress[] = [];
  const track = (p: TrainProgress): TrainProgress => (made.push(p), p);
  afterEach(() => made.splice(0).forEach((p) => p.stop()));

  it('formats durations short', () => {
    expect([0, 42.4, 60, 725, 3599, 3600, 11220, NaN, Infinity].map(formatDuration)).toEqual(['0s', '42s', '1m00s', '12m05s', '59m59s', '1h00m', '3h07m', '?', '?']);
  });

  it('without a terminal: no bar, a progress line at the first step, every logEvery steps and at the last', () => {
    const stderr = fakeStderr(undefined, false);
    const lines: string[] = [];
    const progress = track(new TrainProgress({ log: (l) => lines.push(l), logEvery: 3, stream: stderr }));
    expect(progress.showsBar).toBe(false);
    for (let step = 1; step <= 7; step++) progress.step(stepInfo(step, 7, 100 * (7 - step)));
    progress.stop();
    expect(stderr.writes).toBe(0);
    expect(lines.map((l) => l.split('  ')[0])).toEqual(['step 1/7 (14%)', 'step 3/7 (42%)', 'step 6/7 (85%)', 'step 7/7 (100%)']);
    expect(lines[1]).toMatch(
      /^step 3\/7 \(42%\) {2}epoch 0 {2}loss 1\.5000 {2}loss_objectness 0\.1000 .* loss_mask 0\.5000 {2}lr 1\.000e-2 {2}2\.50 img\/s {2}elapsed \d+s {2}ETA 6m40s$/,
    );
  });

  it('on a terminal: every line is printed with the bar off, the bar comes back after it, and both show one ETA', () => {
    const terminal = new Terminal();
    const stderr = fakeStderr(terminal, true);
    const landed: string[] = [];
    const progress = track(new TrainProgress({
      log: (l) => {
        // What was on the line when the text came: the bar must have been taken off.
        landed.push(terminal.line.trim());
        terminal.write(l);
        terminal.newline();
      },
      logEvery: 2,
      stream: stderr,
    }));
    expect(progress.showsBar).toBe(true);
    for (let step = 1; step <= 4; step++) {
      progress.step(stepInfo(step, 5, 3725 - step));
      if (step === 2) progress.print('checkpoint: runs/x/step-000002');
      if (step === 2 || step === 4) {
        const loss = terminal.history.filter((l) => l.startsWith(`step ${step}/5`));
        expect(loss).toHaveLength(1);
        const eta = / ETA (\S+)$/.exec(loss[0])![1];
        expect(eta).toBe(formatDuration(3725 - step));
        // The bar is back, on its own line, with the loss line's ETA.
        expect(terminal.line).toMatch(new RegExp(`^train \\[.*\\] ${step}/5 steps \\| loss 1\\.5000 \\| lr 1\\.00e-2 \\| 2\\.50 img/s \\| ETA ${eta}$`));
      }
    }
    progress.stop();
    expect(landed).toEqual(['', '', '', '']); // step 1, step 2, the checkpoint line, step 4
    expect(terminal.history).toEqual([
      expect.stringMatching(/^step 1\/5 /),
      expect.stringMatching(/^step 2\/5 /),
      'checkpoint: runs/x/step-000002',
      expect.stringMatching(/^step 4\/5 /),
    ]);
    expect(terminal.line).toBe(''); // stop() takes the bar off
    progress.print('done'); // after stop, lines are plain and no bar comes back
    expect(terminal.line).toBe('');
  });

  it('--no-progress: no bar even on a terminal', () => {
    const stderr = fakeStderr(new Terminal(), true);
    const lines: string[] = [];
    const progress = track(new TrainProgress({ log: (l) => lines.push(l), logEvery: 1, stream: stderr, bar: false }));
    progress.step(stepInfo(1, 2, 10));
    progress.stop();
    expect(stderr.writes).toBe(0);
    expect(lines).toEqual([lossLine(stepInfo(1, 2, 10), 0)]); // within a second of the start: elapsed 0s
  });
});
