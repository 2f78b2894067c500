/*
 * Child process of the checkpoint kill test. Loads our TypeScript sources through a tiny
 * @swc/core require hook (jest's transform does not reach child processes), then:
 *   1. saves checkpoint step 1 of a seeded TinyNet (prints "saved <dir>"),
 *   2. starts checkpoint step 2 with an optimizer payload of PAYLOAD_MB megabytes,
 *      printing "progress <stage> <detail>" lines; at stage PAUSE_AT (if given) it stops and
 *      waits so that the parent can SIGKILL it at that exact point.
 * Usage: node checkpoint_writer_child.js <root> <payloadMb> [pauseAt]
 */
'use strict';
const fs = require('fs');
const swc = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const out = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    swcrc: false,
    configFile: false,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(out.code, filename);
};

const [root, payloadMb, pauseAt] = process.argv.slice(2);
const tf = require('@tensorflow/tfjs');
const { saveCheckpoint } = require('../../../src/train/checkpoint/index.ts');
const { seededTinyNet } = require('./tiny_model.ts');
const { Rng } = require('../../../src/util/random.ts');

async function main() {
  await tf.setBackend('cpu');
  const model = seededTinyNet(1);
  const rng = new Rng(5);
  const common = { model, modelConfig: { channels: 4 }, epoch: 0, trainConfig: { lr: 0.01 } };
  const first = await saveCheckpoint(root, {
    ...common,
    step: 1,
    rngState: rng.getState(),
    optimizerState: { scalars: { step: 1 }, arrays: new Map([['m', { shape: [3], data: new Float32Array([1, 2, 3]) }]]) },
  });
  process.stdout.write(`saved ${first}\n`);
  rng.float();
  const n = Math.round(Number(payloadMb) * 262144); // floats per MB
  const big = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) big[i] = i;
  await saveCheckpoint(root, {
    ...common,
    step: 2,
    rngState: rng.getState(),
    optimizerState: { scalars: { step: 2 }, arrays: new Map([['big', { shape: [n], data: big }]]) },
  }, {
    onProgress: async (event) => {
      const detail = event.stage === 'started' ? event.tempDir : event.stage === 'file-written' ? event.file : event.dir;
      process.stdout.write(`progress ${event.stage} ${detail}\n`);
      if (pauseAt !== undefined && (event.stage === pauseAt || (event.stage === 'file-written' && event.file === pauseAt))) {
        process.stdout.write('paused\n');
        await new Promise((resolve) => setTimeout(resolve, 120000));
      }
    },
  });
  process.stdout.write('finished\n');
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
