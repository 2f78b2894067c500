/**
 * `maskrcnn eval`: the action through runEval, and option parsing through the commander program.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { registerEvalCommand, runEval } from '../../src/cli/eval_command';
import { createProgram } from '../../src/cli/main';

const dir = path.join(__dirname, '../fixtures/cocoeval/case2');
const gt = path.join(dir, 'gt.json');
const dt = path.join(dir, 'dt.json');
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { bbox: number[]; segm: number[] };

function program(): { cmd: Command; errors: string[] } {
  const errors: string[] = [];
  const cmd = new Command('maskrcnn').exitOverride().configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => undefined });
  registerEvalCommand(cmd);
  cmd.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => undefined }));
  return { cmd, errors };
}

describe('maskrcnn eval', () => {
  it('prints the pycocotools table for both IoU types by default when results have masks', () => {
    const lines: string[] = [];
    const out = runEval({ gt, dt }, (l) => lines.push(l));
    expect(out.map((s) => s.iouType)).toEqual(['bbox', 'segm']);
    out[0].stats.forEach((v, i) => expect(Math.abs(v - expected.bbox[i])).toBeLessThanOrEqual(1e-6));
    out[1].stats.forEach((v, i) => expect(Math.abs(v - expected.segm[i])).toBeLessThanOrEqual(1e-6));
    expect(lines).toContain('IoU metric: segm');
    expect(lines).toContain(` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = ${expected.bbox[0].toFixed(3)}`);
    expect(lines).toContain(` Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = ${expected.segm[11].toFixed(3)}`);
  });

  it('evaluates one type, and per category on request', () => {
    const lines: string[] = [];
    const out = runEval({ gt, dt, iou: 'segm', perCategory: true }, (l) => lines.push(l));
    expect(out).toHaveLength(1);
    expect(out[0].iouType).toBe('segm');
    expect(lines.filter((l) => /^\s+\d+ c\d+\s+AP /.test(l))).toHaveLength(4);
  });

  it('runs through the commander program', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
    try {
      await createProgram().parseAsync(['node', 'maskrcnn', 'eval', '--gt', gt, '--dt', dt, '--iou', 'bbox']);
    } finally {
      spy.mockRestore();
    }
    expect(lines.filter((l) => l.startsWith(' Average'))).toHaveLength(12);
    expect(lines).toContain('IoU metric: bbox');
  });

  it('rejects an invalid --iou, listing the valid values', () => {
    const { cmd, errors } = program();
    expect(() => cmd.parse(['node', 'maskrcnn', 'eval', '--gt', gt, '--dt', dt, '--iou', 'mask'])).toThrow();
    expect(errors.join('')).toMatch(/argument 'mask' is invalid\. Allowed choices are bbox, segm, both/);
    expect(() => runEval({ gt, dt, iou: 'mask' as 'bbox' })).toThrow(/--iou must be one of bbox, segm, both/);
  });

  it('requires --gt and --dt', () => {
    const { cmd, errors } = program();
    expect(() => cmd.parse(['node', 'maskrcnn', 'eval', '--dt', dt])).toThrow();
    expect(errors.join('')).toMatch(/required option '--gt <file>' not specified/);
  });

  it('names the file on bad input', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-eval-'));
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify([{ image_id: 99999, category_id: 1, score: 0.5, bbox: [0, 0, 1, 1] }]));
    expect(() => runEval({ gt, dt: bad }, () => undefined)).toThrow(/bad\.json: results\[0\] has image_id 99999/);
    const boxesOnly = path.join(tmp, 'boxes.json');
    fs.writeFileSync(boxesOnly, JSON.stringify([{ image_id: 100, category_id: 1, score: 0.5, bbox: [0, 0, 1, 1] }]));
    expect(() => runEval({ gt, dt: boxesOnly, iou: 'segm' }, () => undefined)).toThrow(/has no 'segmentation' in any result; use --iou bbox/);
    expect(runEval({ gt, dt: boxesOnly }, () => undefined).map((s) => s.iouType)).toEqual(['bbox']);
    expect(() => runEval({ gt: path.join(tmp, 'missing.json'), dt }, () => undefined)).toThrow(/Error in eval: --gt .*missing\.json does not exist; expected a COCO instances JSON/);
    fs.rmSync(tmp, { recursive: true });
  });
});
