import { COLORMAP_NAMES, colormapIndex, COLORMAPS, greys, viridis } from '../../src/viz/colormap';

// Reference values from matplotlib 3.6: to_hex(matplotlib.colormaps['viridis'](t)) and ['gray'].
const VIRIDIS_REFERENCE: [number, string][] = [
  [0, '#440154'],
  [1 / 256, '#440256'],
  [0.1, '#482475'],
  [0.25, '#3b528b'],
  [0.33, '#31678e'],
  [0.5 - 1e-12, '#21908d'],
  [0.5, '#21918c'],
  [0.7, '#44bf70'],
  [0.75, '#5ec962'],
  [0.9, '#bddf26'],
  [0.999, '#fde725'],
  [1, '#fde725'],
  [-0.2, '#440154'],
  [1.7, '#fde725'],
];

const hex = (c: readonly number[]): string => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

describe('colormaps', () => {
  test("viridis equals matplotlib's table at reference values, ends included", () => {
    for (const [t, want] of VIRIDIS_REFERENCE) expect([t, hex(viridis(t))]).toEqual([t, want]);
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(1)).toEqual([253, 231, 37]);
  });

  test('viridis has 256 entries, 254 distinct in bytes as in matplotlib (two neighbours round alike), lighter towards 1', () => {
    const entries = Array.from({ length: 256 }, (_, i) => viridis((i + 0.5) / 256));
    expect(new Set(entries.map(hex)).size).toBe(254);
    const sum = (c: readonly number[]): number => c[0] + c[1] + c[2];
    expect(sum(entries[255])).toBeGreaterThan(sum(entries[128]));
    expect(sum(entries[128])).toBeGreaterThan(sum(entries[0]));
  });

  test("greys is matplotlib's 'gray': black at 0, white at 1, floor(t * 256) levels", () => {
    expect(greys(0)).toEqual([0, 0, 0]);
    expect(greys(0.1)).toEqual([25, 25, 25]); // #191919
    expect(greys(0.33)).toEqual([84, 84, 84]); // #545454
    expect(greys(0.5)).toEqual([128, 128, 128]);
    expect(greys(0.75)).toEqual([192, 192, 192]); // #c0c0c0
    expect(greys(1)).toEqual([255, 255, 255]);
    expect(greys(2)).toEqual([255, 255, 255]);
  });

  test('index rule: floor(t * 256), 1 and above the last entry, NaN and below the first', () => {
    expect([0, 0.5, 255 / 256, 1, 7, -1, NaN, Infinity, -Infinity].map(colormapIndex)).toEqual([0, 128, 255, 255, 255, 0, 0, 255, 0]);
    expect(viridis(NaN)).toEqual(viridis(0));
  });

  test('COLORMAPS by name', () => {
    expect(COLORMAP_NAMES).toEqual(['viridis', 'greys']);
    expect(COLORMAPS.viridis(0.3)).toEqual(viridis(0.3));
    expect(COLORMAPS.greys(0.3)).toEqual(greys(0.3));
  });
});
