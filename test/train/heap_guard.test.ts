import * as tf from '@tensorflow/tfjs';
import {
  DEFAULT_HEAP_LIMIT_BYTES,
  TRAINING_BYTES_PER_IMAGE,
  TRAINING_BYTES_PER_PIXEL,
  TRAINING_FIXED_BYTES,
  WASM_HEAP_CAP_BYTES,
  checkHeap,
  estimateTrainingBytes,
  wasmHeapBytes,
} from '../../src/train/heap_guard';
import { BackboneWithFpn } from '../../src/backbone/backbone_with_fpn';
import { registerWasmTrainingKernels } from '../../src/kernels/register';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { describeEachBackend, useBackend } from '../support/backends';

describeEachBackend('heap guard', (backend) => {
  if (backend === 'wasm') {
    it('reads the live size of the wasm memory, which grows with allocations', () => {
      const before = wasmHeapBytes()!;
      expect(before).toBeGreaterThan(0);
      expect(before % 65536).toBe(0); // whole wasm pages
      expect(before).toBeLessThanOrEqual(WASM_HEAP_CAP_BYTES);
      // 2x the current heap cannot fit in it, so the memory must grow.
      const t = tf.zeros([Math.ceil((before * 2) / 4)]);
      const after = wasmHeapBytes()!;
      t.dispose();
      expect(after).toBeGreaterThan(before * 2);
      expect(wasmHeapBytes()).toBe(after); // never shrinks
    });

    it('measures ~TRAINING_BYTES_PER_PIXEL for a ResNet-50-FPN forward + backward (the per-pixel term)', async () => {
      registerWasmTrainingKernels();
      await useBackend('wasm');
      const backbone = withoutInitialization(() => new BackboneWithFpn({}));
      backbone.ensureBuilt();
      const vars = backbone.trainableWeights.map((v) => v.read() as tf.Variable);
      const peakOverBase = async (size: number): Promise<number> => {
        const x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
        const base = tf.memory().numBytes;
        const info = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => {
            const features = backbone.forward(x);
            return tf.addN(Object.values(features).map((t) => t.mean())) as tf.Scalar;
          }, vars);
          tf.dispose([value, grads]);
        });
        x.dispose();
        return info.peakBytes - base;
      };
      const small = await peakOverBase(128);
      const large = await peakOverBase(192);
      const perPixel = (large - small) / (192 * 192 - 128 * 128);
      // The constant adds ~400 B/px for the RPN head to the backbone's measured share.
      expect(perPixel).toBeGreaterThan(0.8 * TRAINING_BYTES_PER_PIXEL);
      expect(perPixel).toBeLessThan(TRAINING_BYTES_PER_PIXEL);
      backbone.dispose();
    });

    it('throws the advice message past the limit, and passes below it, without leaking', () => {
      const tensors = tf.memory().numTensors;
      const heap = wasmHeapBytes()!;
      expect(checkHeap('epoch 3, step 40')).toBe(heap);
      expect(checkHeap('epoch 3, step 40', heap)).toBe(heap);
      let message = '';
      try {
        checkHeap('epoch 3, step 41', 1024);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('Error in checkHeap (epoch 3, step 41)');
      expect(message).toContain(`the wasm heap is at ${(heap / 2 ** 30).toFixed(2)} GiB of its 4 GiB cap`);
      expect(message).toContain('smaller images (minSize/maxSize) or a smaller batch size');
      expect(() => checkHeap('x', heap - 65536)).toThrow(/wasm heap is at/);
      expect(tf.memory().numTensors).toBe(tensors);
    });
  } else {
    it('does nothing on a non-wasm backend', () => {
      const tensors = tf.memory().numTensors;
      expect(wasmHeapBytes()).toBeUndefined();
      expect(checkHeap('step 1', 1)).toBeUndefined();
      expect(tf.memory().numTensors).toBe(tensors);
    });
  }

  it('rejects a bad limit naming the argument', () => {
    expect(() => checkHeap('s', 0)).toThrow('Error in checkHeap: limitBytes must be in (0, 4294967296]');
    expect(() => checkHeap('s', 5 * 2 ** 30)).toThrow('limitBytes must be in');
    expect(() => checkHeap('s', Number.NaN)).toThrow('got NaN');
  });
});

describe('estimateTrainingBytes', () => {
  it('adds fixed, per-image and per-pixel terms', () => {
    const one = estimateTrainingBytes({ batch: 1, height: 100, width: 200 });
    expect(one).toBe(TRAINING_FIXED_BYTES + TRAINING_BYTES_PER_IMAGE + 100 * 200 * TRAINING_BYTES_PER_PIXEL);
    const two = estimateTrainingBytes({ batch: 2, height: 100, width: 200 });
    expect(two - one).toBe(one - TRAINING_FIXED_BYTES);
    expect(estimateTrainingBytes({ batch: 3, height: 10, width: 10, bytesPerPixel: 1, bytesPerImage: 2, fixedBytes: 5 })).toBe(5 + 3 * (100 + 2));
  });

  it('puts full-size COCO training (800 x 1344) past the wasm cap and small images under the guard limit', () => {
    expect(estimateTrainingBytes({ batch: 1, height: 800, width: 1344 })).toBeGreaterThan(WASM_HEAP_CAP_BYTES);
    expect(estimateTrainingBytes({ batch: 1, height: 384, width: 512 })).toBeLessThan(DEFAULT_HEAP_LIMIT_BYTES);
  });

  it('rejects bad sizes naming the field', () => {
    expect(() => estimateTrainingBytes({ batch: 0, height: 1, width: 1 })).toThrow('batch must be a positive integer, got 0');
    expect(() => estimateTrainingBytes({ batch: 1, height: 2.5, width: 1 })).toThrow('height must be a positive integer, got 2.5');
    expect(() => estimateTrainingBytes({ batch: 1, height: 2, width: 1, bytesPerPixel: -1 })).toThrow('bytesPerPixel must be a non-negative number');
  });
});
