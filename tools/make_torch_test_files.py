#!/usr/bin/python3
"""Writes the small torch.save checkpoints that test/io reads, with their expected values.

Run with the Debian python (torch 1.13):  /usr/bin/python3 tools/make_torch_test_files.py

Output: test/fixtures/torch/*.pth and expected.json. For every tensor the JSON holds dtype, shape,
requires_grad, is_parameter, the contiguous little-endian bytes as hex ("hex") and the values
converted to float32 by torch (`t.float()`) as hex ("float32_hex"), so tests compare bit for bit
(NaN, -0 and subnormals included). The malicious files are written but never loaded here.
"""
import collections
import json
import os
import pickle
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')
# What the malicious pickle would create if it were ever executed.
PAYLOAD_FILE = '/tmp/maskrcnn_tfjs_torch_payload_ran'


def path(name):
    return os.path.join(OUT, name)


def describe(t):
    c = t.detach().contiguous()
    raw = c.view(torch.uint8) if c.dim() > 0 else c.reshape(1).view(torch.uint8)
    return {
        'dtype': str(t.dtype).replace('torch.', ''),
        'shape': list(t.shape),
        'requires_grad': t.requires_grad,
        'is_parameter': isinstance(t, torch.nn.Parameter),
        'hex': bytes(raw.numpy().tobytes()).hex(),
        'float32_hex': c.float().numpy().tobytes().hex(),
    }


def plain_state_dict():
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    sd['conv.weight'] = torch.randn(4, 3, 3, 3, generator=g)
    sd['linear.weight'] = torch.randn(5, 7, generator=g)
    sd['linear.bias'] = torch.randn(5, generator=g)
    sd['bn.num_batches_tracked'] = torch.tensor(123456, dtype=torch.int64)
    sd['half'] = torch.tensor(
        [[1.5, -0.0, 65504.0, 6e-8], [float('inf'), float('-inf'), float('nan'), 0.1]],
        dtype=torch.float16)
    sd['bfloat'] = torch.tensor([1.0, -3.140625, 1e30, float('nan')], dtype=torch.bfloat16)
    sd['double'] = torch.tensor([[0.1, -2.5e-300, 1e300], [3.0, -0.0, 7.25]], dtype=torch.float64)
    sd['int64_big'] = torch.tensor([-(2 ** 62) - 1, 2 ** 40, -1, 0], dtype=torch.int64)
    sd['int32'] = torch.tensor([-7, 2 ** 31 - 1], dtype=torch.int32)
    sd['int16'] = torch.tensor([-300, 300], dtype=torch.int16)
    sd['int8'] = torch.tensor([-128, 127], dtype=torch.int8)
    sd['uint8'] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    sd['bool'] = torch.tensor([[True, False], [False, True]])
    sd['empty'] = torch.zeros(0, 3)
    # A transposed (non-contiguous) view, saved as such: stride (1, 5) over a [5, 3] storage.
    sd['transposed'] = torch.arange(15, dtype=torch.float32).reshape(3, 5).t()
    # Two tensors on one storage: the second starts at storage offset 3.
    base = torch.arange(10, dtype=torch.float32) * 0.5
    sd['shared.base'] = base
    sd['shared.view'] = base[3:9].view(2, 3)
    # A strided slice of a 3-D tensor (offset, every other row, a broadcast inner stride).
    cube = torch.arange(60, dtype=torch.float64).reshape(3, 4, 5)
    sd['sliced'] = cube[1:, ::2, 1:4]
    sd['expanded'] = torch.tensor([[2.0], [3.0]]).expand(2, 4)
    sd['param'] = torch.nn.Parameter(torch.tensor([0.25, -4.0]))
    sd['param_frozen'] = torch.nn.Parameter(torch.tensor([1.0]), requires_grad=False)
    return sd


def module_state_dict():
    torch.manual_seed(1)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2)),
    )
    m[1].num_batches_tracked.fill_(7)
    return m.state_dict()


def saved_by_torch():
    """What our writer (src/io/torch_writer.ts) must reproduce byte for byte: torch.save of a
    plain OrderedDict (no _metadata) of contiguous, non-parameter tensors, the way a state dict
    copied into an OrderedDict is saved. It covers every dtype, scalars, empty tensors (whose
    strides torch computes with size 0 counted as 1), sizes pickled as BININT2 and LONG1, a
    requires_grad tensor, a non-ASCII key, over 256 memo entries (LONG_BINPUT, LONG_BINGET of a
    storage class first seen late) and over 10 storages (records sorted as strings)."""
    g = torch.Generator().manual_seed(3)
    sd = collections.OrderedDict()
    for i in range(12):
        shape = [(2, 3, 3, 3), (4, 5), (7,), ()][i % 4]
        sd[f'layer{i}.weight'] = torch.randn(shape, generator=g)
    sd['double'] = torch.tensor([[0.5, -2.0]], dtype=torch.float64)
    sd['half'] = torch.tensor([1.5, -0.0, 65504.0], dtype=torch.float16)
    sd['bfloat'] = torch.tensor([1.0, -3.140625], dtype=torch.bfloat16)
    sd['bn.num_batches_tracked'] = torch.tensor(123456, dtype=torch.int64)
    sd['int32'] = torch.tensor([-7, 2 ** 31 - 1], dtype=torch.int32)
    sd['int16'] = torch.tensor([-300, 300], dtype=torch.int16)
    sd['int8'] = torch.tensor([-128, 127], dtype=torch.int8)
    sd['bool'] = torch.tensor([[True, False], [False, True]])
    sd['empty_rows'] = torch.zeros(0, 3)
    sd['empty_cols'] = torch.zeros(3, 0)
    sd['empty_huge'] = torch.zeros(2 ** 31, 0)
    sd['ones_3x1x1'] = torch.ones(3, 1, 1)
    sd['wide'] = torch.arange(300 * 2, dtype=torch.float32).reshape(2, 300)
    sd['bytes'] = (torch.arange(65537) % 251).to(torch.uint8)
    sd['grad'] = torch.ones(2, requires_grad=True)
    sd['h\u00e4ufig.gewicht'] = torch.tensor([2.0])
    for i in range(12):
        sd[f'late{i}.int8'] = torch.tensor([i, -i], dtype=torch.int8)
    return sd


def write_malicious(name, protocol):
    class Payload:
        def __reduce__(self):
            return (os.system, ('touch ' + PAYLOAD_FILE,))

    torch.save({'weight': torch.ones(2), 'evil': Payload()}, path(name), pickle_protocol=protocol)


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {'payload_file': PAYLOAD_FILE}

    sd = plain_state_dict()
    torch.save(sd, path('state_dict.pth'))
    expected['state_dict.pth'] = {k: describe(v) for k, v in sd.items()}

    # The same at pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL-free torch).
    torch.save(sd, path('state_dict_protocol4.pth'), pickle_protocol=4)

    msd = module_state_dict()
    torch.save(msd, path('module_state_dict.pth'))
    expected['module_state_dict.pth'] = {k: describe(v) for k, v in msd.items()}

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    ckpt = {'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': 3,
            'best_map': 0.375, 'note': 'unit test', 'blob': b'\x00\xffab'}
    torch.save(ckpt, path('training_checkpoint.pth'))
    expected['training_checkpoint.pth'] = {k: describe(v) for k, v in model.state_dict().items()}
    torch.save({'state_dict': model.state_dict(), 'arch': 'linear'}, path('state_dict_key.pth'))
    torch.save({'ema': model.state_dict(), 'epoch': 9, 'steps': [1, 2]}, path('custom_key.pth'))

    torch.save(saved_by_torch(), path('saved_by_torch.pth'))

    write_malicious('malicious.pth', 2)
    write_malicious('malicious_protocol4.pth', 4)

    with open(path('state_dict.pth'), 'rb') as f:
        whole = f.read()
    with open(path('truncated.pth'), 'wb') as f:
        f.write(whole[: len(whole) // 2])

    # The legacy format keys storages by id(), so this file differs on every run (only its
    # first bytes, the pickled magic number, matter to the tests).
    torch.save(sd, path('legacy.pth'), _use_new_zipfile_serialization=False)

    # A bare pickle (pickle.dump, not torch.save) is also refused before unpickling.
    with open(path('bare_pickle.pth'), 'wb') as f:
        pickle.dump({'a': 1}, f, protocol=2)

    # Plain pickles of every value kind the unpickler maps (tests hold the expected values).
    shared = [1, 2]
    values = {
        'none': None, 'true': True, 'false': False, 'int1': 255, 'int2': 65535,
        'int4': -2 ** 31, 'long_small': 2 ** 40, 'long_neg': -(2 ** 63), 'long_big': 2 ** 70,
        'float': 0.1, 'neg_zero': -0.0, 'str': 'h\u00e9llo \u2713', 'empty_str': '',
        'nested': [1, [2, [3, (4, 'x')]]], 'tuple0': (), 'tuple1': (1,), 'tuple2': (1, 2),
        'tuple3': (1, 2, 3), 'tuple5': (1, 2, 3, 4, 5), 'shared_a': shared, 'shared_b': shared,
        'int_keys': {1: 'one', -2: 'minus two'}, 'many': list(range(300)),
    }
    for protocol in (2, 4):
        with open(path(f'values_protocol{protocol}.pkl'), 'wb') as f:
            pickle.dump(values, f, protocol=protocol)

    with open(path('expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=False)
        f.write('\n')

    # Sanity: every zip record is stored, and the fixtures stay small.
    for name in sorted(os.listdir(OUT)):
        if name.endswith('.pth') and name not in ('truncated.pth', 'legacy.pth', 'bare_pickle.pth'):
            with zipfile.ZipFile(path(name)) as z:
                assert all(i.compress_type == 0 for i in z.infolist()), name
    total = sum(os.path.getsize(path(n)) for n in os.listdir(OUT))
    print(f'wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}')


if __name__ == '__main__':
    main()
