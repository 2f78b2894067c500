/**
 * Feature maps as heat maps: one channel of an HWC feature map (a backbone or FPN level read back
 * with `dataSync()`) normalised to [0, 1] by its minimum and maximum and coloured with viridis,
 * scaled to a target size by nearest neighbour; several channels as a grid.
 *
 * Pure TypeScript with no Node imports: it runs in browsers.
 */
import { COLORMAPS, ColormapName } from './colormap';
import type { RgbaImage } from './draw';
import { GRID_CHECKS, imageGrid, ImageGridOptions } from './image_grid';
import { checkOptions, describeValue, OPTION_CHECKS, OptionCheck } from './options';
import { checkSize } from './rgba';

/**
 * A feature map of one image as plain data: `height x width x channels` values, row-major,
 * channels last (NHWC without the N).
 *
 * @example
 * ```ts
 * const p2 = features.get('0') as tf.Tensor4D;          // [1, H, W, 256]
 * const map: FeatureMap = { data: p2.dataSync(), height: p2.shape[1], width: p2.shape[2] };
 * ```
 */
export interface FeatureMap {
  readonly data: ArrayLike<number>;
  readonly height: number;
  readonly width: number;
  /** Default `data.length / (height * width)` (1 for an empty map). */
  readonly channels?: number;
}

/**
 * Options of {@link featureHeatmap}.
 *
 * @example
 * ```ts
 * const options: HeatmapOptions = { channel: 7, width: 200 }; // height follows the aspect ratio
 * ```
 */
export interface HeatmapOptions {
  /** The channel drawn, an integer in [0, channels); default 0. */
  channel?: number;
  /** Picture width; default the map's width, or its height scaled like `height` when only that is given. */
  width?: number;
  /** Picture height; default the map's height, or `round(width * height / width)` of the map when only `width` is given. */
  height?: number;
  /** The values mapped to the colormap's 0 and 1 (clamped outside); default the channel's minimum and maximum. */
  range?: readonly [number, number];
  /** Default `'viridis'`. */
  colormap?: ColormapName;
}

// The checks of the options a heat map and a sheet of heat maps share.
const PICTURE_CHECKS = {
  width: OPTION_CHECKS.integer(0),
  height: OPTION_CHECKS.integer(0),
  range: OPTION_CHECKS.range,
  colormap: OPTION_CHECKS.colormap,
};

const HEATMAP_CHECKS: Readonly<Record<keyof HeatmapOptions, OptionCheck>> = { channel: OPTION_CHECKS.integer(0), ...PICTURE_CHECKS };

/** The number of channels of a map, after checking its size and data. */
function channelsOf(map: FeatureMap, where: string): number {
  if (map === null || typeof map !== 'object') throw new Error(`Error in ${where}: the feature map must be { data, height, width, channels? }, got ${describeValue(map)}`);
  checkSize(map.width, map.height, where);
  const { data } = map;
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') throw new Error(`Error in ${where}: the feature map data must be an array of numbers, got ${describeValue(data)}`);
  const pixels = map.height * map.width;
  const channels = map.channels ?? (pixels === 0 ? 1 : data.length / pixels);
  if (!Number.isInteger(channels) || channels < 1 || data.length !== pixels * channels) {
    throw new Error(`Error in ${where}: ${data.length} values do not hold a ${map.height}x${map.width} map of ${map.channels ?? 'whole'} channels`);
  }
  return channels;
}

/** Finite minimum and maximum of channel c (NaN and infinities left out); [0, 0] when none. */
function channelRange(map: FeatureMap, channels: number, c: number): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (let i = c; i < map.data.length; i += channels) {
    const v = map.data[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

function targetSize(map: FeatureMap, o: HeatmapOptions): [number, number] {
  if (o.width !== undefined && o.height !== undefined) return [o.width, o.height];
  if (o.width !== undefined) return [o.width, map.width === 0 ? 0 : Math.round((o.width * map.height) / map.width)];
  if (o.height !== undefined) return [map.height === 0 ? 0 : Math.round((o.height * map.width) / map.height), o.height];
  return [map.width, map.height];
}

function render(map: FeatureMap, channels: number, o: HeatmapOptions, range: readonly [number, number]): RgbaImage {
  const c = o.channel ?? 0;
  const [width, height] = targetSize(map, o);
  const colormap = COLORMAPS[o.colormap ?? 'viridis'];
  const [lo, hi] = range;
  const data = new Uint8ClampedArray(4 * width * height);
  const { width: sw, height: sh } = map;
  const cols = Int32Array.from({ length: width }, (_, x) => Math.min(sw - 1, Math.floor(((x + 0.5) * sw) / width)));
  for (let y = 0; y < height; y++) {
    const row = Math.min(sh - 1, Math.floor(((y + 0.5) * sh) / height)) * sw;
    for (let x = 0; x < width; x++) {
      // An empty map has no value to show: the colormap's 0, as a constant map.
      const v = sw === 0 || sh === 0 ? lo : map.data[(row + cols[x]) * channels + c];
      const color = colormap(hi > lo ? (v - lo) / (hi - lo) : 0);
      data.set(color, 4 * (y * width + x));
      data[4 * (y * width + x) + 3] = 255;
    }
  }
  return { data, width, height };
}

/**
 * One channel of a feature map as a heat map: value v becomes `colormap((v - min) / (max - min))`
 * with min and max the channel's (finite values only) or `range`, scaled to the target size by
 * nearest neighbour (pixel (x, y) shows map cell `(floor((x + 0.5) * W / width), floor((y + 0.5) * H / height))`).
 * So the channel's minimum is viridis(0) and its maximum viridis(1). A constant channel, and an
 * empty map scaled to a non-empty size, are all the colormap's 0; NaN is the colormap's 0 too.
 *
 * @throws Error naming the problem: a malformed map, a channel out of range, or invalid options (all listed).
 * @example
 * ```ts
 * const picture = featureHeatmap({ data: p3.dataSync(), height: 50, width: 68 }, { channel: 12, width: 272 });
 * ```
 */
export function featureHeatmap(map: FeatureMap, options?: HeatmapOptions): RgbaImage {
  const where = 'featureHeatmap';
  const o = checkOptions<HeatmapOptions>(options, HEATMAP_CHECKS, where);
  const channels = channelsOf(map, where);
  const c = o.channel ?? 0;
  if (c >= channels) throw new Error(`Error in ${where}: channel ${c} is out of range: the map has ${channels} channels`);
  return render(map, channels, o, o.range ?? channelRange(map, channels, c));
}

/**
 * Options of {@link featureHeatmaps}: those of each heat map (but the channel), which channels,
 * how they are normalised, and the grid's.
 *
 * @example
 * ```ts
 * const options: HeatmapsOptions = { channels: [0, 1, 2, 3], normalize: 'shared', columns: 2, width: 64 };
 * ```
 */
export interface HeatmapsOptions extends Omit<HeatmapOptions, 'channel'>, Omit<ImageGridOptions, 'captions'> {
  /** The channels drawn, in this order; default the first `min(channels, 16)`. */
  channels?: readonly number[];
  /** `'channel'`: each channel by its own min and max (default); `'shared'`: all by the min and max over the channels drawn. */
  normalize?: 'channel' | 'shared';
  /** Captions under the heat maps; default `c<index>` (e.g. `c12`), `[]` for none. */
  captions?: readonly string[];
}

/**
 * Several channels of a feature map as heat maps ({@link featureHeatmap}) in a grid
 * ({@link imageGrid}), captioned with their channel index. No channels give the empty grid.
 *
 * @throws Error naming the problem: a malformed map, a channel out of range, or invalid options (all listed).
 * @example
 * ```ts
 * const sheet = featureHeatmaps({ data: p2.dataSync(), height: 200, width: 272 }, { channels: [0, 5, 9, 17], width: 136 });
 * ```
 */
export function featureHeatmaps(map: FeatureMap, options?: HeatmapsOptions): RgbaImage {
  const where = 'featureHeatmaps';
  const o = checkOptions<HeatmapsOptions>(
    options,
    {
      ...PICTURE_CHECKS,
      channels: (v) => (Array.isArray(v) && v.every((c) => Number.isInteger(c) && c >= 0) ? undefined : 'must be an array of integers >= 0'),
      normalize: (v) => (v === 'channel' || v === 'shared' ? undefined : "must be 'channel' or 'shared'"),
      ...GRID_CHECKS,
    },
    where,
  );
  const channels = channelsOf(map, where);
  const { channels: picked, normalize, captions, columns, margin, background, textScale, textColor, ...heat } = o;
  const chosen = picked ?? Array.from({ length: Math.min(channels, 16) }, (_, c) => c);
  const bad = chosen.filter((c) => c >= channels);
  if (bad.length > 0) throw new Error(`Error in ${where}: channels ${bad.join(', ')} are out of range: the map has ${channels} channels`);
  const ranges = chosen.map((c) => o.range ?? channelRange(map, channels, c));
  const shared: [number, number] = [Math.min(...ranges.map((r) => r[0])), Math.max(...ranges.map((r) => r[1]))];
  const tiles = chosen.map((c, k) => render(map, channels, { ...heat, channel: c }, normalize === 'shared' ? shared : ranges[k]));
  const caps = captions ?? chosen.map((c) => `c${c}`);
  return imageGrid(tiles, { columns, margin, background, textScale, textColor, captions: caps.length > 0 ? caps : undefined });
}
