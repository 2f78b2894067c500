/**
 * Synthetic shapes dataset: a seeded generator of COCO instances datasets (coloured circles,
 * squares, triangles, ellipses, stars and hexagons on textured backgrounds, overlapping and
 * occluding each other) for tests, benchmarks and demos.
 *
 * @example
 * ```ts
 * import { generateShapesDataset } from './data/shapes';
 * await generateShapesDataset({ outDir: '/tmp/shapes', numImages: 100, seed: 3 });
 * ```
 */
export { generateShapesDataset } from './generate';
export type { ShapesDatasetOptions, ShapesDatasetResult } from './generate';
export { renderShapesImage } from './render';
export type { ShapesRenderOptions, RenderedImage, RenderedShape } from './render';
export { SHAPE_KINDS, shapePolygon } from './shape_geometry';
export type { ShapeKind, ShapePlacement } from './shape_geometry';
