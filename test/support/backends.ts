/**
 * Runs a block of tests on each named backend, as tfjs's describeWithFlags(ALL_ENVS) does.
 * The backend is switched in beforeAll, so tests inside use plain `tf.*` calls.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type TestBackend = 'cpu' | 'wasm';
export const ALL_TEST_BACKENDS: readonly TestBackend[] = ['cpu', 'wasm'];

export async function useBackend(name: TestBackend): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`test setup: backend ${name} failed to initialise`);
  await tf.ready();
}

export function describeEachBackend(
  title: string,
  body: (backend: TestBackend) => void,
  backends: readonly TestBackend[] = ALL_TEST_BACKENDS,
): void {
  for (const backend of backends) {
    describe(`${title} [${backend}]`, () => {
      beforeAll(async () => {
        await useBackend(backend);
      });
      body(backend);
    });
  }
}
