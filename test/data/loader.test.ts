import { CocoTarget } from '../../src/data/coco_dataset';
import { DecodedImage } from '../../src/data/image_io';
import { Batch, DataLoader, DataLoaderOptions, TrainingSource } from '../../src/data/loader';
import { frBbox } from '../../src/data/mask';
import { DataWarning } from '../../src/data/warnings';

/** An in-memory source: image i is (8 + i) x (10 + i) with one box; `bad` indices fail to decode. */
class FakeSource implements TrainingSource {
  started = 0;
  finished = 0;
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    readonly length: number,
    private readonly bad: Set<number> = new Set(),
  ) {}
  target(i: number): CocoTarget {
    this.started++;
    const h = 8 + i;
    const w = 10 + i;
    return {
      imageId: i, fileName: `${i}.png`, filePath: `/data/${i}.png`, height: h, width: w,
      annotationIds: Int32Array.of(i), gtBoxes: Float32Array.of(1, 2, 5, 6), gtLabels: Int32Array.of(1), gtCrowd: Uint8Array.of(0),
      gtMasks: [frBbox([1, 2, 4, 4], h, w)],
    };
  }
  async readImage(i: number): Promise<DecodedImage> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 1 + (i % 3)));
    this.inFlight--;
    this.finished++;
    if (this.bad.has(i)) throw new Error(`cannot decode /data/${i}.png: corrupt`);
    const h = 8 + i;
    const w = 10 + i;
    return { height: h, width: w, data: Uint8Array.from({ length: h * w * 3 }, (_, k) => (k * 7 + i) % 256) };
  }
}

async function collect(loader: DataLoader, epoch: number, startBatch = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, startBatch)) out.push(b);
  return out;
}

const small = { minSizes: [16, 24], maxSize: 64 };
const quiet: Pick<DataLoaderOptions, 'onWarning'> = { onWarning: () => undefined };

describe('DataLoader', () => {
  test('an epoch visits every index once, in a seeded order that changes per epoch', async () => {
    const loader = new DataLoader(new FakeSource(11), { batchSize: 3, seed: 4, transform: small });
    expect(loader.numBatches).toBe(4);
    const e0 = (await collect(loader, 0)).flatMap((b) => b.indices);
    const e1 = (await collect(loader, 1)).flatMap((b) => b.indices);
    expect([...e0].sort((a, b) => a - b)).toEqual(Array.from({ length: 11 }, (_, i) => i));
    expect(e0).toEqual(loader.order(0));
    expect(e1).toEqual(loader.order(1));
    expect(e1).not.toEqual(e0);
    expect(new DataLoader(new FakeSource(11), { seed: 4 }).order(0)).toEqual(e0);
    expect(new DataLoader(new FakeSource(11), { seed: 5 }).order(0)).not.toEqual(e0);
    expect(new DataLoader(new FakeSource(5), { shuffle: false }).order(3)).toEqual([0, 1, 2, 3, 4]);
  });

  test('batches hold images of different sizes; samples are identical whatever the prefetch and concurrency', async () => {
    const a = await collect(new DataLoader(new FakeSource(9), { batchSize: 2, seed: 1, transform: small, prefetchBatches: 0, concurrency: 1 }), 2);
    const b = await collect(new DataLoader(new FakeSource(9), { batchSize: 2, seed: 1, transform: small, prefetchBatches: 4, concurrency: 3 }), 2);
    expect(b.length).toBe(5);
    expect(b.map((x) => x.indices)).toEqual(a.map((x) => x.indices));
    for (let i = 0; i < a.length; i++) {
      a[i].samples.forEach((s, k) => {
        const t = b[i].samples[k];
        expect([t.height, t.width, t.flipped]).toEqual([s.height, s.width, s.flipped]);
        expect(Buffer.from(t.image.buffer).equals(Buffer.from(s.image.buffer))).toBe(true);
        expect(Array.from(t.gtBoxes)).toEqual(Array.from(s.gtBoxes));
      });
    }
    const sizes = new Set(a.flatMap((x) => x.samples.map((s) => `${s.height}x${s.width}`)));
    expect(sizes.size).toBeGreaterThan(3);
    const flips = a.flatMap((x) => x.samples.map((s) => s.flipped));
    expect(flips).toContain(true);
    expect(flips).toContain(false);
  });

  test('resuming at a batch gives the same batches as the full epoch', async () => {
    const full = await collect(new DataLoader(new FakeSource(10), { batchSize: 3, seed: 8, transform: small }), 5);
    const tail = await collect(new DataLoader(new FakeSource(10), { batchSize: 3, seed: 8, transform: small }), 5, 2);
    expect(tail.map((b) => b.index)).toEqual([2, 3]);
    expect(tail.map((b) => b.indices)).toEqual(full.slice(2).map((b) => b.indices));
    expect(tail[0].samples[0].image).toEqual(full[2].samples[0].image);
  });

  test('prefetch runs ahead of the consumer but stays bounded', async () => {
    const src = new FakeSource(40);
    const loader = new DataLoader(src, { batchSize: 2, prefetchBatches: 3, concurrency: 2, transform: small });
    let b = 0;
    for await (const batch of loader.epoch(0)) {
      // Window: the current batch and 3 more are started, nothing beyond.
      expect(src.started).toBeLessThanOrEqual((batch.index + 1 + 3) * 2);
      if (batch.index === 0) {
        // A slow training step: the loader uses it to decode ahead, up to its window and no
        // further (waited for, not timed: a loaded machine only makes this take longer).
        while (src.finished < 8) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 20));
        expect(src.finished).toBe(8);
      }
      b++;
    }
    expect(b).toBe(20);
    expect(src.maxInFlight).toBeLessThanOrEqual(2);
    expect(src.maxInFlight).toBe(2);

    const none = new FakeSource(10);
    for await (const batch of new DataLoader(none, { batchSize: 2, prefetchBatches: 0, transform: small }).epoch(0)) {
      await new Promise((r) => setTimeout(r, 20));
      expect(none.finished).toBe((batch.index + 1) * 2);
    }
  });

  test('a bad sample is skipped with a counted warning naming the file; the epoch goes on', async () => {
    const warnings: DataWarning[] = [];
    const loader = new DataLoader(new FakeSource(8, new Set([2, 5])), { batchSize: 4, shuffle: false, transform: small, onWarning: (w) => warnings.push(w) });
    const batches = await collect(loader, 0);
    expect(batches.map((b) => b.indices)).toEqual([
      [0, 1, 3],
      [4, 6, 7],
    ]);
    expect(warnings.map((w) => [w.code, w.entry])).toEqual([
      ['bad-sample', '/data/2.png'],
      ['bad-sample', '/data/5.png'],
    ]);
    expect(warnings[0].message).toMatch(/epoch 0.*corrupt/);
    expect(loader.warnings.count('bad-sample')).toBe(2);
  });

  test('fails clearly when everything fails (wrong images folder)', async () => {
    const all = new Set(Array.from({ length: 50 }, (_, i) => i));
    const early = new DataLoader(new FakeSource(50, all), { batchSize: 2, failFastAfter: 4, transform: small, ...quiet });
    await expect(collect(early, 0)).rejects.toThrow(/first 4 samples of epoch 0 all failed.*corrupt/);
    const late = new DataLoader(new FakeSource(3, new Set([0, 1, 2])), { batchSize: 2, transform: small, ...quiet });
    await expect(collect(late, 0)).rejects.toThrow(/no sample of epoch 0 could be loaded \(3 failed\)/);
  });

  test('dropLast, options and arguments are checked', async () => {
    expect(new DataLoader(new FakeSource(11), { batchSize: 3, dropLast: true }).numBatches).toBe(3);
    const d = await collect(new DataLoader(new FakeSource(11), { batchSize: 3, dropLast: true, transform: small }), 0);
    expect(d.map((b) => b.samples.length)).toEqual([3, 3, 3]);
    expect(() => new DataLoader(new FakeSource(3), { batchSize: 0 })).toThrow(/batchSize must be a positive integer/);
    expect(() => new DataLoader(new FakeSource(3), { prefetchBatches: -1 })).toThrow(/prefetchBatches/);
    expect(() => new DataLoader(new FakeSource(3), { transform: { minSizes: [] } })).toThrow(/minSizes/);
    expect(() => new DataLoader(new FakeSource(0))).toThrow(/empty/);
    const loader = new DataLoader(new FakeSource(3));
    await expect(collect(loader, -1)).rejects.toThrow(/epoch must be/);
    await expect(collect(loader, 0, 9)).rejects.toThrow(/startBatch must be an integer in 0\.\.2/);
  });
});
