/**
 * Reading PyTorch checkpoints (`torch.save`, zip format) without executing them, and writing
 * state dicts as `torch.save` does.
 *
 * @example
 * ```ts
 * import { readTorchStateDict, toFloat32 } from './io';
 * const sd = await readTorchStateDict('maskrcnn_resnet50_fpn.pth');
 * const w = toFloat32(sd.get('backbone.body.conv1.weight')!); // [64, 3, 7, 7]
 * ```
 */
export {
  type ReadTorchOptions,
  type StateDict,
  type TorchCheckpoint,
  type TorchDType,
  type TorchStorageRef,
  type TorchTensorArray,
  type TorchTensorData,
  type TorchTensorRef,
  DEFAULT_MAX_TOTAL_BYTES,
  STATE_DICT_KEYS,
  isTorchTensorRef,
  openTorchCheckpoint,
  readTorchShapes,
  readTorchStateDict,
  readTorchStateDictSync,
  toFloat32,
  toInt32,
} from './torch_checkpoint';
export {
  type AllowedGlobal,
  type PickleExtension,
  type PickleGlobal,
  type PickleValue,
  type UnpickleOptions,
  isTuple,
  pickleTypeName,
  unpickle,
} from './unpickler';
export { type ZipEntry, type ZipReadOptions, ZipArchive } from './zip_archive';
export {
  type TorchTensorInput,
  type TorchWriteOptions,
  type TorchWriteResult,
  encodeTorchStateDict,
  writeTorchStateDict,
} from './torch_writer';
export { type ZipRecord, torchZipChunks } from './zip_writer';
