/**
 * `maskrcnn convert` against torchvision, on the parity fixtures' checkpoints: a torchvision
 * `.pth` -> our model folder -> `.pth` gives back every key, dtype, shape and byte; and the `.pth`
 * we write, checked in torchvision by tools/parity/check_converted.py, loads with
 * `load_state_dict(strict=True)` (FrozenBatchNorm2d and BatchNorm2d builds), equals what
 * torch.save writes for the same state dict, and gives the detections recorded with the fixtures.
 * The ResNet-50 fixtures come from maskrcnn_resnet50_fpn(weights=None), whose BatchNorm2d has
 * num_batches_tracked counters, so that round trip writes them (as 0, their value there).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/cli/convert_command';
import { readTorchStateDictSync, type StateDict } from '../../src/io/torch_checkpoint';
import { REPO_ROOT } from '../support/child_process';
import { describeParity, INFERENCE_VARIANTS } from '../support/parity_fixtures';

const PYTHON = process.env.MASKRCNN_PYTHON ?? '/usr/bin/python3';
const CHECK = path.join(REPO_ROOT, 'tools', 'parity', 'check_converted.py');
const READ = { maxTotalBytes: 2 ** 31 };

interface ImageVerdict {
  name: string;
  detections: number;
  recorded_detections: number;
  labels_equal?: boolean;
  max_abs_diff?: { boxes: number; scores: number; masks: number };
}
interface Verdict {
  keys: number;
  num_batches_tracked: number;
  strict_load: Record<'frozen' | 'batchnorm', { ok: boolean; error?: string }>;
  same_tensors_as_original: boolean;
  equal_to_torch_save: boolean;
  images: ImageVerdict[];
  same_detections: boolean;
}

/** torchvision in the Python the fixtures were made with; its absence skips (fails in CI). */
function torchvisionAvailable(): boolean {
  const ok = spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status === 0;
  if (!ok && process.env.MASKRCNN_REQUIRE_FIXTURES === '1') {
    throw new Error(`${PYTHON} cannot import torchvision, and MASKRCNN_REQUIRE_FIXTURES=1`);
  }
  if (!ok) console.warn(`Skipping the torchvision check of converted files: ${PYTHON} cannot import torchvision.`);
  return ok;
}

function expectSameTensors(original: StateDict, written: StateDict): void {
  expect([...written.keys()]).toEqual([...original.keys()]);
  for (const [k, t] of original) {
    const u = written.get(k)!;
    const same = u.dtype === t.dtype && JSON.stringify(u.shape) === JSON.stringify(t.shape) &&
      Buffer.from(u.data.buffer, u.data.byteOffset, u.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    expect({ k, same }).toEqual({ k, same: true });
  }
}

for (const [variant, source] of INFERENCE_VARIANTS) describeParity(`maskrcnn convert round trip with torchvision, ${variant} [wasm]`, (fx) => {
  let dir: string;
  let written: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-convert-parity-'));
    // The fixture's name: torch 1.13 names the archive after the file, and the check compares
    // our bytes with torch.save's for a file of the same name.
    written = path.join(dir, 'maskrcnn_seeded.pth');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('torchvision .pth -> model folder -> .pth gives back every key, dtype, shape and byte', async () => {
    const original = readTorchStateDictSync(fx.checkpointPath, READ);
    const counters = [...original.keys()].some((k) => k.endsWith('num_batches_tracked'));
    const log = (line: string) => console.log(`convert [${variant}]: ${line}`);
    const native = path.join(dir, 'native');
    // No --config: the architecture is read off the checkpoint.
    await runConvert({ input: fx.checkpointPath, output: native, backend: 'wasm' }, log);
    await runConvert({ input: native, output: written, backend: 'wasm', numBatchesTracked: counters }, log);
    expectSameTensors(original, readTorchStateDictSync(written, READ));
  });

  it('the written .pth loads strictly into torchvision, is what torch.save writes, and gives the recorded detections', () => {
    if (!torchvisionAvailable()) return;
    expect(fs.existsSync(written)).toBe(true);
    const run = spawnSync(PYTHON, [CHECK, '--checkpoint', written, '--fixtures', fx.dir], { encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 });
    if (run.status !== 0) throw new Error(`check_converted.py failed (${run.status ?? run.signal}): ${run.stderr}`);
    const verdict = JSON.parse(run.stdout.trim().split('\n').pop()!) as Verdict;
    for (const r of verdict.images) {
      console.log(
        `convert [${variant}] torchvision on ${r.name}: ${r.detections} detections (${r.recorded_detections} recorded), ` +
          `labels ${r.labels_equal ? 'equal' : 'differ'}, max |diff| ${JSON.stringify(r.max_abs_diff)}`,
      );
    }
    expect(verdict.strict_load).toEqual({ frozen: { ok: true }, batchnorm: { ok: true } });
    expect(verdict.same_tensors_as_original).toBe(true);
    expect(verdict.equal_to_torch_save).toBe(true);
    expect(verdict.images.map((r) => r.name)).toEqual(fx.meta.images);
    expect(verdict.same_detections).toBe(true);
  });
}, source);
