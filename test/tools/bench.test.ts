/**
 * The pure parts of `npm run bench` on canned numbers: statistics, the table, the command line
 * and the worker protocol. Nothing here runs a model or reads a clock.
 */
import { parseReplyLine, replyLine } from '../../tools/bench/child';
import { parseBenchArgs } from '../../tools/bench/options';
import { benchRows, type BenchRecord, formatValue, markdownReport, markdownTable, median, ratio, summarize } from '../../tools/bench/report';

/** Three runs a side; torchvision twice as fast everywhere but in the mask stage. */
function record(): BenchRecord {
  const stages = (k: number) => ({
    preprocess: [10 * k, 12 * k, 11 * k],
    backbone_fpn: [4000 * k, 4400 * k, 4200 * k],
    rpn: [1000 * k, 900 * k, 1100 * k],
    box_head: [300 * k, 320 * k, 310 * k],
    mask_head_paste: [700, 800, 750],
  });
  return {
    date: '2026-12-03 14:00 UTC',
    command: 'npm run bench -- --quick',
    machine: { cpu: 'AMD EPYC', cores: 2, loadBefore: 1.5, loadAfter: 2.25 },
    versions: { tfjs: '4.22.0', torch: '1.13.0' },
    settings: { imageSize: [480, 640], resizedSize: [800, 1066], minSize: 800, trainSize: 256, trainLr: 0, warmup: 1, runs: 3, throughputImages: 4, weights: 'w.pth' },
    ours: {
      inference: { totalMs: [6000, 6500, 6200], stagesMs: stages(1), detections: [100, 100, 100] },
      throughput: [0.3, 0.25, 0.35],
      trainStepMs: [9000, 8000, 10000],
      peakMiB: { inference: 900, throughput: 1800, training: 3000 },
    },
    theirs: {
      inference: { totalMs: [3000, 3100, 2900], stagesMs: stages(0.5), detections: [100, 99, 100] },
      throughput: [0.5, 0.4, 0.6],
      trainStepMs: [4000, 4500, 5000],
      peakMiB: { inference: 700, training: 1500 },
    },
    leftOut: ['training with both cores: not yet'],
  };
}

describe('bench statistics', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow('no values');
  });

  it('summarises runs and refuses non-finite ones', () => {
    expect(summarize([12, 10, 11])).toEqual({ median: 11, min: 10, max: 12, n: 3 });
    expect(() => summarize([1, NaN])).toThrow('non-finite');
  });

  it('divides ours by theirs, and gives no ratio without a positive denominator', () => {
    expect(ratio(15.5, 10)).toBeCloseTo(1.55, 12);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(undefined, 2)).toBeUndefined();
    expect(ratio(2, undefined)).toBeUndefined();
  });
});

describe('bench table', () => {
  it('has one row per measure, stages indented, ratios of the medians', () => {
    const rows = benchRows(record());
    expect(rows.map((r) => [r.label, r.sub])).toEqual([
      ['inference, 1 thread (800x1066)', false],
      ['preprocess (normalise, resize, pad)', true],
      ['backbone + FPN', true],
      ['RPN (head, decode, NMS)', true],
      ['RoI box head (RoIAlign, fc, NMS)', true],
      ['mask head + paste', true],
      ['throughput, 2 cores (4 images a round)', false],
      ['training step, batch 2 at 256 px, 1 thread', false],
      ['peak memory, inference process', false],
      ['peak memory, throughput processes', false],
      ['peak memory, training process', false],
    ]);
    expect(rows[0].ours).toEqual({ median: 6200, min: 6000, max: 6500, n: 3 });
    expect(rows[0].ratio).toBeCloseTo(6200 / 3000, 12);
    expect(rows[2].ratio).toBeCloseTo(2, 12);
    expect(rows[5].ratio).toBe(1);
    expect(rows[6].ratio).toBeCloseTo(0.3 / 0.5, 12);
    expect(rows[9].theirs).toBeUndefined();
    expect(rows[9].ratio).toBeUndefined();
  });

  it('leaves out what neither side measured', () => {
    const r = record();
    const rows = benchRows({ ...r, ours: { peakMiB: { training: 1 } }, theirs: { peakMiB: {} } });
    expect(rows.map((x) => x.label)).toEqual(['peak memory, training process']);
  });

  it('formats each unit', () => {
    expect(formatValue(15512.4, 'ms')).toBe('15512');
    expect(formatValue(7.25, 'ms')).toBe('7.3');
    expect(formatValue(0.08512, 'img/s')).toBe('0.0851');
    expect(formatValue(1.5, 'img/s')).toBe('1.50');
    expect(formatValue(2695.4, 'MiB')).toBe('2695');
  });

  it('prints median (min-max), a dash for a missing side, two-decimal ratios', () => {
    const table = markdownTable(benchRows(record())).split('\n');
    expect(table[0]).toBe('| measure | unit | ours (tfjs wasm) | torchvision | ours / torchvision |');
    expect(table[2]).toBe('| inference, 1 thread (800x1066) | ms | 6200 (6000-6500) | 3000 (2900-3100) | 2.07 |');
    expect(table[4]).toBe('| &nbsp;&nbsp;backbone + FPN | ms | 4200 (4000-4400) | 2100 (2000-2200) | 2.00 |');
    expect(table[8]).toBe('| throughput, 2 cores (4 images a round) | img/s | 0.300 (0.250-0.350) | 0.500 (0.400-0.600) | 0.60 |');
    expect(table[10]).toBe('| peak memory, inference process | MiB | 900 | 700 | 1.29 |');
    expect(table[11]).toBe('| peak memory, throughput processes | MiB | 1800 | - | - |');
  });

  it('says where, with what and how it was measured, and what was left out', () => {
    const md = markdownReport(record());
    expect(md).toContain('`npm run bench -- --quick` on AMD EPYC, 2 cores; load average 1.50 before the run (other jobs), 2.25 after it.');
    expect(md).toContain('tfjs 4.22.0, torch 1.13.0.');
    expect(md).toContain('detections per image ours 100, torchvision 100/99.');
    expect(md).toContain('1 warm-up run and 3 timed runs per measure');
    expect(md).toContain('SGD at lr 0 (all of its arithmetic, the weights kept)');
    expect(md).toContain('- training with both cores: not yet');
    expect(md.endsWith('\n')).toBe(true);
  });
});

describe('bench options', () => {
  it('has the full defaults, and --quick its own, which flags still override', () => {
    const full = parseBenchArgs([]);
    expect(full).toMatchObject({ minSize: 800, trainSize: 256, warmup: 1, runs: 5, throughputImages: 4, parts: ['inference', 'throughput', 'training'], python: '/usr/bin/python3' });
    expect(parseBenchArgs(['--quick'])).toMatchObject({ minSize: 320, trainSize: 128, warmup: 1, runs: 3, throughputImages: 2, quick: true });
    expect(parseBenchArgs(['--runs', '7', '--quick', '--only', 'training,inference'])).toMatchObject({ runs: 7, minSize: 320, parts: ['inference', 'training'] });
    expect(parseBenchArgs(['--help'])).toBe('help');
  });

  it('lists every problem at once, with the valid options', () => {
    const parse = () => parseBenchArgs(['--runs', '0', '--frobnicate', '--throughput-images', '3', '--only', 'speed', '--size']);
    expect(parse).toThrow("--runs must be an integer >= 1, got '0'; unknown option '--frobnicate'");
    expect(parse).toThrow('--only takes inference, throughput, training');
    expect(parse).toThrow('--size needs a value');
    expect(parse).toThrow('--throughput-images must be even');
    expect(parse).toThrow('valid options: --quick, --verbose, --help, --size');
  });

  it('accepts no warm-up', () => {
    expect(parseBenchArgs(['--warmup', '0'])).toMatchObject({ warmup: 0 });
  });
});

describe('bench worker protocol', () => {
  it('reads marked replies back and leaves other lines alone', () => {
    expect(parseReplyLine(replyLine({ ok: true, ms: [12.5] }).trimEnd())).toEqual({ ok: true, ms: [12.5] });
    expect(parseReplyLine('@@bench {"ok":false,"error":"boom"}')).toEqual({ ok: false, error: 'boom' });
    expect(parseReplyLine('Platform node has already been set.')).toBeUndefined();
  });

  it('refuses a marked line that is not a reply', () => {
    expect(() => parseReplyLine('@@bench {oops')).toThrow('not JSON');
    expect(() => parseReplyLine('@@bench {"ms":1}')).toThrow("boolean 'ok'");
    expect(() => parseReplyLine('@@bench {"ok":false}')).toThrow("'error' string");
  });
});
