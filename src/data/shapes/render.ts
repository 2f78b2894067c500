/**
 * Renders one synthetic image: a textured, noisy background and coloured shapes that overlap and
 * occlude each other, with the visible mask of every shape.
 *
 * Shapes are rasterised with COCO's own polygon rasteriser (`frPoly`), so a shape that nothing
 * occludes is exactly the mask its polygon decodes to, and an occluded one is that mask minus
 * the shapes drawn over it.
 */
import { decode, frPoly } from '../mask';
import { hashSeed, Rng } from '../../util/random';
import { ShapeKind, SHAPE_KINDS, shapePolygon } from './shape_geometry';

/** Options of {@link renderShapesImage}; every field has a default. */
export interface ShapesRenderOptions {
  /** Image width in pixels, fixed or a range `[min, max]` drawn per image. Default 320. */
  readonly width?: number | readonly [number, number];
  /** Image height, as `width`. Default 240. */
  readonly height?: number | readonly [number, number];
  /** Shapes drawn per image, `[min, max]` inclusive. Default `[1, 6]`. */
  readonly shapesPerImage?: readonly [number, number];
  /** Shape radius as a fraction of the short side, `[min, max]`. Default `[0.08, 0.3]`. */
  readonly sizeRange?: readonly [number, number];
  /** Kinds to draw (each is a category). Default all of {@link SHAPE_KINDS}. */
  readonly kinds?: readonly ShapeKind[];
  /**
   * A shape whose visible part is smaller than this many pixels, or than `minVisibleFraction`
   * of its full area, is not drawn at all (so every drawn object is annotated). Default 40.
   */
  readonly minVisibleArea?: number;
  /** Default 0.25. */
  readonly minVisibleFraction?: number;
  /** Amplitude of the per-pixel noise, 0..255. Default 12. */
  readonly noise?: number;
}

/** One drawn shape. */
export interface RenderedShape {
  readonly kind: ShapeKind;
  /** The outline polygon (the full shape, before occlusion). */
  readonly polygon: number[];
  /** `[H, W]` row-major 0/1 visible mask. */
  readonly mask: Uint8Array;
  /** True when nothing covers the shape (its mask is exactly its polygon's). */
  readonly fullyVisible: boolean;
  /** RGB colour. */
  readonly color: readonly [number, number, number];
}

/** A rendered image: `[H, W, 3]` RGB row-major and its shapes, bottom to top. */
export interface RenderedImage {
  readonly image: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly shapes: RenderedShape[];
}

function pickSize(v: number | readonly [number, number], rng: Rng, name: string): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 16) throw new Error(`Error in shapes: ${name} must be an integer >= 16, got ${v}`);
    return v;
  }
  if (!Array.isArray(v) || v.length !== 2 || !Number.isInteger(v[0]) || !Number.isInteger(v[1]) || v[0] < 16 || v[1] < v[0]) {
    throw new Error(`Error in shapes: ${name} must be an integer >= 16 or [min, max] integers with 16 <= min <= max, got ${JSON.stringify(v)}`);
  }
  return rng.int(v[0], v[1] + 1);
}

function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][i % 6];
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Checks the options once (the generator calls this before writing anything). */
export function checkShapesRenderOptions(o: ShapesRenderOptions): void {
  const probe = new Rng(0);
  pickSize(o.width ?? 320, probe, 'width');
  pickSize(o.height ?? 240, probe, 'height');
  const [smin, smax] = o.shapesPerImage ?? [1, 6];
  if (!Number.isInteger(smin) || !Number.isInteger(smax) || smin < 1 || smax < smin) {
    throw new Error(`Error in shapes: shapesPerImage must be [min, max] integers with 1 <= min <= max, got ${JSON.stringify(o.shapesPerImage)}`);
  }
  const [rmin, rmax] = o.sizeRange ?? [0.08, 0.3];
  if (!(rmin > 0 && rmax >= rmin && rmax <= 1)) {
    throw new Error(`Error in shapes: sizeRange must be [min, max] with 0 < min <= max <= 1, got ${JSON.stringify(o.sizeRange)}`);
  }
  const kinds = o.kinds ?? SHAPE_KINDS;
  if (kinds.length === 0 || !kinds.every((k) => (SHAPE_KINDS as readonly string[]).includes(k))) {
    throw new Error(`Error in shapes: kinds must be a non-empty subset of ${SHAPE_KINDS.join(', ')}, got ${JSON.stringify(kinds)}`);
  }
}

/**
 * Renders image `index` of the dataset seeded by `seed`. Each image has its own generator, so
 * any image can be re-rendered alone (the round-trip test does).
 *
 * @example
 * ```ts
 * const { image, shapes } = renderShapesImage(7, 0, { width: 128, height: 96 });
 * shapes[0].mask; // [96, 128] visible mask of the bottom shape
 * ```
 */
export function renderShapesImage(seed: number, index: number, options: ShapesRenderOptions = {}): RenderedImage {
  checkShapesRenderOptions(options);
  const rng = new Rng(hashSeed(seed, index));
  const width = pickSize(options.width ?? 320, rng, 'width');
  const height = pickSize(options.height ?? 240, rng, 'height');
  const [smin, smax] = options.shapesPerImage ?? [1, 6];
  const [rmin, rmax] = options.sizeRange ?? [0.08, 0.3];
  const kinds = options.kinds ?? SHAPE_KINDS;
  const minVisibleArea = options.minVisibleArea ?? 40;
  const minVisibleFraction = options.minVisibleFraction ?? 0.25;
  const noise = options.noise ?? 12;
  const hw = height * width;
  const short = Math.min(height, width);

  // Full masks of candidate shapes, bottom to top.
  const count = rng.int(smin, smax + 1);
  const candidates: { kind: ShapeKind; polygon: number[]; full: Uint8Array; area: number; color: [number, number, number] }[] = [];
  for (let s = 0; s < count; s++) {
    const kind = rng.pick(kinds);
    const radius = short * rng.uniform(rmin, rmax);
    // Centres may sit near the border: truncated objects are part of real data.
    const placement = { cx: rng.uniform(0, width), cy: rng.uniform(0, height), radius, angle: rng.uniform(0, 2 * Math.PI) };
    const polygon = shapePolygon(kind, placement, rng).map((v) => Math.round(v * 100) / 100);
    const col = decode(frPoly(polygon, height, width)); // [W, H] column-major
    const full = new Uint8Array(hw);
    let area = 0;
    for (let x = 0; x < width; x++) {
      for (let y = 0; y < height; y++) {
        const v = col[x * height + y];
        full[y * width + x] = v;
        area += v;
      }
    }
    const color = hsvToRgb(rng.float(), rng.uniform(0.5, 1), rng.uniform(0.45, 1));
    candidates.push({ kind, polygon, full, area, color });
  }

  // Visibility, top to bottom: a shape too hidden is dropped, and then hides nothing below it.
  const covered = new Uint8Array(hw);
  const kept: (RenderedShape & { full: Uint8Array })[] = [];
  for (let s = candidates.length - 1; s >= 0; s--) {
    const c = candidates[s];
    const mask = new Uint8Array(hw);
    let visible = 0;
    for (let i = 0; i < hw; i++) {
      if (c.full[i] && !covered[i]) {
        mask[i] = 1;
        visible++;
      }
    }
    if (visible < minVisibleArea || visible < minVisibleFraction * c.area) continue;
    for (let i = 0; i < hw; i++) if (c.full[i]) covered[i] = 1;
    kept.push({ kind: c.kind, polygon: c.polygon, mask, fullyVisible: visible === c.area, color: c.color, full: c.full });
  }
  kept.reverse(); // bottom to top

  // Background: a gradient between two colours, a sinusoidal texture and noise.
  const image = new Uint8Array(hw * 3);
  const c0 = hsvToRgb(rng.float(), rng.uniform(0, 0.6), rng.uniform(0.2, 0.9));
  const c1 = hsvToRgb(rng.float(), rng.uniform(0, 0.6), rng.uniform(0.2, 0.9));
  const ga = rng.uniform(0, 2 * Math.PI);
  const [gx, gy] = [Math.cos(ga), Math.sin(ga)];
  const freq = rng.uniform(0.02, 0.2);
  const ta = rng.uniform(0, 2 * Math.PI);
  const [tx, ty] = [Math.cos(ta) * freq, Math.sin(ta) * freq];
  const texAmp = rng.uniform(0, 25);
  const diag = Math.hypot(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = Math.min(1, Math.max(0, 0.5 + (x * gx + y * gy) / diag));
      const tex = texAmp * Math.sin(x * tx + y * ty);
      const o = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) {
        image[o + k] = clamp255(c0[k] * (1 - g) + c1[k] * g + tex + noise * (rng.float() * 2 - 1));
      }
    }
  }
  // Shapes, bottom to top, each with a light shading gradient and noise.
  for (const s of kept) {
    const sa = rng.uniform(0, 2 * Math.PI);
    const shade = rng.uniform(0, 0.4) / Math.max(1, short);
    const [sx, sy] = [Math.cos(sa) * shade, Math.sin(sa) * shade];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (!s.full[i]) continue;
        const f = 1 + (x - width / 2) * sx + (y - height / 2) * sy;
        for (let k = 0; k < 3; k++) image[i * 3 + k] = clamp255(s.color[k] * f + noise * (rng.float() * 2 - 1));
      }
    }
  }
  return {
    image,
    height,
    width,
    shapes: kept.map(({ kind, polygon, mask, fullyVisible, color }) => ({ kind, polygon, mask, fullyVisible, color })),
  };
}
