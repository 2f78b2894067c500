/**
 * Loader throughput: images per second decoded + transformed at an 800 px short side
 * (torchvision's default training size), on a synthetic COCO dataset of 640x480 JPEGs (the
 * typical COCO image size). Also times decoding and transforming alone.
 *
 * Run: npx tsc -p tsconfig.json --outDir /tmp/lb && node /tmp/lb/bench/loader_bench.js [numImages]
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCocoDataset } from '../src/data/coco_dataset';
import { DataLoader } from '../src/data/loader';
import { generateShapesDataset } from '../src/data/shapes';
import { applyTrainTransforms, sampleTransformParams } from '../src/data/transforms';
import { Rng } from '../src/util/random';

/** Runs the benchmark and returns the loader's images per second. */
export async function runLoaderBench(numImages = 48): Promise<number> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loader-bench-'));
  try {
    const t0 = performance.now();
    const gen = await generateShapesDataset({ outDir: dir, numImages, seed: 0, width: 640, height: 480, format: 'jpeg', shapesPerImage: [3, 8] });
    console.log(`generated ${numImages} 640x480 JPEGs with ${gen.numAnnotations} instances in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ds = await loadCocoDataset(gen.annotationFile, gen.imagesDir);
    const transform = { minSizes: [800], maxSize: 1333 };

    // Decode alone.
    let t = performance.now();
    const images = [];
    for (let i = 0; i < ds.length; i++) images.push(await ds.readImage(i));
    const decodeMs = (performance.now() - t) / ds.length;
    // Transform alone (image bilinear + masks nearest + boxes), on the main thread.
    t = performance.now();
    const rng = new Rng(0);
    for (let i = 0; i < ds.length; i++) {
      const target = ds.target(i);
      applyTrainTransforms(images[i], target, sampleTransformParams(rng, target.height, target.width, transform), transform);
    }
    const transformMs = (performance.now() - t) / ds.length;
    console.log(`decode ${decodeMs.toFixed(1)} ms/image, transform to 800x1066 ${transformMs.toFixed(1)} ms/image (sequential)`);

    // The loader: prefetching, 2 decodes in flight, batches of 2.
    const loader = new DataLoader(ds, { batchSize: 2, seed: 0, prefetchBatches: 2, concurrency: 2, transform });
    for await (const b of loader.epoch(0)) void b; // warm-up
    t = performance.now();
    let n = 0;
    let pixels = 0;
    for await (const b of loader.epoch(1)) {
      n += b.samples.length;
      for (const s of b.samples) pixels += s.height * s.width;
    }
    const sec = (performance.now() - t) / 1000;
    const ips = n / sec;
    console.log(`loader: ${n} images in ${sec.toFixed(2)} s = ${ips.toFixed(1)} images/s (mean output ${(pixels / n / 1e6).toFixed(2)} Mpx)`);
    return ips;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = process.argv[2] ? Number(process.argv[2]) : 48;
  await runLoaderBench(n);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
