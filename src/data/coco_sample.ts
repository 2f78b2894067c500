/**
 * Decoding a training sample of a COCO dataset: the image's ground truth as arrays (masks as RLE,
 * polygons rasterised only now), the image file decoded and checked against the size the
 * annotation file states, and the masks decoded row-major.
 *
 * Shorthand: n instances in an image of H x W pixels.
 */
import { segmentationRle } from './coco_segmentation';
import type { TrainingImage } from './coco_training_index';
import { DecodedImage, readImage } from './image_io';
import { decodeMasksRowMajor, Rle } from './mask';

/**
 * Ground truth of one image, masks still run-length encoded (nothing decoded).
 * Crowd regions are flagged in `gtCrowd` and must never be used as positives.
 */
export interface CocoTarget {
  readonly imageId: number;
  readonly fileName: string;
  readonly filePath: string;
  readonly height: number;
  readonly width: number;
  /** COCO annotation ids, `[n]`. */
  readonly annotationIds: Int32Array;
  /** `[n * 4]` xyxy, absolute pixels, clipped to the image, float32 as torchvision's reference. */
  readonly gtBoxes: Float32Array;
  /** `[n]` training labels (see `LabelMode`). */
  readonly gtLabels: Int32Array;
  /** `[n]` 1 for crowd regions. */
  readonly gtCrowd: Uint8Array;
  /** `[n]` masks as RLE of H x W (column-major, COCO's layout). */
  readonly gtMasks: Rle[];
}

/** A drawn sample: the decoded image and its ground truth with masks decoded. */
export interface CocoSample extends Omit<CocoTarget, 'gtMasks'> {
  /** `[H, W, 3]` RGB, row-major, 8-bit. */
  readonly image: Uint8Array;
  /** `[n, H, W]` row-major 0/1 masks. */
  readonly gtMasks: Uint8Array;
}

/**
 * The ground truth of a kept image as arrays; `source` names the annotation file in messages.
 *
 * @example
 * ```ts
 * const t = cocoTarget(index.images[0], 'images/000001.jpg', 'instances.json');
 * t.gtBoxes; // Float32Array [n * 4]
 * ```
 */
export function cocoTarget(im: TrainingImage, filePath: string, source: string): CocoTarget {
  const n = im.annotations.length;
  const gtBoxes = new Float32Array(n * 4);
  const gtLabels = new Int32Array(n);
  const gtCrowd = new Uint8Array(n);
  const annotationIds = new Int32Array(n);
  const gtMasks: Rle[] = [];
  im.annotations.forEach((a, i) => {
    gtBoxes.set(a.box, i * 4);
    gtLabels[i] = a.label;
    gtCrowd[i] = a.crowd ? 1 : 0;
    annotationIds[i] = a.id;
    // Polygons were checked at load; rasterising them is the lazy part.
    gtMasks.push(segmentationRle(a.segmentation, im.height, im.width, `${source}: annotation id ${a.id}`));
  });
  return { imageId: im.id, fileName: im.fileName, filePath, height: im.height, width: im.width, annotationIds, gtBoxes, gtLabels, gtCrowd, gtMasks };
}

/**
 * Decodes the image file of `im` and checks its size against the annotation file (`source`).
 * Throws an Error naming the file when it is missing, corrupt, or of another size.
 *
 * @example
 * ```ts
 * const img = await readSampleImage('images/000001.jpg', index.images[0], 'instances.json', true);
 * ```
 */
export async function readSampleImage(file: string, im: TrainingImage, source: string, applyExifOrientation: boolean): Promise<DecodedImage> {
  const img = await readImage(file, { applyExifOrientation });
  if (img.height !== im.height || img.width !== im.width) {
    const swapped = img.height === im.width && img.width === im.height;
    throw new Error(
      `image ${file} (id ${im.id}): decoded size is ${img.height}x${img.width} (HxW${applyExifOrientation ? ', after EXIF orientation' : ''}) ` +
        `but ${source} says height=${im.height} width=${im.width}` +
        (swapped ? `; the sides are swapped, so the EXIF orientation is likely the cause (try applyExifOrientation: ${!applyExifOrientation})` : ''),
    );
  }
  return img;
}

/**
 * A sample: the target with its masks decoded row-major, and the decoded image.
 *
 * @example
 * ```ts
 * const s = cocoSample(target, await readSampleImage(target.filePath, im, source, true));
 * s.gtMasks; // Uint8Array [n * H * W]
 * ```
 */
export function cocoSample(target: CocoTarget, image: DecodedImage): CocoSample {
  return { ...target, image: image.data, gtMasks: decodeMasksRowMajor(target.gtMasks, target.height, target.width) };
}
