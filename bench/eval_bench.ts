/**
 * COCO-val-sized evaluation benchmark: 5000 images, ~7 ground truths each (polygons, some
 * crowd RLEs), 100 detections each with RLE masks, evaluated for bbox and segm.
 * Prints wall time per stage and peak RSS / heap.
 *
 * Run: npx tsc -p tsconfig.json --outDir /tmp/evalbench && node /tmp/evalbench/bench/eval_bench.js
 */
import { CocoAnnotation, CocoDataset, CocoEvaluator, CocoGroundTruth, IouType, Prediction } from '../src/eval';
import type { Rle } from '../src/data/mask';

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RLE of an axis-aligned rectangle built directly (column-major runs). */
function rectRle(h: number, w: number, x0: number, y0: number, bw: number, bh: number): Rle {
  const counts: number[] = [x0 * h + y0];
  for (let c = 0; c < bw; c++) {
    counts.push(bh);
    if (c < bw - 1) counts.push(h - bh);
  }
  counts.push(h * w - counts.reduce((s, v) => s + v, 0));
  return { h, w, counts: Uint32Array.from(counts) };
}

interface Synthetic {
  gt: CocoDataset;
  predictions: Prediction[];
}

function synthesize(numImages: number, gtPerImage: number, detsPerImage: number, numCats: number): Synthetic {
  const rand = rng(42);
  const images = [];
  const annotations: CocoAnnotation[] = [];
  const predictions: Prediction[] = [];
  let annId = 1;
  for (let i = 1; i <= numImages; i++) {
    const h = 480;
    const w = 640;
    images.push({ id: i, height: h, width: w });
    const objects: { cat: number; box: [number, number, number, number] }[] = [];
    const nGt = Math.max(1, Math.round(gtPerImage + (rand() - 0.5) * 6));
    for (let g = 0; g < nGt; g++) {
      const bw = 8 + Math.floor(rand() * 200);
      const bh = 8 + Math.floor(rand() * 200);
      const x = Math.floor(rand() * (w - bw));
      const y = Math.floor(rand() * (h - bh));
      const cat = 1 + Math.floor(rand() * numCats);
      const crowd = rand() < 0.01;
      // Polygon: an octagon inscribed in the box.
      const cx = x + bw / 2;
      const cy = y + bh / 2;
      const poly: number[] = [];
      for (let v = 0; v < 8; v++) poly.push(cx + (bw / 2) * Math.cos((v * Math.PI) / 4), cy + (bh / 2) * Math.sin((v * Math.PI) / 4));
      const seg = crowd ? (() => { const r = rectRle(h, w, x, y, bw, bh); return { size: [h, w] as [number, number], counts: Array.from(r.counts) }; })() : [poly];
      annotations.push({ id: annId++, image_id: i, category_id: cat, bbox: [x, y, bw, bh], area: bw * bh * (crowd ? 1 : 0.83), iscrowd: crowd ? 1 : 0, segmentation: seg });
      objects.push({ cat, box: [x, y, bw, bh] });
    }
    const p: Prediction = { imageId: i, boxes: [], scores: [], labels: [], masks: [] };
    for (let d = 0; d < detsPerImage; d++) {
      let box: [number, number, number, number];
      let cat: number;
      if (d < objects.length * 2) {
        // Jittered copies of the objects: true positives at various IoUs.
        const o = objects[d % objects.length];
        const j = () => Math.round((rand() - 0.5) * 0.3 * Math.min(o.box[2], o.box[3]));
        const x = Math.min(w - 2, Math.max(0, o.box[0] + j()));
        const y = Math.min(h - 2, Math.max(0, o.box[1] + j()));
        box = [x, y, Math.max(1, Math.min(w - x, o.box[2] + j())), Math.max(1, Math.min(h - y, o.box[3] + j()))];
        cat = rand() < 0.9 ? o.cat : 1 + Math.floor(rand() * numCats);
      } else {
        const bw = 4 + Math.floor(rand() * 150);
        const bh = 4 + Math.floor(rand() * 150);
        box = [Math.floor(rand() * (w - bw)), Math.floor(rand() * (h - bh)), bw, bh];
        cat = 1 + Math.floor(rand() * numCats);
      }
      p.boxes.push([box[0], box[1], box[0] + box[2], box[1] + box[3]]);
      p.scores.push(rand());
      p.labels.push(cat);
      p.masks!.push(rectRle(h, w, box[0], box[1], box[2], box[3]));
    }
    predictions.push(p);
  }
  return { gt: { images, annotations, categories: Array.from({ length: numCats }, (_, k) => ({ id: k + 1, name: `c${k + 1}` })) }, predictions };
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MB`;
}

export function main(): void {
  const numImages = Number(process.env.EVAL_BENCH_IMAGES ?? 5000);
  let peakHeap = 0;
  const sample = (): void => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  let t = performance.now();
  const { gt, predictions } = synthesize(numImages, 7, 100, 80);
  const nGt = gt.annotations.length;
  console.log(`synthetic input: ${numImages} images, ${nGt} gt (${(nGt / numImages).toFixed(1)}/image), ${numImages * 100} detections with RLE masks, built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  sample();
  const mem = process.memoryUsage();
  console.log(`after building the input: RSS ${mb(mem.rss)}, heap ${mb(mem.heapUsed)}, typed-array buffers ${mb(mem.arrayBuffers)}`);
  const gtIndex = CocoGroundTruth.fromJson(gt, '<synthetic gt>');
  for (const iouType of ['bbox', 'segm'] as IouType[]) {
    const t0 = performance.now();
    const ev = new CocoEvaluator(gtIndex, predictions, iouType);
    const t1 = performance.now();
    ev.evaluate((done) => {
      if (done % 250 === 0) sample();
    });
    sample();
    const t2 = performance.now();
    ev.accumulate();
    sample();
    const t3 = performance.now();
    const { lines } = ev.summarize();
    const t4 = performance.now();
    console.log(`\n${iouType}: load ${((t1 - t0) / 1000).toFixed(2)} s, evaluate ${((t2 - t1) / 1000).toFixed(2)} s, accumulate ${((t3 - t2) / 1000).toFixed(2)} s, summarize ${((t4 - t3) / 1000).toFixed(3)} s, total ${((t4 - t0) / 1000).toFixed(2)} s`);
    console.log(lines.join('\n'));
  }
  t = performance.now();
  console.log(`\npeak RSS ${mb(process.resourceUsage().maxRSS * 1024)}, peak sampled heap ${mb(peakHeap)}`);
}

if (require.main === module) main();
