import * as tf from '@tensorflow/tfjs';
import { DetectionMask, FullMask, maskToCocoRle, maskToFull, RleMask } from '../../src/api/detection_masks';
import { glyphRows } from '../../src/viz/bitmap_font';
import { measureTextTag } from '../../src/viz/draw';
import { drawDetections, OverlayOptions, resolveOverlayOptions } from '../../src/viz/overlay';
import { contrastTextColor, DEFAULT_PALETTE, RgbColor } from '../../src/viz/palette';
import { blend, croppedMask, detection, emptyMask, GREY, greyImage, pixel, prediction } from './scenes';

const RED = DEFAULT_PALETTE[0]; // instance 0
const GREEN = DEFAULT_PALETTE[1]; // instance 1
const BG = [GREY, GREY, GREY, 255];
const only = (o: OverlayOptions): OverlayOptions => ({ showBoxes: false, showMasks: false, showLabels: false, ...o });

describe('drawDetections: masks', () => {
  // 20x16 grey; the window (4, 3) 8x6 holds a 6x4 block at window (1..6, 1..4), image x 5..10, y 4..7.
  const W = 20;
  const H = 16;
  const block = croppedMask(W, H, [4, 3, 8, 6], (c, r) => c >= 1 && c <= 6 && r >= 1 && r <= 4);
  const inBlock = (x: number, y: number): boolean => x >= 5 && x <= 10 && y >= 4 && y <= 7;
  const onEdge = (x: number, y: number): boolean => inBlock(x, y) && (x === 5 || x === 10 || y === 4 || y === 7);

  test('every pixel: blended inside, full colour on a 1-pixel outline, unchanged outside', () => {
    const pic = drawDetections(greyImage(W, H), prediction(W, H, [detection([5, 4, 11, 8], block)]), only({ showMasks: true, outlineWidth: 1 }));
    expect([pic.width, pic.height, pic.data.length]).toEqual([W, H, W * H * 4]);
    expect(blend(BG, RED, 0.5)).toEqual([179, 77, 102]); // round(0.5 * 230 + 64) etc., by hand
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const want = onEdge(x, y) ? [...RED, 255] : inBlock(x, y) ? [179, 77, 102, 255] : BG;
        expect([x, y, ...pixel(pic, x, y)]).toEqual([x, y, ...want]);
      }
    }
  });

  test('alpha is the fill opacity; outlineWidth 0 draws no outline, 2 a 2-pixel one', () => {
    const pred = prediction(W, H, [detection([5, 4, 11, 8], block)]);
    const a = drawDetections(greyImage(W, H), pred, only({ showMasks: true, alpha: 0.3, outlineWidth: 0 }));
    expect(pixel(a, 5, 4)).toEqual([...blend(BG, RED, 0.3), 255]); // a corner: no outline
    expect(pixel(a, 7, 5)).toEqual([...blend(BG, RED, 0.3), 255]);
    expect(pixel(a, 4, 4)).toEqual(BG);
    // A 4-row block is all within 2 pixels of its edge.
    const b = drawDetections(greyImage(W, H), pred, only({ showMasks: true, outlineWidth: 2 }));
    for (const [x, y] of [[5, 4], [6, 5], [7, 6], [9, 5], [10, 7]]) expect(pixel(b, x, y)).toEqual([...RED, 255]);
    expect(pixel(b, 11, 5)).toEqual(BG);
  });

  test('cropped, full and RLE masks give identical pictures, with boxes and labels', () => {
    const [w, h] = [60, 40];
    const disc = croppedMask(w, h, [20, 14, 17, 17], (c, r) => (c - 8) ** 2 + (r - 8) ** 2 <= 49);
    const corner = croppedMask(w, h, [0, 0, 12, 9], (c, r) => c + r < 12); // touches the image edge
    const toFull = (m: typeof disc): FullMask => ({ format: 'full', width: w, height: h, data: maskToFull(m) });
    const toRle = (m: typeof disc): RleMask => ({ format: 'rle', ...maskToCocoRle(m) });
    const scene = <M extends typeof disc | FullMask | RleMask>(f: (m: typeof disc) => M) =>
      drawDetections(greyImage(w, h), prediction(w, h, [detection([21, 15, 36, 30], f(disc), 0.9), detection([0, 0, 12, 9], f(corner), 0.6, 2, 'corner')]));
    const cropped = scene((m) => m);
    expect(Array.from(scene(toFull).data)).toEqual(Array.from(cropped.data));
    expect(Array.from(scene(toRle).data)).toEqual(Array.from(cropped.data));
    expect(pixel(cropped, 28, 22)).toEqual([...blend(BG, RED, 0.5), 255]); // the disc's centre
  });

  test('where masks overlap, the higher score is blended last, on top', () => {
    const a = croppedMask(W, H, [2, 2, 8, 8], () => true);
    const b = croppedMask(W, H, [6, 6, 8, 8], () => true);
    // Listed best first, as predict returns them; the overlap (6..9, 6..9) has (8, 8) away from both outlines.
    const pic = drawDetections(greyImage(W, H), prediction(W, H, [detection([2, 2, 10, 10], a, 0.9), detection([6, 6, 14, 14], b, 0.4)]), only({ showMasks: true, outlineWidth: 1 }));
    expect(pixel(pic, 8, 8)).toEqual([...blend([...blend(BG, GREEN, 0.5), 255], RED, 0.5), 255]);
  });
});

describe('drawDetections: boxes', () => {
  const [W, H] = [40, 30];
  // Box pixels: x round(10.2) = 10 .. round(30.6) - 1 = 30, y round(12.4) = 12 .. round(25.5) - 1 = 25.
  const pred = prediction(W, H, [detection([10.2, 12.4, 30.6, 25.5], emptyMask(W, H))]);

  test('edge pixels have the box colour, pixels beyond the line width inside and outside do not', () => {
    const pic = drawDetections(greyImage(W, H), pred, only({ showBoxes: true, lineWidth: 2 }));
    const box = [...RED, 255];
    // Left and right edges at row 18; top and bottom at column 20.
    expect([9, 10, 11, 12].map((x) => pixel(pic, x, 18))).toEqual([BG, box, box, BG]);
    expect([28, 29, 30, 31].map((x) => pixel(pic, x, 18))).toEqual([BG, box, box, BG]);
    expect([11, 12, 13, 14].map((y) => pixel(pic, 20, y))).toEqual([BG, box, box, BG]);
    expect([23, 24, 25, 26].map((y) => pixel(pic, 20, y))).toEqual([BG, box, box, BG]);
    // Corners.
    expect([pixel(pic, 10, 12), pixel(pic, 30, 25), pixel(pic, 9, 11), pixel(pic, 31, 26)]).toEqual([box, box, BG, BG]);
  });

  test('lineWidth 1 draws one pixel', () => {
    const pic = drawDetections(greyImage(W, H), pred, only({ showBoxes: true, lineWidth: 1 }));
    expect([9, 10, 11].map((x) => pixel(pic, x, 18))).toEqual([BG, [...RED, 255], BG]);
  });

  test('a box reaching past the image is clipped, a zero-size box is one pixel', () => {
    const pic = drawDetections(
      greyImage(W, H),
      prediction(W, H, [detection([-5, -5, 50, 50], emptyMask(W, H)), detection([3.2, 3.2, 3.4, 3.4], emptyMask(W, H))]),
      only({ showBoxes: true, lineWidth: 1 }),
    );
    expect([pixel(pic, 0, 10), pixel(pic, 20, 0), pixel(pic, 1, 10)]).toEqual([BG, BG, BG]); // the lines lie outside
    expect(pixel(pic, 3, 3)).toEqual([...GREEN, 255]);
    expect([pixel(pic, 4, 3), pixel(pic, 3, 4)]).toEqual([BG, BG]);
  });
});

describe('drawDetections: label tags', () => {
  const [W, H] = [80, 40];
  // 'I 0.50' is 6 characters: 6 * 6 - 1 = 35 pixels of text, a 37 x 11 tag with its padding.
  const tagOf = (box: [number, number, number, number], o: OverlayOptions = {}, palette?: readonly RgbColor[]) =>
    drawDetections(greyImage(W, H), prediction(W, H, [detection(box, emptyMask(W, H), 0.5, 1, 'I')]), only({ showLabels: true, textScale: 1, ...(palette ? { palette } : {}), ...o }));

  test('the tag sits above the box top-left, filled in the instance colour, text by contrast', () => {
    expect(measureTextTag('I 0.50')).toEqual({ width: 37, height: 11 });
    const pic = tagOf([20, 20, 60, 35]);
    const bg = [...RED, 255];
    const ink = [...contrastTextColor(RED), 255];
    expect(ink).toEqual([0, 0, 0, 255]); // black on the palette's red
    // Tag rows 9..19, columns 20..56.
    expect([pixel(pic, 20, 9), pixel(pic, 56, 19), pixel(pic, 56, 9), pixel(pic, 20, 19)]).toEqual([bg, bg, bg, bg]);
    expect([pixel(pic, 20, 8), pixel(pic, 19, 9), pixel(pic, 57, 19), pixel(pic, 20, 20)]).toEqual([BG, BG, BG, BG]);
    // The 'I' starts one pixel in, at (21, 10): row 0 is .###., row 1 ..#..
    expect([21, 22, 23, 24, 25].map((x) => pixel(pic, x, 10))).toEqual([bg, ink, ink, ink, bg]);
    expect([21, 22, 23, 24, 25].map((x) => pixel(pic, x, 11))).toEqual([bg, bg, ink, bg, bg]);
    // Every pixel of the 'I' glyph, rows 0..8.
    glyphRows('I').forEach((bits, r) => {
      for (let c = 0; c < 5; c++) expect(pixel(pic, 21 + c, 10 + r)).toEqual((bits >> (4 - c)) & 1 ? ink : bg);
    });
  });

  test('the text says the label name and the score to two decimals', () => {
    // '0' of '0.50' is the third character: columns 21 + 2 * 6 = 33 .. 37.
    const pic = tagOf([20, 20, 60, 35]);
    const ink = [0, 0, 0, 255];
    glyphRows('0').forEach((bits, r) => {
      for (let c = 0; c < 5; c++) expect(pixel(pic, 33 + c, 10 + r)).toEqual((bits >> (4 - c)) & 1 ? ink : [...RED, 255]);
    });
  });

  test('a box at the top of the image gets its tag inside, a box at the right edge gets it moved in', () => {
    const top = tagOf([5, 2, 40, 30]);
    expect([pixel(top, 5, 2), pixel(top, 41, 12)]).toEqual([[...RED, 255], [...RED, 255]]); // tag rows 2..12
    expect(pixel(top, 5, 1)).toEqual(BG);
    const right = tagOf([70, 20, 79, 35]);
    expect([pixel(right, 42, 9), pixel(right, 43, 9), pixel(right, 79, 9)]).toEqual([BG, [...RED, 255], [...RED, 255]]); // x = 80 - 37
  });

  test('white text on a dark colour; textScale 2 doubles every font pixel', () => {
    const navy: RgbColor = [0, 0, 128];
    const pic = tagOf([20, 30, 60, 39], { textScale: 2 }, [navy]);
    // Tag 2 * 35 + 4 = 74 wide, 2 * 9 + 4 = 22 high: rows 8..29, clamped to columns 6..79.
    const x0 = 80 - 74;
    const ink = [255, 255, 255, 255];
    expect(pixel(pic, x0, 8)).toEqual([...navy, 255]);
    expect(pixel(pic, x0 - 1, 8)).toEqual(BG);
    // The text starts at (x0 + 2, 10); 'I' row 0 is .###., so font column 1 is image columns x0 + 4, x0 + 5, rows 10, 11.
    for (const [dx, dy] of [[4, 0], [5, 0], [4, 1], [5, 1]]) expect(pixel(pic, x0 + dx, 10 + dy)).toEqual(ink);
    expect(pixel(pic, x0 + 2 + 1, 10)).toEqual([...navy, 255]);
  });

  test("textScale 'auto' is 1 below an 800-pixel short side and 2 at 800", () => {
    expect(resolveOverlayOptions({}).textScale).toBe('auto');
    const tagHeight = (w: number, h: number): number => {
      const pic = drawDetections(greyImage(w, h), prediction(w, h, [detection([0, 0, 10, 10], emptyMask(w, h), 0.5, 1, 'I')]), only({ showLabels: true }));
      let rows = 0;
      while (pixel(pic, 0, rows)[3] === 255 && pixel(pic, 0, rows)[0] === RED[0]) rows++;
      return rows;
    };
    expect(tagHeight(800, 799)).toBe(11);
    expect(tagHeight(801, 800)).toBe(22);
  });
});

describe('drawDetections: colours, inputs and what is drawn', () => {
  const [W, H] = [20, 16];
  const dot = (x: number, y: number) => croppedMask(W, H, [x, y, 1, 1], () => true);

  test('instance i gets palette[i % n]; colorBy label gives one colour per label', () => {
    const dets = Array.from({ length: 18 }, (_, i) => detection([0, 0, 1, 1], dot(i % W, Math.floor(i / W)), 0.9, i === 17 ? 3 : 2));
    const o = only({ showMasks: true, alpha: 1, outlineWidth: 0 });
    const byInstance = drawDetections(greyImage(W, H), prediction(W, H, dets), o);
    for (let i = 0; i < 18; i++) expect(pixel(byInstance, i % W, Math.floor(i / W))).toEqual([...DEFAULT_PALETTE[i % 16], 255]);
    const byLabel = drawDetections(greyImage(W, H), prediction(W, H, dets), { ...o, colorBy: 'label' });
    expect(pixel(byLabel, 0, 0)).toEqual([...DEFAULT_PALETTE[2], 255]);
    expect(pixel(byLabel, 16, 0)).toEqual([...DEFAULT_PALETTE[2], 255]);
    expect(pixel(byLabel, 17, 0)).toEqual([...DEFAULT_PALETTE[3], 255]);
  });

  test('a custom palette is cycled the same way', () => {
    const palette: RgbColor[] = [[1, 2, 3], [4, 5, 6]];
    const dets = [0, 1, 2].map((i) => detection([0, 0, 1, 1], dot(i, 0)));
    const pic = drawDetections(greyImage(W, H), prediction(W, H, dets), only({ showMasks: true, alpha: 1, outlineWidth: 0, palette }));
    expect([0, 1, 2].map((x) => pixel(pic, x, 0))).toEqual([[1, 2, 3, 255], [4, 5, 6, 255], [1, 2, 3, 255]]);
  });

  test('an empty prediction gives the image unchanged (opaque RGBA), and the input is not modified', () => {
    const img = greyImage(W, H);
    img.data[3 * 7] = 9; // pixel 7, red channel
    const before = Uint8Array.from(img.data);
    const pic = drawDetections(img, prediction(W, H, []));
    const want = new Uint8ClampedArray(W * H * 4).fill(GREY);
    for (let p = 0; p < W * H; p++) want[4 * p + 3] = 255;
    want[4 * 7] = 9;
    expect(Array.from(pic.data)).toEqual(Array.from(want));
    drawDetections(img, prediction(W, H, [detection([1, 1, 9, 9], croppedMask(W, H, [1, 1, 8, 8], () => true))]));
    expect(Array.from(img.data)).toEqual(Array.from(before));
  });

  test('scoreThreshold hides detections below it; the rest keep their colours', () => {
    const dets = [detection([0, 0, 1, 1], dot(0, 0), 0.8), detection([0, 0, 1, 1], dot(1, 0), 0.3), detection([0, 0, 1, 1], dot(2, 0), 0.5)];
    const pic = drawDetections(greyImage(W, H), prediction(W, H, dets), only({ showMasks: true, alpha: 1, outlineWidth: 0, scoreThreshold: 0.5 }));
    expect([0, 1, 2].map((x) => pixel(pic, x, 0))).toEqual([[...DEFAULT_PALETTE[0], 255], BG, [...DEFAULT_PALETTE[2], 255]]);
    const none = drawDetections(greyImage(W, H), prediction(W, H, dets), { scoreThreshold: 0.9 });
    expect(Array.from(none.data)).toEqual(Array.from(drawDetections(greyImage(W, H), prediction(W, H, [])).data));
  });

  test('showBoxes, showMasks and showLabels switch their layer off', () => {
    const pred = prediction(60, 40, [detection([10, 20, 50, 35], croppedMask(60, 40, [20, 25, 10, 5], () => true))]);
    const all = drawDetections(greyImage(60, 40), pred, { textScale: 1 });
    expect([pixel(all, 10, 30), pixel(all, 25, 27), pixel(all, 10, 9)].every((p) => p.join() !== BG.join())).toBe(true);
    expect(pixel(drawDetections(greyImage(60, 40), pred, { showBoxes: false }), 10, 30)).toEqual(BG);
    expect(pixel(drawDetections(greyImage(60, 40), pred, { showMasks: false }), 25, 27)).toEqual(BG);
    expect(pixel(drawDetections(greyImage(60, 40), pred, { showLabels: false, textScale: 1 }), 10, 9)).toEqual(BG);
  });

  test('RGBA input keeps its alpha where nothing is drawn; drawn pixels are composited over it', () => {
    const data = new Uint8ClampedArray(W * H * 4);
    for (let p = 0; p < W * H; p++) data.set([GREY, GREY, GREY, 100], 4 * p);
    const block = croppedMask(W, H, [4, 4, 6, 6], () => true);
    const pic = drawDetections({ data, width: W, height: H }, prediction(W, H, [detection([4, 4, 10, 10], block)]), only({ showMasks: true, outlineWidth: 1 }));
    expect(pixel(pic, 0, 0)).toEqual([GREY, GREY, GREY, 100]);
    expect(pixel(pic, 6, 6)).toEqual([...blend(BG, RED, 0.5), Math.round(255 * 0.5 + 0.5 * 100)]); // 178
    expect(pixel(pic, 4, 4)).toEqual([...RED, 255]); // outline
  });

  test('grayscale input is expanded to three equal channels', () => {
    const gray = Uint8Array.from({ length: W * H }, (_, i) => i % 256);
    const pic = drawDetections({ data: gray, width: W, height: H, channels: 1 }, prediction(W, H, []));
    expect(pixel(pic, 5, 2)).toEqual([45, 45, 45, 255]);
  });

  test('does not leak tensors', () => {
    const before = tf.memory().numTensors;
    drawDetections(greyImage(W, H), prediction(W, H, [detection([1, 1, 9, 9], croppedMask(W, H, [1, 1, 8, 8], () => true))]));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('drawDetections: errors name the problem', () => {
  const [W, H] = [20, 16];
  const pred = prediction(W, H, [detection([1, 1, 5, 5], emptyMask(W, H))]);

  test('invalid options are all listed with their valid values', () => {
    const bad = { alpha: 2, colorBy: 'score', lineWidth: 0, textScale: 1.5, showBoxes: 'yes', palette: [], foo: 1 } as unknown as OverlayOptions;
    let message = '';
    try {
      drawDetections(greyImage(W, H), pred, bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^Error in drawDetections: invalid options:/);
    expect(message).toContain('alpha: must be a number in [0, 1], got 2');
    expect(message).toContain("colorBy: must be one of 'instance', 'label', got 'score'");
    expect(message).toContain('lineWidth: must be an integer >= 1, got 0');
    expect(message).toContain("textScale: must be 'auto' or an integer >= 1, got 1.5");
    expect(message).toContain("showBoxes: must be true or false, got 'yes'");
    expect(message).toContain('palette: must be a non-empty array of [r, g, b] colours');
    expect(message).toContain('foo: unknown option (valid options: scoreThreshold, alpha, showBoxes, showMasks, showLabels, lineWidth, outlineWidth, textScale, colorBy, palette)');
    expect(() => resolveOverlayOptions({ scoreThreshold: -0.1 })).toThrow('scoreThreshold: must be a number in [0, 1], got -0.1');
    expect(() => resolveOverlayOptions({ palette: [[0, 0, 256]] })).toThrow('palette: must be');
  });

  test('an image of another size than the prediction names both sizes', () => {
    expect(() => drawDetections(greyImage(40, 32), pred)).toThrow(/the image is 40x32 \(width x height\) but the prediction was made on a 20x16 image/);
  });

  test('a malformed image', () => {
    expect(() => drawDetections({ data: new Uint8Array(10), width: W, height: H }, pred)).toThrow(/image data of 10 bytes does not hold 20x16 pixels/);
    expect(() => drawDetections({ data: new Uint8Array(W * H * 3), width: W, height: H, channels: 4 }, pred)).toThrow(/960 bytes does not hold 20x16 pixels of 4 channels/);
    expect(() => drawDetections({ data: new Uint8Array(0), width: 0, height: H }, pred)).toThrow(/image size must be positive integers, got 0x16/);
    expect(() => drawDetections({ data: [1, 2, 3] as unknown as Uint8Array, width: 1, height: 1 }, pred)).toThrow(/Uint8Array or Uint8ClampedArray/);
  });

  test('masks of another size, with bad geometry or of no known format name the detection', () => {
    const withMask = (mask: unknown) => prediction<DetectionMask>(W, H, [detection([1, 1, 5, 5], emptyMask(W, H)), detection([1, 1, 5, 5], mask as FullMask)]);
    const draw = (mask: unknown) => () => drawDetections(greyImage(W, H), withMask(mask));
    expect(draw(emptyMask(40, 32))).toThrow(/detection 1: its mask is for a 40x32 image but the image is 20x16/);
    expect(draw({ format: 'full', width: 20, height: 15, data: new Uint8Array(300) })).toThrow(/detection 1: its mask is for a 20x15 image/);
    expect(draw({ format: 'rle', size: [32, 40], counts: '0' })).toThrow(/detection 1: its mask is for a 40x32 image/);
    expect(draw({ ...croppedMask(W, H, [15, 0, 8, 2], () => true) })).toThrow(/detection 1: cropped mask window \(15, 0, 8, 2\) is not inside the 20x16 image/);
    expect(draw({ ...emptyMask(W, H), width: 2, height: 2 })).toThrow(/detection 1: mask data must be a Uint8Array of 4 bytes, got 0/);
    expect(draw({ format: 'polygon' })).toThrow(/detection 1: not a detection mask \(format 'polygon'; expected 'cropped', 'full' or 'rle'\)/);
    // With masks off, the masks are not looked at.
    expect(() => drawDetections(greyImage(W, H), withMask({ format: 'polygon' }), { showMasks: false })).not.toThrow();
  });

  test('a box that is not 4 finite numbers', () => {
    const p = prediction(W, H, [detection([1, 1, NaN, 5], emptyMask(W, H))]);
    expect(() => drawDetections(greyImage(W, H), p)).toThrow(/detection 0: box must be 4 finite numbers \[x1, y1, x2, y2\], got \[1,1,null,5\]/);
  });
});
