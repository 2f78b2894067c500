import * as fs from 'fs';
import * as path from 'path';
import '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../src/backend';
import { MaskRCNNModel } from '../../src/api/model';
import { MaskRCNN } from '../../src/model/mask_rcnn';
import { withoutInitialization } from '../../src/nn/torch_layer';
import { latestCheckpoint } from '../../src/train/checkpoint';
import { SHIPPED_MODEL_CONFIG } from '../../src/api/shipped_model';

async function main() {
  const b = await selectBackend({ backend: 'wasm' });
  const ck = (await latestCheckpoint('runs/demo-model/run'))!;
  console.log('checkpoint', ck.dir);
  const net = withoutInitialization(() => new MaskRCNN({ ...SHIPPED_MODEL_CONFIG, numClasses: 7, transform: { minSize: 144, maxSize: 192 } }));
  ck.applyWeights(net);
  const names = ['bg', 'circle', 'square', 'triangle', 'ellipse', 'star', 'hexagon'];
  const model = new MaskRCNNModel(net, names, b);
  const gt = JSON.parse(fs.readFileSync('runs/demo-model/val/instances.json', 'utf8'));
  for (const img of gt.images.slice(0, 6)) {
    const [p] = await model.predict(path.join('runs/demo-model/val/images', img.file_name), { scoreThreshold: 0.2 });
    const g = gt.annotations.filter((a: any) => a.image_id === img.id).map((a: any) => `${names[a.category_id]}[${a.bbox.map((v: number) => v.toFixed(0)).join(',')}]`);
    console.log(img.file_name, 'GT', g.join(' '));
    console.log('   DT', p.detections.map((d) => `${d.labelName} ${d.score.toFixed(2)} [${[d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]].map((v) => v.toFixed(0)).join(',')}]`).join(' '));
  }
}
main();
