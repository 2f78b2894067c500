import * as tf from '@tensorflow/tfjs';
import { selectBackend, describeBackend } from '../src/backend';

describe('selectBackend', () => {
  const saved = process.env.MASKRCNN_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.MASKRCNN_BACKEND;
    else process.env.MASKRCNN_BACKEND = saved;
  });

  const installed = (name: string) => {
    try {
      require.resolve(name);
      return true;
    } catch {
      return false;
    }
  };
  const nodeBackends = installed('@tensorflow/tfjs-node-gpu') || installed('@tensorflow/tfjs-node');

  it('auto takes tfjs-node when installed, else falls back past it to wasm and reports why', async () => {
    delete process.env.MASKRCNN_BACKEND;
    const choice = await selectBackend();
    if (nodeBackends) {
      expect(choice.backend).toBe('tensorflow');
      return;
    }
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.requested).toBe('auto');
    expect(choice.skipped.map((s) => s.candidate)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(choice.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu could not be loaded/);
    expect(describeBackend(choice)).toBe('backend wasm (@tensorflow/tfjs-backend-wasm), requested auto');
  });

  it('honours MASKRCNN_BACKEND and lets the option override it', async () => {
    process.env.MASKRCNN_BACKEND = 'cpu';
    expect((await selectBackend()).backend).toBe('cpu');
    expect((await selectBackend({ backend: 'wasm' })).backend).toBe('wasm');
  });

  it('rejects unknown names with the list of valid ones', async () => {
    await expect(selectBackend({ backend: 'tpu' })).rejects.toThrow(
      "option backend is 'tpu', which is not a backend; valid values are auto, tensorflow-gpu, tensorflow, wasm, cpu, webgl",
    );
    process.env.MASKRCNN_BACKEND = 'metal';
    await expect(selectBackend()).rejects.toThrow(/MASKRCNN_BACKEND is 'metal'/);
  });

  it('an explicit request that cannot be met is an error, not a silent fallback', async () => {
    await expect(selectBackend({ backend: 'cuda' })).rejects.toThrow(
      /no usable backend for request 'tensorflow-gpu': tensorflow-gpu: @tensorflow\/tfjs-node-gpu could not be loaded/,
    );
  });
});
