/**
 * The reference cases made with pycocotools: the 12 stats for bbox and segm must equal
 * COCOeval.stats within 1e-6 (the test prints them side by side).
 */
import * as fs from 'fs';
import * as path from 'path';
import { CocoDetections, CocoEvaluator, CocoGroundTruth, IouType } from '../../src/eval';

const root = path.join(__dirname, '../fixtures/cocoeval');
const cases = fs.readdirSync(root).filter((d) => d.startsWith('case')).sort();

describe('COCOeval equals pycocotools on the reference cases', () => {
  it('has the cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(3);
  });

  for (const c of cases) {
    for (const iouType of ['bbox', 'segm'] as IouType[]) {
      it(`${c} ${iouType}`, () => {
        const dir = path.join(root, c);
        const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<IouType, number[]>;
        const gt = CocoGroundTruth.fromFile(path.join(dir, 'gt.json'));
        const dt = CocoDetections.fromFile(path.join(dir, 'dt.json'), gt);
        const summary = new CocoEvaluator(gt, dt, iouType).evaluate().accumulate().summarize();
        const rows = summary.stats.map((v, i) => `${summary.lines[i]}   expected ${expected[iouType][i].toFixed(6)}  got ${v.toFixed(6)}`);
        console.log(`${c} ${iouType}\n${rows.join('\n')}`);
        expect(summary.stats).toHaveLength(12);
        summary.stats.forEach((v, i) => expect(Math.abs(v - expected[iouType][i])).toBeLessThanOrEqual(1e-6));
      });
    }
  }
});
