import { viridis, greys } from '../../src/viz/colormap';
import { featureHeatmap, featureHeatmaps } from '../../src/viz/heatmap';
import { imageGridLayout } from '../../src/viz/image_grid';
import { blankImage } from '../../src/viz/rgba';
import { pixel } from './scenes';

const rgba = (c: readonly number[]): number[] => [...c, 255];

/** A 2 x 3 map of 2 channels: channel 0 = 0..5 row-major, channel 1 = 10 - channel 0. */
const map = { data: Float32Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? i / 2 : 10 - (i - 1) / 2)), height: 2, width: 3 };

describe('featureHeatmap', () => {
  test("the channel's minimum is viridis(0), its maximum viridis(1), the rest in between", () => {
    const pic = featureHeatmap(map);
    expect([pic.width, pic.height]).toEqual([3, 2]);
    expect(pixel(pic, 0, 0)).toEqual(rgba(viridis(0)));
    expect(pixel(pic, 2, 1)).toEqual(rgba(viridis(1)));
    expect(pixel(pic, 1, 0)).toEqual(rgba(viridis(0.2)));
    expect(pixel(pic, 1, 1)).toEqual(rgba(viridis(0.8)));
    const c1 = featureHeatmap(map, { channel: 1 });
    expect(pixel(c1, 0, 0)).toEqual(rgba(viridis(1)));
    expect(pixel(c1, 2, 1)).toEqual(rgba(viridis(0)));
  });

  test('scaled to a target size by nearest neighbour; one side given keeps the aspect ratio', () => {
    const big = featureHeatmap(map, { width: 12 });
    expect([big.width, big.height]).toEqual([12, 8]);
    expect(pixel(big, 3, 3)).toEqual(rgba(viridis(0)));
    expect(pixel(big, 4, 3)).toEqual(rgba(viridis(0.2)));
    expect(pixel(big, 11, 7)).toEqual(rgba(viridis(1)));
    expect(pixel(big, 11, 4)).toEqual(rgba(viridis(1)));
    expect(pixel(big, 11, 3)).toEqual(rgba(viridis(0.4)));
    const tall = featureHeatmap(map, { height: 4 });
    expect([tall.width, tall.height]).toEqual([6, 4]);
  });

  test('range and colormap options; values outside the range clamp', () => {
    const pic = featureHeatmap(map, { range: [1, 3], colormap: 'greys' });
    expect(pixel(pic, 0, 0)).toEqual(rgba(greys(0)));
    expect(pixel(pic, 2, 0)).toEqual(rgba(greys(0.5)));
    expect(pixel(pic, 2, 1)).toEqual(rgba(greys(1)));
  });

  test('a constant map is all viridis(0); NaN and infinities do not set the range', () => {
    const flat = featureHeatmap({ data: new Float32Array(6).fill(3), height: 2, width: 3 });
    for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) expect(pixel(flat, x, y)).toEqual(rgba(viridis(0)));
    const odd = featureHeatmap({ data: [NaN, 1, 2, Infinity], height: 1, width: 4 });
    expect([0, 1, 2, 3].map((x) => pixel(odd, x, 0))).toEqual([viridis(0), viridis(0), viridis(1), viridis(1)].map(rgba));
  });

  test('an empty map: 0 x 0, or the colormap 0 at a given size', () => {
    const empty = featureHeatmap({ data: [], height: 0, width: 5 });
    expect([empty.width, empty.height]).toEqual([5, 0]);
    const sized = featureHeatmap({ data: [], height: 0, width: 0 }, { width: 2, height: 2 });
    expect(pixel(sized, 1, 1)).toEqual(rgba(viridis(0)));
  });

  test('errors: a channel out of range, a data length that does not fit, bad options', () => {
    expect(() => featureHeatmap(map, { channel: 2 })).toThrow(/channel 2 is out of range: the map has 2 channels/);
    expect(() => featureHeatmap({ data: new Float32Array(7), height: 2, width: 3 })).toThrow(/7 values do not hold a 2x3 map of whole channels/);
    expect(() => featureHeatmap(map, { width: -1, colormap: 'jet' as 'viridis' })).toThrow(/width: must be an integer >= 0, got -1\n.*colormap: must be one of 'viridis', 'greys', got 'jet'/);
  });
});

describe('featureHeatmaps', () => {
  test('channels as grid tiles, each normalised alone, captioned c<index>', () => {
    const sheet = featureHeatmaps(map, { margin: 1, textColor: [255, 0, 0] });
    const tiles = [featureHeatmap(map), featureHeatmap(map, { channel: 1 })];
    const layout = imageGridLayout(tiles, { margin: 1, captions: ['c0', 'c1'] });
    expect([sheet.width, sheet.height]).toEqual([layout.width, layout.height]);
    const { x, y } = layout.cellOrigin(1);
    expect(pixel(sheet, x, y)).toEqual(rgba(viridis(1)));
    expect(pixel(sheet, x + 2, y + 1)).toEqual(rgba(viridis(0)));
    expect(pixel(sheet, 1, 1)).toEqual(rgba(viridis(0)));
  });

  test("'shared' normalises over all channels drawn; channel list and no captions", () => {
    const sheet = featureHeatmaps(map, { normalize: 'shared', channels: [0], captions: [], margin: 0 });
    expect([sheet.width, sheet.height]).toEqual([3, 2]);
    // Values 0..10 over both channels would be shared only with channel 1 drawn too: here 0..5.
    expect(pixel(sheet, 2, 1)).toEqual(rgba(viridis(1)));
    const both = featureHeatmaps(map, { normalize: 'shared', captions: [], margin: 0, columns: 2 });
    expect(pixel(both, 2, 1)).toEqual(rgba(viridis(0.5))); // 5 of 0..10
    expect(pixel(both, 3, 0)).toEqual(rgba(viridis(1))); // channel 1's 10
  });

  test('no channels: the empty grid; errors name channels out of range', () => {
    const none = featureHeatmaps(map, { channels: [] });
    expect([none.width, none.height]).toEqual([4, 4]);
    expect(none.data).toEqual(blankImage(4, 4, [255, 255, 255]).data);
    expect(() => featureHeatmaps(map, { channels: [0, 5, 7] })).toThrow(/channels 5, 7 are out of range/);
    expect(() => featureHeatmaps(map, { channel: 1 } as never)).toThrow(/channel: unknown option/);
  });
});
