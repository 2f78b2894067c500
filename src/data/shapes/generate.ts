/**
 * Writes a synthetic COCO instances dataset of coloured shapes: `outDir/images/000001.png ...`
 * and `outDir/instances.json`. Deterministic under a seed.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { area, CompressedRleJson, fromMaskRowMajor, toBbox, toCompressedJson, UncompressedRleJson } from '../mask';
import { hashSeed, Rng } from '../../util/random';
import { checkShapesRenderOptions, renderShapesImage, ShapesRenderOptions } from './render';
import { SHAPE_KINDS, ShapeKind } from './shape_geometry';

/** Options of {@link generateShapesDataset}. */
export interface ShapesDatasetOptions extends ShapesRenderOptions {
  /** Folder to write; created if missing. Must be empty unless `overwrite` is true. */
  readonly outDir: string;
  readonly numImages: number;
  /** Seed of everything drawn. Default 0. */
  readonly seed?: number;
  /** `'png'` (default, lossless) or `'jpeg'` (quality 92). */
  readonly format?: 'png' | 'jpeg';
  /**
   * `'mixed'` (default): a polygon for shapes nothing occludes, compressed RLE of the visible
   * part otherwise. `'rle'`: compressed RLE for every shape.
   */
  readonly segmentation?: 'mixed' | 'rle';
  /** Probability that a shape is written as a crowd region (iscrowd 1, uncompressed RLE). Default 0. */
  readonly crowdProbability?: number;
  /** COCO category id of each kind, in {@link SHAPE_KINDS} order. Default 1, 2, 3, ... */
  readonly categoryIds?: readonly number[];
  /** Allow writing into a non-empty folder (only the generator's own file names are replaced). */
  readonly overwrite?: boolean;
}

/** What {@link generateShapesDataset} wrote. */
export interface ShapesDatasetResult {
  readonly annotationFile: string;
  readonly imagesDir: string;
  readonly numImages: number;
  readonly numAnnotations: number;
  readonly categories: { id: number; name: ShapeKind }[];
}

interface CocoAnnotationJson {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: number[][] | CompressedRleJson | UncompressedRleJson;
  area: number;
  bbox: [number, number, number, number];
  iscrowd: 0 | 1;
}

const OWN_FILE = /^\d{6}\.(png|jpg)$/;

/**
 * Generates the dataset. Refuses a non-empty `outDir` unless `overwrite: true`, so user files
 * are never replaced by accident.
 *
 * @example
 * ```ts
 * const { annotationFile, imagesDir } = await generateShapesDataset({ outDir: '/tmp/shapes', numImages: 200, seed: 1 });
 * const ds = await loadCocoDataset(annotationFile, imagesDir);
 * ```
 */
export async function generateShapesDataset(options: ShapesDatasetOptions): Promise<ShapesDatasetResult> {
  const { outDir, numImages } = options;
  const seed = options.seed ?? 0;
  const format = options.format ?? 'png';
  const segMode = options.segmentation ?? 'mixed';
  const crowdProbability = options.crowdProbability ?? 0;
  if (typeof outDir !== 'string' || outDir.length === 0) throw new Error('Error in generateShapesDataset: outDir must be a non-empty path');
  if (!Number.isInteger(numImages) || numImages < 1 || numImages > 999999) {
    throw new Error(`Error in generateShapesDataset: numImages must be an integer in 1..999999, got ${numImages}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`Error in generateShapesDataset: seed must be an integer, got ${seed}`);
  if (format !== 'png' && format !== 'jpeg') throw new Error(`Error in generateShapesDataset: format must be 'png' or 'jpeg', got ${String(format)}`);
  if (segMode !== 'mixed' && segMode !== 'rle') {
    throw new Error(`Error in generateShapesDataset: segmentation must be 'mixed' or 'rle', got ${String(segMode)}`);
  }
  if (!(crowdProbability >= 0 && crowdProbability <= 1)) {
    throw new Error(`Error in generateShapesDataset: crowdProbability must be in [0, 1], got ${crowdProbability}`);
  }
  const ids = options.categoryIds ?? SHAPE_KINDS.map((_, i) => i + 1);
  if (ids.length !== SHAPE_KINDS.length || !ids.every((v) => Number.isInteger(v) && v > 0) || new Set(ids).size !== ids.length) {
    throw new Error(`Error in generateShapesDataset: categoryIds must be ${SHAPE_KINDS.length} distinct positive integers (for ${SHAPE_KINDS.join(', ')})`);
  }
  checkShapesRenderOptions(options);

  // Never clobber a user's folder.
  let existing: string[] = [];
  try {
    existing = await fs.readdir(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`Error in generateShapesDataset: cannot read outDir ${outDir}: ${(e as Error).message}`);
    }
  }
  if (existing.length > 0 && options.overwrite !== true) {
    throw new Error(`Error in generateShapesDataset: outDir ${outDir} is not empty (${existing.length} entries); pass overwrite: true to write into it`);
  }
  const imagesDir = path.join(outDir, 'images');
  const annotationFile = path.join(outDir, 'instances.json');
  await fs.mkdir(imagesDir, { recursive: true });
  for (const f of await fs.readdir(imagesDir)) {
    if (OWN_FILE.test(f)) await fs.rm(path.join(imagesDir, f)); // stale images of an earlier run
  }

  const kindsUsed = options.kinds ?? SHAPE_KINDS;
  const categories = SHAPE_KINDS.map((name, i) => ({ id: ids[i], name })).filter((c) => kindsUsed.includes(c.name));
  const idOfKind = new Map(SHAPE_KINDS.map((k, i) => [k, ids[i]]));
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  const annotations: CocoAnnotationJson[] = [];
  const ext = format === 'png' ? 'png' : 'jpg';
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < numImages; i++) {
    const r = renderShapesImage(seed, i, options);
    const imageId = i + 1;
    const fileName = `${String(imageId).padStart(6, '0')}.${ext}`;
    images.push({ id: imageId, file_name: fileName, width: r.width, height: r.height });
    const crowdRng = new Rng(hashSeed(seed, i, 0x43));
    for (const s of r.shapes) {
      const rle = fromMaskRowMajor(s.mask, r.height, r.width);
      const crowd = crowdProbability > 0 && crowdRng.float() < crowdProbability;
      let segmentation: CocoAnnotationJson['segmentation'];
      if (crowd) segmentation = { size: [r.height, r.width], counts: Array.from(rle.counts) };
      else if (segMode === 'mixed' && s.fullyVisible) segmentation = [s.polygon];
      else segmentation = toCompressedJson(rle);
      annotations.push({
        id: annotations.length + 1,
        image_id: imageId,
        category_id: idOfKind.get(s.kind) as number,
        segmentation,
        area: area(rle),
        bbox: toBbox(rle),
        iscrowd: crowd ? 1 : 0,
      });
    }
    const img = sharp(Buffer.from(r.image.buffer, r.image.byteOffset, r.image.length), {
      raw: { width: r.width, height: r.height, channels: 3 },
    });
    const out = path.join(imagesDir, fileName);
    writes.push((format === 'png' ? img.png() : img.jpeg({ quality: 92 })).toFile(out));
    if (writes.length >= 4) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  const json = {
    info: { description: `maskrcnn-tfjs synthetic shapes, seed ${seed}`, version: '1.0' },
    images,
    annotations,
    categories: categories.map((c) => ({ id: c.id, name: c.name, supercategory: 'shape' })),
  };
  await fs.writeFile(annotationFile, JSON.stringify(json));
  return { annotationFile, imagesDir, numImages, numAnnotations: annotations.length, categories };
}
