/**
 * history.jsonl: records appended and read back, a resumed run's truncation (atomic, nothing
 * after the checkpoint's step kept), a torn last line skipped, a damaged middle line an error
 * naming the file and line.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  evalRecord,
  HISTORY_FILE,
  isLoggedStep,
  parseHistory,
  readHistory,
  stepRecord,
  TrainingHistory,
  type HistoryRecord,
  type StepRecord,
} from '../../src/train/history';

const losses = { loss_objectness: 0.5, loss_rpn_box_reg: 0.02, loss_classifier: 1.25, loss_box_reg: 0.75, loss_mask: 0.625 };

function step(n: number, extra: Partial<StepRecord> = {}): StepRecord {
  return { type: 'step', step: n, epoch: 0, ...losses, total: 3.145, lr: 0.01 * n, ...extra };
}

let root: string;
let dir: string;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'history-test-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});
let n = 0;
beforeEach(() => {
  dir = path.join(root, `run-${n++}`);
});

describe('records', () => {
  test('stepRecord and evalRecord take what the trainer reports', () => {
    const info = { step: 20, epoch: 1, losses, totalLoss: 3.145, lr: 4e-4, gradNorm: 7.5 };
    expect(stepRecord(info)).toEqual({ type: 'step', step: 20, epoch: 1, ...losses, total: 3.145, lr: 4e-4, gradNorm: 7.5 });
    expect('gradNorm' in stepRecord({ ...info, gradNorm: undefined })).toBe(false);
    expect(evalRecord({ step: 500, boxAp: 0.083, maskAp: 0.081 })).toEqual({ type: 'eval', step: 500, boxAp: 0.083, maskAp: 0.081 });
  });

  test('isLoggedStep: the first, every logEvery-th and the last step', () => {
    expect([1, 2, 19, 20, 40, 44, 45].filter((s) => isLoggedStep(s, 45, 20))).toEqual([1, 20, 40, 45]);
    expect([1, 2, 3].filter((s) => isLoggedStep(s, 3, 1))).toEqual([1, 2, 3]);
  });
});

describe('TrainingHistory', () => {
  test('appends one JSON line per record, fields in a fixed order, and reads them back', async () => {
    const h = await TrainingHistory.open(dir);
    expect(h.file).toBe(path.resolve(dir, HISTORY_FILE));
    const records: HistoryRecord[] = [step(1, { gradNorm: 2.5 }), step(20), { type: 'eval', step: 20, boxAp: 0.125, maskAp: 0.25 }];
    for (const r of records) await h.append(r);
    expect(h.records).toEqual(records);
    const text = await fs.readFile(h.file, 'utf8');
    expect(text.split('\n')).toEqual([
      '{"type":"step","step":1,"epoch":0,"loss_objectness":0.5,"loss_rpn_box_reg":0.02,"loss_classifier":1.25,"loss_box_reg":0.75,"loss_mask":0.625,"total":3.145,"lr":0.01,"gradNorm":2.5}',
      '{"type":"step","step":20,"epoch":0,"loss_objectness":0.5,"loss_rpn_box_reg":0.02,"loss_classifier":1.25,"loss_box_reg":0.75,"loss_mask":0.625,"total":3.145,"lr":0.2}',
      '{"type":"eval","step":20,"boxAp":0.125,"maskAp":0.25}',
      '',
    ]);
    expect(await readHistory(h.file)).toEqual(records);
    expect(await readHistory(dir)).toEqual(records); // the output folder names its history.jsonl
  });

  test('NaN is written as null and read back as NaN', async () => {
    const h = await TrainingHistory.open(dir);
    await h.append({ type: 'eval', step: 3, boxAp: NaN, maskAp: -1 });
    expect(await fs.readFile(h.file, 'utf8')).toBe('{"type":"eval","step":3,"boxAp":null,"maskAp":-1}\n');
    expect(await readHistory(h.file)).toEqual([{ type: 'eval', step: 3, boxAp: NaN, maskAp: -1 }]);
  });

  test('a resumed run drops the records after its checkpoint, rewriting the file atomically', async () => {
    const first = await TrainingHistory.open(dir);
    for (const r of [step(1), step(2), { type: 'eval', step: 2, boxAp: 0.1, maskAp: 0.2 } as const, step(3), step(4), { type: 'eval', step: 4, boxAp: 0.3, maskAp: 0.4 } as const]) {
      await first.append(r);
    }
    const before = await fs.stat(first.file);
    const resumed = await TrainingHistory.open(dir, { resumeStep: 2 });
    expect(resumed.records.map((r) => `${r.type}${r.step}`)).toEqual(['step1', 'step2', 'eval2']);
    expect([resumed.dropped, resumed.droppedTornLine]).toEqual([3, false]);
    // A new file renamed into place (a new inode), and no temporary file left next to it.
    expect((await fs.stat(resumed.file)).ino).not.toBe(before.ino);
    expect(await fs.readdir(dir)).toEqual([HISTORY_FILE]);
    await resumed.append(step(3, { lr: 0.5 }));
    expect((await readHistory(dir)).map((r) => `${r.type}${r.step}`)).toEqual(['step1', 'step2', 'eval2', 'step3']);
    expect((await readHistory(dir))[3]).toEqual(step(3, { lr: 0.5 }));
  });

  test('resuming with nothing to drop leaves the file as it is; a new run empties it', async () => {
    const h = await TrainingHistory.open(dir);
    await h.append(step(1));
    await h.append(step(2));
    const before = await fs.stat(h.file);
    const same = await TrainingHistory.open(dir, { resumeStep: 2 });
    expect([same.records.length, same.dropped]).toEqual([2, 0]);
    expect((await fs.stat(h.file)).ino).toBe(before.ino);
    const fresh = await TrainingHistory.open(dir);
    expect([fresh.records.length, fresh.dropped]).toEqual([0, 2]);
    expect(await fs.readFile(h.file, 'utf8')).toBe('');
  });

  test('a torn last line (a write cut short by a crash) is skipped, and dropped on open', async () => {
    const h = await TrainingHistory.open(dir);
    await h.append(step(1));
    await h.append(step(2));
    const good = await fs.readFile(h.file, 'utf8');
    await fs.appendFile(h.file, '{"type":"step","step":3,"epoch":0,"loss_obj');
    expect((await readHistory(dir)).map((r) => r.step)).toEqual([1, 2]);
    expect(parseHistory(await fs.readFile(h.file, 'utf8')).tornLastLine).toBe(true);
    // Zeros, as a file system may leave after a power cut, are torn too.
    await fs.appendFile(h.file, '\0\0\0\0');
    expect((await readHistory(dir)).map((r) => r.step)).toEqual([1, 2]);
    const resumed = await TrainingHistory.open(dir, { resumeStep: 2 });
    expect([resumed.records.length, resumed.dropped, resumed.droppedTornLine]).toEqual([2, 0, true]);
    expect(await fs.readFile(h.file, 'utf8')).toBe(good);
  });

  test('a last record without its newline is still a record', () => {
    const { records, tornLastLine } = parseHistory('{"type":"eval","step":3,"boxAp":0.5,"maskAp":0.25}');
    expect([records, tornLastLine]).toEqual([[{ type: 'eval', step: 3, boxAp: 0.5, maskAp: 0.25 }], false]);
    expect(parseHistory('\n\n').records).toEqual([]); // blank lines are nothing
  });

  test('a damaged line that others follow is an error naming the file and the line', async () => {
    const h = await TrainingHistory.open(dir);
    await h.append(step(1));
    await fs.appendFile(h.file, '{"type":"step","step":2,"epo\n');
    await h.append(step(3));
    const file = h.file;
    await expect(readHistory(dir)).rejects.toThrow(`Error in readHistory: ${file} line 2 is not a history record: not JSON`);
    await expect(readHistory(dir)).rejects.toThrow(/the file is damaged: fix or delete that line/);
    await expect(TrainingHistory.open(dir, { resumeStep: 3 })).rejects.toThrow(`Error in TrainingHistory.open: ${file} line 2 is not a history record`);
    // The file is left as it was.
    expect((await fs.readFile(file, 'utf8')).split('\n').length).toBe(4);
  });

  test('a line of JSON that is not a record says what is wrong with it', () => {
    const line = (o: unknown): string => `${JSON.stringify(o)}\n{"type":"eval","step":1,"boxAp":0,"maskAp":0}\n`;
    expect(() => parseHistory(line([1, 2]), 'h.jsonl')).toThrow('Error in parseHistory: h.jsonl line 1 is not a history record: not a JSON object');
    expect(() => parseHistory(line({ type: 'lr', step: 1 }), 'h.jsonl')).toThrow('type is "lr"; expected "step" or "eval"');
    expect(() => parseHistory(line({ ...step(1), step: 1.5, loss_mask: '0.3' }), 'h.jsonl')).toThrow('step must be an integer >= 0; loss_mask must be a number');
    expect(() => parseHistory(line({ type: 'eval', step: 2, boxAp: 0.1 }), 'h.jsonl')).toThrow('maskAp must be a number');
    expect(() => parseHistory(line({ type: 'step', step: -1 }), 'h.jsonl')).toThrow(
      'step, epoch must be integers >= 0; loss_objectness, loss_rpn_box_reg, loss_classifier, loss_box_reg, loss_mask, total, lr must be numbers',
    );
  });

  test('readHistory names a file it cannot read', async () => {
    await expect(readHistory(path.join(dir, 'missing.jsonl'))).rejects.toThrow(/Error in readHistory: cannot read .*missing\.jsonl: no such file/);
  });
});
