/**
 * Writes a float32 state dict the way `torch.save(model.state_dict())` does (zip format, pickle
 * protocol 2, one storage record per tensor, 64-byte aligned), so tests can make real `.pth`
 * files of any model without Python. Only what the reader needs: contiguous float32 tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { TorchLayer, toTorchLayout } from '../../../src/nn/torch_layer';
import { writeZip } from './zip_writer';

/** One tensor in PyTorch layout, row-major. */
export interface TorchFloatTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const enc = new TextEncoder();

/** Pickle opcodes, appended one by one. */
class Pickle {
  readonly bytes: number[] = [0x80, 2]; // PROTO 2
  op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  str(s: string): this {
    const u = enc.encode(s);
    return this.op(0x58, ...u32(u.length), ...u); // BINUNICODE
  }
  int(n: number): this {
    return this.op(0x4a, ...u32(n)); // BININT
  }
  ints(v: readonly number[]): this {
    this.op(0x28); // MARK
    for (const x of v) this.int(x);
    return this.op(0x74); // TUPLE
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...enc.encode(`${module}\n${name}\n`)); // GLOBAL
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** The bytes of a `.pth` holding `tensors` (an OrderedDict of float32 tensors, as torch.save writes it). */
export function torchSave(tensors: ReadonlyMap<string, TorchFloatTensor>): Uint8Array {
  const p = new Pickle().global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict()
  p.op(0x28); // MARK
  const records: Array<[string, Uint8Array]> = [];
  for (const [name, t] of tensors) {
    const key = String(records.length);
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(0x28); // MARK (args)
    p.op(0x28).str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(t.data.length);
    p.op(0x74, 0x51); // TUPLE BINPERSID
    p.int(0).ints(t.shape).ints(contiguousStrides(t.shape)).op(0x89); // offset, size, stride, requires_grad False
    p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward hooks: OrderedDict()
    p.op(0x74, 0x52); // TUPLE REDUCE
    records.push([`archive/data/${key}`, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
  }
  p.op(0x75, 0x2e); // SETITEMS STOP
  return writeZip([['archive/data.pkl', Uint8Array.from(p.bytes)], ...records, ['archive/version', enc.encode('3\n')]], { align: 64 });
}

/** A layer's weights in PyTorch layout under torchvision's keys, ready for {@link torchSave}. */
export function torchStateDict(layer: TorchLayer): Map<string, TorchFloatTensor> {
  const out = new Map<string, TorchFloatTensor>();
  for (const [key, param] of layer.stateDict()) {
    const t = toTorchLayout(param.variable.read(), param.layout);
    out.set(key, { shape: t.shape, data: t.dataSync() as Float32Array });
    tf.dispose(t);
  }
  return out;
}
