/**
 * Corner cases of COCOeval with hand-computed answers: an image without ground truth, a
 * category without ground truth, crowd regions, more than maxDets detections, score ties,
 * empty results, in-memory predictions, parameters, and errors on bad input.
 */
import * as fs from 'fs';
import * as path from 'path';
import { frBbox, toCompressedJson } from '../../src/data/mask';
import { CocoAnnotation, CocoDataset, CocoDetections, CocoEvaluator, CocoGroundTruth, CocoResult, Prediction } from '../../src/eval';

type Box = [number, number, number, number];

function gtAnn(id: number, imageId: number, categoryId: number, bbox: Box, iscrowd = 0): CocoAnnotation {
  return { id, image_id: imageId, category_id: categoryId, bbox, area: bbox[2] * bbox[3], iscrowd, segmentation: [[bbox[0], bbox[1], bbox[0], bbox[1] + bbox[3], bbox[0] + bbox[2], bbox[1] + bbox[3], bbox[0] + bbox[2], bbox[1]]] };
}

function dataset(annotations: CocoAnnotation[], imageIds = [1, 2], categoryIds = [1, 2]): CocoDataset {
  return {
    images: imageIds.map((id) => ({ id, height: 200, width: 200 })),
    annotations,
    categories: categoryIds.map((id) => ({ id, name: `c${id}` })),
  };
}

const det = (imageId: number, categoryId: number, bbox: Box, score: number): CocoResult => ({ image_id: imageId, category_id: categoryId, bbox, score });

function stats(gt: CocoDataset, dt: CocoResult[] | Prediction[], iouType: 'bbox' | 'segm' = 'bbox', params = {}): number[] {
  return new CocoEvaluator(gt, dt, iouType, params).evaluate().accumulate().summarize().stats;
}

describe('CocoEvaluator corner cases', () => {
  it('counts detections on an image without ground truth as false positives', () => {
    const gt = dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]);
    // Perfect match on image 1 ranked below a detection on image 2, which has no gt:
    // precision 1/2 at recall 1 for every IoU threshold.
    const s = stats(gt, [det(1, 1, [10, 10, 50, 50], 0.5), det(2, 1, [10, 10, 50, 50], 0.9)]);
    expect(s[0]).toBeCloseTo(0.5, 12);
    expect(s[8]).toBe(1); // AR@100
    expect(s[6]).toBe(1); // AR@1 is per image: the top detection of image 1 is the match
  });

  it('leaves a category without ground truth out of the means (-1 per category)', () => {
    const gt = dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]);
    const ev = new CocoEvaluator(gt, [det(1, 1, [10, 10, 50, 50], 0.9), det(1, 2, [0, 0, 30, 30], 0.95)], 'bbox').evaluate().accumulate();
    expect(ev.summarize().stats[0]).toBeCloseTo(1, 12); // precision is tp / (tp + fp + eps)
    const perCat = ev.perCategoryAp();
    expect(perCat.map((c) => [c.categoryId, c.name])).toEqual([
      [1, 'c1'],
      [2, 'c2'],
    ]);
    expect(perCat[0].ap).toBeCloseTo(1, 12);
    expect(perCat[1].ap).toBe(-1);
  });

  it('matches detections inside a crowd region by the crowd rule and ignores them', () => {
    const gt = dataset([gtAnn(1, 1, 1, [150, 150, 40, 40]), gtAnn(2, 1, 1, [0, 0, 100, 100], 1)]);
    // Two high-scoring detections inside the crowd box (crowd IoU = 1, plain IoU = 0.04):
    // both ignored, so the later true positive keeps AP = 1.
    const dts = [det(1, 1, [10, 10, 20, 20], 0.99), det(1, 1, [50, 50, 20, 20], 0.98), det(1, 1, [150, 150, 40, 40], 0.5)];
    expect(stats(gt, dts)[0]).toBeCloseTo(1, 12);
    const ev = new CocoEvaluator(gt, dts, 'bbox').evaluate();
    const e = ev.evalImgs[0]!; // category 1, area 'all', image 1
    expect(Array.from(e.dtIgnore.subarray(0, 3))).toEqual([1, 1, 0]);
    expect(Array.from(e.gtIds)).toEqual([1, 2]);
    expect(Array.from(e.gtIgnore)).toEqual([0, 1]);
    // Without the crowd flag the same detections are false positives ranked first.
    const plain = dataset([gtAnn(1, 1, 1, [150, 150, 40, 40]), gtAnn(2, 1, 1, [0, 0, 100, 100], 0)]);
    expect(stats(plain, dts)[0]).toBeLessThan(1);
  });

  it('gives -1 when the only ground truth is a crowd region', () => {
    const gt = dataset([gtAnn(1, 1, 1, [0, 0, 100, 100], 1)]);
    expect(stats(gt, [det(1, 1, [10, 10, 20, 20], 0.9)])).toEqual(new Array(12).fill(-1));
  });

  it('keeps only the top maxDets detections per image', () => {
    const gt = dataset([gtAnn(1, 1, 1, [150, 150, 40, 40])]);
    const fps = Array.from({ length: 100 }, (_, j) => det(1, 1, [0, 0, 10 + j * 0.1, 10], 0.9 - j * 0.001));
    // The match ranks 101st: dropped by maxDets=100.
    expect(stats(gt, [...fps, det(1, 1, [150, 150, 40, 40], 0.1)])[8]).toBe(0);
    // Ranked 100th it counts for AR@100 but not AR@10.
    const s = stats(gt, [...fps.slice(0, 99), det(1, 1, [150, 150, 40, 40], 0.1)]);
    expect(s[8]).toBe(1);
    expect(s[7]).toBe(0);
    expect(s[0]).toBeCloseTo(0.01, 12); // precision 1/100 at recall 1
  });

  it('breaks score ties by image order, then by order within the image (stable sort)', () => {
    const gt = dataset([gtAnn(1, 2, 1, [10, 10, 50, 50])]);
    // Same score: the false positive on image 1 sorts before the match on image 2,
    // whatever the order of the results.
    const fpImg1 = det(1, 1, [10, 10, 50, 50], 0.5);
    const tpImg2 = det(2, 1, [10, 10, 50, 50], 0.5);
    expect(stats(gt, [tpImg2, fpImg1])[0]).toBeCloseTo(0.5, 12);
    const gt1 = dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]);
    expect(stats(gt1, [det(2, 1, [10, 10, 50, 50], 0.5), det(1, 1, [10, 10, 50, 50], 0.5)])[0]).toBeCloseTo(1, 12);
    // Within an image, the earlier of two tied detections is matched first.
    const ev = new CocoEvaluator(gt1, [det(1, 1, [0, 0, 5, 5], 0.5), det(1, 1, [10, 10, 50, 50], 0.7), det(1, 1, [12, 12, 50, 50], 0.5)], 'bbox').evaluate();
    expect(Array.from(ev.evalImgs[0]!.dtIds)).toEqual([2, 1, 3]);
  });

  it('handles empty results: AP and AR are 0 where there is ground truth, -1 elsewhere', () => {
    const gt = dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]);
    const expected = [0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1];
    expect(stats(gt, [])).toEqual(expected);
    expect(stats(gt, [], 'segm')).toEqual(expected);
    expect(stats(dataset([]), [])).toEqual(new Array(12).fill(-1));
  });

  it('treats an annotation area outside the range as ignored, and unmatched detections by their area', () => {
    // One small gt (area 100) and one large (area 10000): APs and APl each see one object.
    const gt = dataset([gtAnn(1, 1, 1, [0, 0, 10, 10]), gtAnn(2, 1, 1, [50, 50, 100, 100])]);
    const s = stats(gt, [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [50, 50, 100, 100], 0.8)]);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[3]).toBeCloseTo(1, 12);
    expect(s[4]).toBe(-1);
    expect(s[5]).toBeCloseTo(1, 12);
  });

  it('useCats=false pools categories, and custom iouThrs/maxDets are honoured', () => {
    const gt = dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]);
    const dts = [det(1, 2, [10, 10, 50, 50], 0.9)]; // right box, wrong category
    expect(stats(gt, dts)[0]).toBe(0);
    expect(stats(gt, dts, 'bbox', { useCats: false })[0]).toBeCloseTo(1, 12);
    // IoU of these boxes is 0.6: a match at 0.5 only.
    const shifted = [det(1, 1, [10, 10, 50, 30], 0.9)];
    const ev = new CocoEvaluator(gt, shifted, 'bbox', { iouThrs: [0.5, 0.7], maxDets: [100, 1, 10] });
    expect(ev.params.maxDets).toEqual([1, 10, 100]);
    const sm = ev.evaluate().accumulate().summarize();
    expect(sm.stats[0]).toBeCloseTo(0.5, 12);
    expect(sm.stats[1]).toBeCloseTo(1, 12);
    expect(sm.stats[2]).toBe(-1); // 0.75 is not a threshold
    expect(sm.lines[0]).toBe(' Average Precision  (AP) @[ IoU=0.50:0.70 | area=   all | maxDets=100 ] = 0.500');
    expect(ev.eval.counts).toEqual([2, 101, 2, 4, 3]);
  });

  it('in-memory predictions (xyxy, RLE masks) equal the results-json path', () => {
    const dir = path.join(__dirname, '../fixtures/cocoeval/case1');
    const gt = CocoGroundTruth.fromFile(path.join(dir, 'gt.json'));
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'dt.json'), 'utf8')) as Required<CocoResult>[];
    const byImage = new Map<number, Prediction>();
    for (const r of results) {
      let p = byImage.get(r.image_id);
      if (!p) byImage.set(r.image_id, (p = { imageId: r.image_id, boxes: [], scores: [], labels: [], masks: [] }));
      const [x, y, w, h] = r.bbox;
      p.boxes.push([x, y, x + w, y + h]);
      p.scores.push(r.score);
      p.labels.push(r.category_id);
      const gtImg = gt.images.get(r.image_id)!;
      const seg = r.segmentation as { size: [number, number]; counts: string };
      p.masks!.push(CocoDetections.fromResults([{ ...r, bbox: undefined }], gt).mask(0, gtImg.height, gtImg.width));
      expect(seg.size).toEqual([gtImg.height, gtImg.width]);
    }
    // Predictions are grouped by image, so compare with results in the same order.
    const preds = [...byImage.values()];
    const ordered = preds.flatMap((p) => results.filter((r) => r.image_id === p.imageId));
    const ev = (dt: CocoResult[] | Prediction[], t: 'bbox' | 'segm') => new CocoEvaluator(gt, dt, t).evaluate().accumulate().summarize().stats;
    expect(ev(preds, 'bbox')).toEqual(ev(ordered, 'bbox'));
    // torchvision's segm results carry no bbox: area and box come from the mask.
    expect(ev(preds, 'segm')).toEqual(ev(ordered.map(({ bbox, ...rest }) => rest), 'segm'));
  });

  it('rasterises box-only results for segm evaluation, as pycocotools loadRes', () => {
    const gt = dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]);
    const boxOnly = [det(1, 1, [10, 10, 50, 50], 0.9)];
    const withMask = [{ ...boxOnly[0], segmentation: toCompressedJson(frBbox([10, 10, 50, 50], 200, 200)) }];
    expect(stats(gt, boxOnly, 'segm')).toEqual(stats(gt, withMask, 'segm'));
    expect(stats(gt, boxOnly, 'segm')[0]).toBeCloseTo(1, 12);
  });
});

describe('CocoEvaluator bad input', () => {
  const gt = CocoGroundTruth.fromJson(dataset([gtAnn(1, 1, 1, [10, 10, 50, 50])]), 'gt.json');

  it('rejects a result whose image is not in the ground truth, naming file and entry', () => {
    expect(() => CocoDetections.fromResults([det(1, 1, [0, 0, 1, 1], 0.5), det(7, 1, [0, 0, 1, 1], 0.5)], gt, 'res.json')).toThrow(
      /Error in res\.json: results\[1\] has image_id 7, which is not an image of the ground truth gt\.json/,
    );
  });
  it('rejects results with missing fields', () => {
    expect(() => CocoDetections.fromResults([{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }], gt, 'r.json')).toThrow(/results\[0\]\.score must be a finite number, got nothing/);
    expect(() => CocoDetections.fromResults([det(1, 1, [0, 0, 1, 1], 0.5), { image_id: 1, category_id: 1, score: 0.5 }], gt, 'r.json')).toThrow(/results\[1\]\.bbox must be 4 finite numbers/);
    expect(() => CocoDetections.fromResults([{ image_id: 1, category_id: 1, score: 0.5 }], gt, 'r.json')).toThrow(/neither 'bbox' nor 'segmentation'/);
    expect(() => CocoDetections.fromResults({}, gt, 'r.json')).toThrow(/results must be an array/);
  });
  it('rejects predictions with mismatched lengths or missing masks for segm', () => {
    const p: Prediction = { imageId: 1, boxes: [[0, 0, 1, 1]], scores: [0.5, 0.4], labels: [1] };
    expect(() => new CocoEvaluator(gt, [p], 'bbox')).toThrow(/predictions\[0\] has 1 boxes, 2 scores, 1 labels/);
    expect(() => new CocoEvaluator(gt, [{ ...p, scores: [0.5] }], 'segm')).toThrow(/has no masks, which segm evaluation needs/);
    const wrongSize = { ...p, scores: [0.5], masks: [frBbox([0, 0, 1, 1], 10, 10)] };
    expect(() => new CocoEvaluator(gt, [wrongSize], 'segm')).toThrow(/masks\[0\]: must be an RLE of the image's size 200x200, got 10x10/);
  });
  it('rejects bad ground truth, naming the annotation', () => {
    const bad = dataset([{ ...gtAnn(5, 1, 1, [0, 0, 1, 1]), area: undefined as unknown as number }]);
    expect(() => CocoGroundTruth.fromJson(bad, 'inst.json')).toThrow(/Error in inst\.json: annotation id 5 \(#0 in annotations\): area must be a finite number, got nothing \(missing\)/);
    expect(() => CocoGroundTruth.fromJson({ images: [] }, 'inst.json')).toThrow(/Error in inst\.json: "categories" must be an array/);
    const noSeg = dataset([{ ...gtAnn(5, 1, 1, [0, 0, 1, 1]), segmentation: undefined }]);
    expect(() => stats(noSeg, [det(1, 1, [0, 0, 1, 1], 0.5)], 'segm')).toThrow(/annotation id 5 \(#0 in annotations\): no segmentation/);
  });
  it('rejects invalid iouType and parameters, listing valid values', () => {
    expect(() => new CocoEvaluator(gt, [], 'keypoints' as 'bbox')).toThrow(/iouType must be one of bbox, segm/);
    expect(() => new CocoEvaluator(gt, [], 'bbox', { maxDets: [0] })).toThrow(/maxDets must be a non-empty array of positive integers/);
    expect(() => new CocoEvaluator(gt, [], 'bbox', { foo: 1 } as object)).toThrow(/unknown parameter 'foo'; valid: imgIds/);
    expect(() => new CocoEvaluator(gt, [], 'bbox', { maxDets: [1, 100] }).evaluate().accumulate().summarize()).toThrow(/need 3 maxDets/);
    expect(() => new CocoEvaluator(gt, [], 'bbox').summarize()).toThrow(/run evaluate\(\) then accumulate\(\) first/);
  });
});
