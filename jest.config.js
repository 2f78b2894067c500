/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  // A hang detector, not a speed test: the slowest test (the 20-step training trajectory parity)
  // takes ~5 min on an idle 2-core machine and twice that with both cores busy. Tests carry no
  // tighter per-test limit; durations are measured by `npm run bench`, not asserted.
  testTimeout: 1_800_000,
  // tfjs kernels are single-threaded; two workers use the two cores of the CI machine.
  maxWorkers: 2,
};
