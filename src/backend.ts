/**
 * Backend selection: the one place that decides which TF.js backend runs the model.
 *
 * Order when nothing is asked for: `@tensorflow/tfjs-node-gpu` (CUDA), `@tensorflow/tfjs-node`
 * (libtensorflow on CPU), `@tensorflow/tfjs-backend-wasm` (XNNPACK), then the pure-JS `cpu`
 * backend. The two tfjs-node packages are optional peer dependencies: their install downloads
 * libtensorflow, which is not possible everywhere, so they are loaded with a guarded `require`
 * that survives both a missing package and a native addon that fails to load.
 */
import * as tf from '@tensorflow/tfjs';

/** Names accepted by {@link selectBackend} and by the `MASKRCNN_BACKEND` environment variable. */
export const BACKEND_NAMES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu', 'webgl'] as const;
/** One of {@link BACKEND_NAMES}. */
export type BackendRequest = (typeof BACKEND_NAMES)[number];

/** What {@link selectBackend} chose, and why. */
export interface BackendChoice {
  /** The tfjs backend name now active (`tensorflow`, `wasm`, `cpu`, `webgl`). */
  readonly backend: string;
  /** The request that was resolved (`auto` or an explicit name). */
  readonly requested: BackendRequest;
  /** The npm package that provides the backend. */
  readonly packageName: string;
  /** True when the tensorflow backend runs on a CUDA device. */
  readonly gpu: boolean;
  /** Candidates tried before this one, each with the reason it was passed over. */
  readonly skipped: ReadonlyArray<{ readonly candidate: string; readonly reason: string }>;
}

/** Options of {@link selectBackend}. */
export interface SelectBackendOptions {
  /** Overrides `MASKRCNN_BACKEND`; default `auto`. */
  backend?: BackendRequest | string;
  /** Print the choice on stderr (default false). */
  verbose?: boolean;
}

interface Candidate {
  readonly request: Exclude<BackendRequest, 'auto'>;
  readonly packageName: string;
  readonly backend: string;
  /** Loads the package; throws when it is absent or broken. */
  readonly load: () => void;
}

/** `require` that is not rewritten by bundlers and works for optional packages. */
function optionalRequire(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

const CANDIDATES: readonly Candidate[] = [
  {
    request: 'tensorflow-gpu',
    packageName: '@tensorflow/tfjs-node-gpu',
    backend: 'tensorflow',
    load: () => optionalRequire('@tensorflow/tfjs-node-gpu'),
  },
  {
    request: 'tensorflow',
    packageName: '@tensorflow/tfjs-node',
    backend: 'tensorflow',
    load: () => optionalRequire('@tensorflow/tfjs-node'),
  },
  {
    request: 'wasm',
    packageName: '@tensorflow/tfjs-backend-wasm',
    backend: 'wasm',
    load: () => optionalRequire('@tensorflow/tfjs-backend-wasm'),
  },
  { request: 'cpu', packageName: '@tensorflow/tfjs-backend-cpu', backend: 'cpu', load: () => undefined },
  {
    request: 'webgl',
    packageName: '@tensorflow/tfjs-backend-webgl',
    backend: 'webgl',
    load: () => optionalRequire('@tensorflow/tfjs-backend-webgl'),
  },
];

function parseRequest(value: string, source: string): BackendRequest {
  const v = value.trim().toLowerCase();
  const aliases: Record<string, BackendRequest> = { gpu: 'tensorflow-gpu', cuda: 'tensorflow-gpu', node: 'tensorflow' };
  const resolved = aliases[v] ?? v;
  if (!(BACKEND_NAMES as readonly string[]).includes(resolved)) {
    throw new Error(
      `Error in selectBackend: ${source} is '${value}', which is not a backend; ` +
        `valid values are ${BACKEND_NAMES.join(', ')}.`,
    );
  }
  return resolved as BackendRequest;
}

function isUsingGpu(): boolean {
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return b.isUsingGpuDevice === true;
}

async function tryCandidate(c: Candidate): Promise<string | undefined> {
  try {
    c.load();
  } catch (e) {
    return `${c.packageName} could not be loaded (${(e as Error).message.split('\n')[0]})`;
  }
  if (tf.findBackend(c.backend) === undefined && tf.engine().registryFactory[c.backend] === undefined) {
    return `${c.packageName} loaded but registered no '${c.backend}' backend`;
  }
  const ok = await tf.setBackend(c.backend);
  if (!ok) return `backend '${c.backend}' failed to initialise`;
  await tf.ready();
  if (c.request === 'tensorflow-gpu' && !isUsingGpu()) {
    return `${c.packageName} loaded but found no CUDA device`;
  }
  return undefined;
}

/**
 * Picks and activates the TF.js backend.
 *
 * The request comes from `options.backend`, else `process.env.MASKRCNN_BACKEND`, else `auto`.
 * An explicit request that cannot be satisfied is an error (never a silent fallback).
 *
 * @example
 * ```ts
 * const choice = await selectBackend();            // auto
 * console.log(choice.backend, choice.gpu);          // 'wasm' false
 * await selectBackend({ backend: 'cpu' });          // force the pure-JS backend
 * ```
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const fromEnv = typeof process !== 'undefined' ? process.env.MASKRCNN_BACKEND : undefined;
  const requested =
    options.backend !== undefined
      ? parseRequest(options.backend, 'option backend')
      : fromEnv !== undefined && fromEnv !== ''
        ? parseRequest(fromEnv, 'MASKRCNN_BACKEND')
        : 'auto';

  const pool =
    requested === 'auto'
      ? CANDIDATES.filter((c) => c.request !== 'webgl')
      : CANDIDATES.filter((c) => c.request === requested);
  const skipped: { candidate: string; reason: string }[] = [];
  for (const c of pool) {
    const reason = await tryCandidate(c);
    if (reason === undefined) {
      const choice: BackendChoice = {
        backend: tf.getBackend(),
        requested,
        packageName: c.packageName,
        gpu: isUsingGpu(),
        skipped,
      };
      if (options.verbose) process.stderr.write(`maskrcnn-tfjs: ${describeBackend(choice)}\n`);
      return choice;
    }
    skipped.push({ candidate: c.request, reason });
  }
  throw new Error(
    `Error in selectBackend: no usable backend for request '${requested}': ` +
      skipped.map((s) => `${s.candidate}: ${s.reason}`).join('; '),
  );
}

/** One line for logs: `backend wasm (@tensorflow/tfjs-backend-wasm), requested auto`. */
export function describeBackend(choice: BackendChoice): string {
  const gpu = choice.gpu ? ', CUDA device' : '';
  return `backend ${choice.backend} (${choice.packageName}${gpu}), requested ${choice.requested}`;
}
