/** Model folders (manifest.json + one .bin per module) over any ModelStore; browser-safe (no Node built-ins). */
export {
  saveModelFolder,
  loadModelFolder,
  readManifest,
  loadWeightsInto,
  type SaveModelFolderOptions,
  type LoadModelFolderOptions,
  type LoadedModelFolder,
} from './model-folder.js';
export {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MANIFEST_FILE,
  DEFAULT_MODEL_FOLDER_LIMITS,
  parseModelManifest,
  decodeModelManifest,
  formatModelManifest,
  type ModelManifest,
  type WeightFileEntry,
  type TensorEntry,
  type StorageDtype,
  type ModelFolderLimits,
} from './manifest.js';
export {
  httpStore,
  memoryStore,
  DEFAULT_MAX_READ_BYTES,
  type ModelStore,
  type StoreReadOptions,
  type MemoryStore,
  type HttpStoreOptions,
} from './store.js';
export { toFloat16Bits, fromFloat16Bits, float32ToFloat16, float16ToFloat32, FLOAT16_MAX } from './float16.js';
export { sha256Hex } from './sha256.js';
