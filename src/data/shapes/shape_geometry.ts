/**
 * Outlines of the synthetic shapes as polygons `[x0, y0, x1, y1, ...]` in pixel coordinates.
 * Round shapes are polygons with enough vertices to look round at the sizes drawn; making every
 * shape a polygon lets the generator rasterise it exactly as COCO's polygon decoder does.
 */
import { Rng } from '../../util/random';

/** The shape kinds, in category order. */
export const SHAPE_KINDS = ['circle', 'square', 'triangle', 'ellipse', 'star', 'hexagon'] as const;

/** One of {@link SHAPE_KINDS}. */
export type ShapeKind = (typeof SHAPE_KINDS)[number];

/** Where and how big a shape is: centre, radius (half the size) and rotation in radians. */
export interface ShapePlacement {
  readonly cx: number;
  readonly cy: number;
  readonly radius: number;
  readonly angle: number;
}

function regular(p: ShapePlacement, sides: number, rx = p.radius, ry = p.radius): number[] {
  const xy: number[] = [];
  const ca = Math.cos(p.angle);
  const sa = Math.sin(p.angle);
  for (let i = 0; i < sides; i++) {
    const t = (2 * Math.PI * i) / sides;
    const x = rx * Math.cos(t);
    const y = ry * Math.sin(t);
    xy.push(p.cx + x * ca - y * sa, p.cy + x * sa + y * ca);
  }
  return xy;
}

/**
 * Polygon of a shape. `rng` draws the shape-specific proportions (ellipse axes, star depth).
 *
 * @example
 * ```ts
 * shapePolygon('square', { cx: 50, cy: 50, radius: 20, angle: 0 }, rng); // 4 corners
 * ```
 */
export function shapePolygon(kind: ShapeKind, p: ShapePlacement, rng: Rng): number[] {
  const segments = Math.max(24, Math.min(96, Math.round(p.radius))); // round enough at every size
  switch (kind) {
    case 'circle':
      return regular(p, segments);
    case 'ellipse':
      return regular(p, segments, p.radius, p.radius * rng.uniform(0.35, 0.7));
    case 'square':
      return regular({ ...p, angle: p.angle + Math.PI / 4 }, 4, p.radius * Math.SQRT2 * 0.75, p.radius * Math.SQRT2 * 0.75);
    case 'triangle':
      return regular(p, 3);
    case 'hexagon':
      return regular(p, 6);
    case 'star': {
      const points = rng.int(5, 8);
      const inner = p.radius * rng.uniform(0.4, 0.55);
      const xy: number[] = [];
      for (let i = 0; i < 2 * points; i++) {
        const r = i % 2 === 0 ? p.radius : inner;
        const t = p.angle + (Math.PI * i) / points;
        xy.push(p.cx + r * Math.cos(t), p.cy + r * Math.sin(t));
      }
      return xy;
    }
  }
}
