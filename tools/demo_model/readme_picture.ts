/**
 * `npm run readme:picture`: regenerates docs/images/shapes-demo.png, the picture on the README's
 * first screen: the shipped model's masks, boxes and labels on three generated shapes images
 * (seed 7, none of the training images), side by side, enlarged 2x with nearest-neighbour
 * sampling so the pixels stay honest.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp, { OverlayOptions } from 'sharp';
import '@tensorflow/tfjs-backend-wasm';
import { loadShippedModel, SHIPPED_MODEL_IMAGES } from '../../src/api/shipped_model';
import { readImage } from '../../src/data/image_io';
import { generateShapesDataset } from '../../src/data/shapes';
import { drawDetections } from '../../src/viz/overlay';

const SEED = 7;
const IMAGES = 3;
const SCALE = 2;
const GAP = 4;

async function main(): Promise<void> {
  const out = path.resolve(process.argv[2] ?? 'docs/images/shapes-demo.png');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-picture-'));
  const set = await generateShapesDataset({ outDir: work, numImages: IMAGES, seed: SEED, overwrite: true, ...SHIPPED_MODEL_IMAGES });
  const model = await loadShippedModel({ backend: 'wasm' });
  const { width: w, height: h } = SHIPPED_MODEL_IMAGES;
  const tiles: OverlayOptions[] = [];
  try {
    const files = fs.readdirSync(set.imagesDir).sort();
    for (let i = 0; i < files.length; i++) {
      const file = path.join(set.imagesDir, files[i]);
      const [p] = await model.predict(file, { scoreThreshold: 0.5 });
      const picture = drawDetections(await readImage(file), p);
      const tile = await sharp(Buffer.from(picture.data.buffer, picture.data.byteOffset, picture.data.length), { raw: { width: w, height: h, channels: 4 } })
        .resize(w * SCALE, h * SCALE, { kernel: 'nearest' })
        .png()
        .toBuffer();
      tiles.push({ input: tile, left: i * (w * SCALE + GAP), top: 0 });
      console.log(`${files[i]}: ${p.detections.map((d) => `${d.labelName} ${d.score.toFixed(2)}`).join(', ')}`);
    }
  } finally {
    model.dispose();
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const width = IMAGES * w * SCALE + (IMAGES - 1) * GAP;
  await sharp({ create: { width, height: h * SCALE, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } })
    .composite(tiles)
    .png({ compressionLevel: 9, palette: true })
    .toFile(out);
  console.log(`wrote ${out} (${(fs.statSync(out).size / 1024).toFixed(0)} KB)`);
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
