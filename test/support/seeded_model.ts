/**
 * Test and benchmark helpers for runs that need a whole Mask R-CNN fast: seeded weights in about a
 * second instead of tfjs's initialisers (tens of seconds for ResNet-50), and the size of a run
 * folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { MaskRCNN, type MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { Rng } from '../../src/util/random';

/**
 * A MaskRCNN of `config` with uniform weights of bound sqrt(3 / fan-in) (conv [kh, kw, in, out],
 * linear [in, out]) drawn from `Rng(seed)`, norm weights and running variances 1, other vectors 0;
 * same seed, same model.
 */
export function seededMaskRCNN(config: MaskRCNNConfig, seed: number): MaskRCNN {
  const model = withoutInitialization(() => new MaskRCNN(config));
  const rng = new Rng(seed);
  for (const [key, p] of model.stateDict()) {
    const shape = p.variable.read().shape;
    const size = shape.reduce((a, b) => a * b, 1);
    const bound = shape.length === 1 ? 0 : Math.sqrt(3 / shape.slice(0, -1).reduce((x, y) => x * y, 1));
    const fill = shape.length === 1 && (key.endsWith('.weight') || key.endsWith('running_var')) ? 1 : 0;
    const t = tf.tensor(Float32Array.from({ length: size }, () => (bound > 0 ? rng.uniform(-bound, bound) : fill)), shape);
    p.variable.write(t);
    t.dispose();
  }
  return model;
}

/** Bytes under `dir`: on disk (one count per file, hard links once, as du counts) and summed over every path. */
export function folderSizes(dir: string): { disk: number; paths: number } {
  const seen = new Set<string>();
  let disk = 0;
  let paths = 0;
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.statSync(p);
        paths += st.size;
        const id = `${st.dev}:${st.ino}`;
        if (!seen.has(id)) disk += st.size;
        seen.add(id);
      }
    }
  };
  walk(dir);
  return { disk, paths };
}
