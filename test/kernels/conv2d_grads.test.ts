/**
 * Conv2DBackpropFilter / Conv2DBackpropInput on wasm (our kernels) against the cpu backend, on
 * the geometries Mask R-CNN trains with: 1x1 (stride 1 and 2), 3x3 pad 1 (stride 1 and 2),
 * the 7x7 stride-2 pad-3 stem, 'same' / 'valid', and the mask head's 2x2 stride-2 transposed conv.
 */
import * as tf from '@tensorflow/tfjs';
import { isWasmTrainingKernelRegistered, registerWasmTrainingKernels } from '../../src/kernels/register';
import { conv2dBackpropFilterWith, FilterGradMethod } from '../../src/kernels/wasm/conv2d_backprop_filter';
import { useBackend } from '../support/backends';
import { backendDataIds, Figures, REL_TOL, seededTensor, wasmVsCpu } from './compare';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  name: string;
  x: [number, number, number, number];
  k: number;
  cout: number;
  stride: number;
  pad: Pad;
}

const p = (n: number): Pad => [
  [0, 0],
  [n, n],
  [n, n],
  [0, 0],
];

const CASES: ConvCase[] = [
  { name: '1x1 s1', x: [1, 9, 11, 16], k: 1, cout: 24, stride: 1, pad: 'valid' },
  { name: '1x1 s2 (downsample)', x: [1, 10, 13, 16], k: 1, cout: 24, stride: 2, pad: p(0) },
  { name: '1x1 s1 batch 2', x: [2, 6, 7, 12], k: 1, cout: 8, stride: 1, pad: p(0) },
  { name: '3x3 s1 pad 1', x: [1, 12, 16, 24], k: 3, cout: 24, stride: 1, pad: p(1) },
  { name: '3x3 s1 pad 1 batch 2', x: [2, 9, 10, 8], k: 3, cout: 12, stride: 1, pad: p(1) },
  { name: '3x3 s2 pad 1', x: [1, 11, 14, 8], k: 3, cout: 12, stride: 2, pad: p(1) },
  { name: '3x3 s2 same', x: [1, 10, 12, 6], k: 3, cout: 10, stride: 2, pad: 'same' },
  { name: '3x3 s2 valid (crop)', x: [1, 10, 12, 6], k: 3, cout: 10, stride: 2, pad: 'valid' },
  { name: '3x3 s1 valid', x: [1, 8, 9, 5], k: 3, cout: 7, stride: 1, pad: 'valid' },
  { name: '7x7 s2 pad 3 (stem)', x: [1, 20, 23, 3], k: 7, cout: 8, stride: 2, pad: p(3) },
  { name: '2x2 s2 valid', x: [2, 8, 10, 6], k: 2, cout: 5, stride: 2, pad: 'valid' },
  { name: '3x3 s3 same, odd sizes', x: [1, 11, 13, 4], k: 3, cout: 6, stride: 3, pad: 'same' },
  { name: '2x2 s3 valid (a phase without taps)', x: [1, 9, 10, 4], k: 2, cout: 3, stride: 3, pad: 'valid' },
  { name: '5x5 s2 pad 2', x: [1, 13, 12, 5], k: 5, cout: 6, stride: 2, pad: p(2) },
];

const figures = new Figures('conv2d gradient kernels, wasm vs cpu');

beforeAll(async () => {
  registerWasmTrainingKernels();
  await useBackend('wasm');
});
afterAll(() => figures.print());

test('our kernels are the registered ones', () => {
  expect(isWasmTrainingKernelRegistered('Conv2DBackpropFilter')).toBe(true);
  expect(isWasmTrainingKernelRegistered('Conv2DBackpropInput')).toBe(true);
});

describe('Conv2DBackpropFilter kernel', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const filterShape = [c.k, c.k, c.x[3], c.cout];
      const errors = await wasmVsCpu(() => {
        const x = seededTensor(c.x, 1);
        const w = seededTensor(filterShape, 2);
        const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
        const dy = seededTensor(y.shape, 3);
        return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
          strides: [c.stride, c.stride],
          pad: c.pad,
          dataFormat: 'NHWC',
          filterShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
      });
      figures.add(`filter ${c.name}`, errors);
      expect(errors[0]).toBeLessThan(REL_TOL);
    });
  }

  for (const method of ['taps', 'dilated-conv'] as FilterGradMethod[]) {
    for (const c of CASES.filter((k) => k.k > 1)) {
      test(`method ${method}: ${c.name}`, async () => {
        const filterShape = [c.k, c.k, c.x[3], c.cout];
        const errors = await wasmVsCpu(() => {
          const x = seededTensor(c.x, 22);
          const w = seededTensor(filterShape, 23);
          const dy = seededTensor(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad).shape, 24);
          const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap;
          if (tf.getBackend() === 'cpu') return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
          const info = conv2dBackpropFilterWith({ inputs: { x, dy }, backend: tf.backend(), attrs }, method);
          // A fresh kernel output has one reference, which the new tensor takes over.
          return tf.engine().makeTensorFromTensorInfo(info);
        });
        figures.add(`filter (${method}) ${c.name}`, errors);
        expect(errors[0]).toBeLessThan(REL_TOL);
      });
    }
  }

  test('NCHW input and dy', async () => {
    const filterShape = [3, 3, 6, 5];
    const errors = await wasmVsCpu(() => {
      const x = seededTensor([1, 6, 9, 8], 4); // [B, C, H, W]
      const dy = seededTensor([1, 5, 5, 4], 5); // stride 2, pad 1 -> [B, Co, 5, 4]
      return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: [2, 2],
        pad: 1,
        dataFormat: 'NCHW',
        filterShape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor;
    });
    figures.add('filter NCHW 3x3 s2', errors);
    expect(errors[0]).toBeLessThan(REL_TOL);
  });

  test('rejects a dy that does not match the conv output', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 8, 8, 3]);
    const dy = tf.zeros([1, 7, 8, 4]);
    expect(() =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: [1, 1],
        pad: 'same',
        dataFormat: 'NHWC',
        filterShape: [3, 3, 3, 4],
      } as unknown as tf.NamedAttrMap),
    ).toThrow(/Conv2DBackpropFilter: dy has shape \[1,7,8,4\]/);
    tf.dispose([x, dy]);
  });
});

describe('Conv2DBackpropInput kernel', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const filterShape = [c.k, c.k, c.x[3], c.cout];
      const errors = await wasmVsCpu(() => {
        const w = seededTensor(filterShape, 6);
        const y = tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
        const dy = seededTensor(y.shape, 7);
        return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, {
          strides: [c.stride, c.stride],
          pad: c.pad,
          dataFormat: 'NHWC',
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
      });
      figures.add(`input ${c.name}`, errors);
      expect(errors[0]).toBeLessThan(REL_TOL);
    });
  }
});

describe('gradients through tf.grads on wasm', () => {
  for (const c of CASES.filter((k) => ['1x1 s2 (downsample)', '3x3 s1 pad 1 batch 2', '3x3 s2 pad 1', '7x7 s2 pad 3 (stem)'].includes(k.name))) {
    test(`conv2d ${c.name}: dx and dW`, async () => {
      const errors = await wasmVsCpu(() => {
        const x = seededTensor(c.x, 8) as tf.Tensor4D;
        const w = seededTensor([c.k, c.k, c.x[3], c.cout], 9) as tf.Tensor4D;
        const f = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor => {
          const y = tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.stride, c.pad);
          // A non-uniform upstream gradient: sum(y * m).
          return tf.sum(tf.mul(y, seededTensor(y.shape, 10)));
        };
        return tf.grads(f)([x, w]);
      });
      figures.add(`grad conv2d ${c.name} (dx, dW)`, errors);
      expect(Math.max(...errors)).toBeLessThan(REL_TOL);
    });
  }

  test('fused conv2d + bias + relu (the backbone layer): dx, dW, db', async () => {
    const errors = await wasmVsCpu(() => {
      const x = seededTensor([1, 12, 10, 8], 11) as tf.Tensor4D;
      const w = seededTensor([3, 3, 8, 16], 12) as tf.Tensor4D;
      const b = seededTensor([16], 13) as tf.Tensor1D;
      const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
        const y = tf.fused.conv2d({
          x: xx as tf.Tensor4D,
          filter: ww as tf.Tensor4D,
          strides: 1,
          pad: p(1),
          bias: bb,
          activation: 'relu',
        });
        return tf.sum(tf.mul(y, seededTensor(y.shape, 14)));
      };
      return tf.grads(f)([x, w, b]);
    });
    figures.add('grad fused conv2d+bias+relu (dx, dW, db)', errors);
    expect(Math.max(...errors)).toBeLessThan(REL_TOL);
  });

  test('conv2dTranspose 2x2 stride 2 (mask predictor): dx and dW', async () => {
    const errors = await wasmVsCpu(() => {
      const x = seededTensor([3, 7, 7, 16], 15) as tf.Tensor4D; // 3 RoIs, 7x7, 16 channels
      const w = seededTensor([2, 2, 8, 16], 16) as tf.Tensor4D; // [FH, FW, out, in]
      const f = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor => {
        const y = tf.conv2dTranspose(xx as tf.Tensor4D, ww as tf.Tensor4D, [3, 14, 14, 8], 2, 'valid');
        return tf.sum(tf.mul(y, seededTensor(y.shape, 17)));
      };
      const [dx, dw] = tf.grads(f)([x, w]);
      const y = tf.conv2dTranspose(x, w, [3, 14, 14, 8], 2, 'valid');
      return [y, dx, dw];
    });
    figures.add('conv2dTranspose 2x2 s2 (y, dx, dW)', errors);
    expect(Math.max(...errors)).toBeLessThan(REL_TOL);
  });

  test('no tensors or wasm buffers leak around forward + backward', async () => {
    await useBackend('wasm');
    const x = seededTensor([1, 10, 12, 8], 18) as tf.Tensor4D;
    const w1 = tf.variable(seededTensor([3, 3, 8, 8], 19) as tf.Tensor4D);
    const w2 = tf.variable(seededTensor([1, 1, 8, 4], 20) as tf.Tensor4D);
    const wt = tf.variable(seededTensor([2, 2, 4, 4], 21) as tf.Tensor4D);
    const loss = (): tf.Scalar => {
      const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 2, p(1)));
      const g = tf.conv2d(h, w2 as tf.Tensor4D, 1, 'valid');
      const up = tf.conv2dTranspose(g, wt as tf.Tensor4D, [1, 10, 12, 4], 2, 'valid');
      return tf.mean(tf.square(up));
    };
    // Warm up once (first calls may allocate caches), then measure.
    tf.dispose(tf.variableGrads(loss));
    const tensorsBefore = tf.memory().numTensors;
    const buffersBefore = backendDataIds();
    for (let i = 0; i < 2; i++) {
      const { value, grads } = tf.variableGrads(loss);
      expect(Object.keys(grads)).toHaveLength(3);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(backendDataIds()).toBe(buffersBefore);
    tf.dispose([x, w1, w2, wt]);
  });
});
