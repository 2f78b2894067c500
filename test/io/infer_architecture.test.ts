/**
 * The configuration read off a state dict's shapes: torchvision's own key lists
 * (test/fixtures/torchvision) and, for every depth, the shapes of the model a configuration builds.
 */
import * as fs from 'fs';
import * as path from 'path';
import { inferArchitecture } from '../../src/io/infer_architecture';
import { MaskRCNN, MaskRCNNConfig } from '../../src/model/mask_rcnn';
import { torchShape, withoutInitialization } from '../../src/nn/torch_layer';
import { useBackend } from '../support/backends';

const TORCHVISION = path.join(__dirname, '..', 'fixtures', 'torchvision');

function keysFile(name: string, prefix = ''): Map<string, number[]> {
  const keys = JSON.parse(fs.readFileSync(path.join(TORCHVISION, name), 'utf8')) as Record<string, number[]>;
  return new Map(Object.entries(keys).map(([k, s]) => [prefix + k, s]));
}

describe('inferArchitecture', () => {
  beforeAll(() => useBackend('cpu'));

  it("reads torchvision's maskrcnn_resnet50_fpn and a ResNet-101 backbone", () => {
    expect(inferArchitecture(keysFile('maskrcnn_resnet50_fpn.keys.json'))).toEqual({
      numClasses: 91, depth: 50, fpnChannels: 256, representationSize: 1024, maskLayers: [256, 256, 256, 256], maskDimReduced: 256,
    });
    expect(inferArchitecture(keysFile('resnet101_fpn_backbone.keys.json', 'backbone.'))).toEqual({ depth: 101, fpnChannels: 256 });
    expect(inferArchitecture(new Map())).toEqual({});
  });

  it.each<MaskRCNNConfig>([
    { depth: 18, fpnChannels: 64, representationSize: 256, maskLayers: [64, 64, 64, 64], maskDimReduced: 64, numClasses: 7 },
    { depth: 34, fpnChannels: 32, representationSize: 48, maskLayers: [16, 24], maskDimReduced: 8, numClasses: 2 },
    { depth: 101, fpnChannels: 8, representationSize: 16, maskLayers: [8], maskDimReduced: 4, numClasses: 3 },
  ])('gives back the configuration that built the model: depth $depth', (config) => {
    const network = withoutInitialization(() => new MaskRCNN(config));
    try {
      const shapes = new Map([...network.stateDict()].map(([k, p]) => [k, torchShape(p.variable.shape as number[], p.layout)]));
      expect(inferArchitecture(shapes)).toEqual(config);
    } finally {
      network.dispose();
    }
  });

  it('refuses ResNet stages of no supported depth, naming the checkpoint', () => {
    const shapes = keysFile('maskrcnn_resnet50_fpn.keys.json');
    for (const k of [...shapes.keys()]) if (k.startsWith('backbone.body.layer3.5.')) shapes.delete(k);
    expect(() => inferArchitecture(shapes, 'odd.pth')).toThrow(
      'odd.pth: backbone.body has [3, 4, 5, 3] bottleneck blocks per stage, which is no supported ResNet (18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3])',
    );
  });
});
