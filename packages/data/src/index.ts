export { parseUtkFaceName, labelUtkFaceNames, listUtkFace, type UtkFaceLabel, type LabelledName, type ParseResult } from './readers/utkface.js';
export { splitOf, fnv1a32, type Split } from './split.js';
export { sharedDataDir } from './shared-data.js';
export { DATA_VERSION } from './version.js';
export { parseCsv, csvRecords, CsvSyntaxError, type CsvRow } from './csv.js';
// the one seeded RNG lives in @ragan/core (the sampler's order uses its sfc32 engine)
export { Rng, mix32, type RngState, type Sfc32State } from '@ragan/core';
export { isInside } from './paths.js';
// readers
export { listDataset } from './readers/index.js';
export {
  listFfhqAging,
  ffhqAgingPruneReasons,
  ffhqAgingImagePath,
  findFfhqAgingParsing,
  ffhqAgingRowSchema,
  FFHQ_AGING_LABELS_FILE,
  FFHQ_AGING_COLUMNS,
  FFHQ_AGING_TRAIN_SPLIT,
  type FfhqAgingRow,
} from './readers/ffhq-aging.js';
export { listCsvManifest, MANIFEST_FILE } from './readers/csv-manifest.js';
export {
  DATASET_FORMATS,
  type DatasetFormat,
  type DatasetListing,
  type ListOptions,
  type SourceItem,
  type SkippedFile,
  type SkipKind,
  type PriorShape,
} from './readers/types.js';
// images
export {
  readImageFile,
  probeImage,
  decodeRgb,
  decodeRgbFull,
  decodeGrey,
  decodeLabelMap,
  resizeGrey,
  loadImage,
  ImageFileError,
  SUPPORTED_IMAGE_FORMATS,
  PHOTO_FORMATS,
  DEFAULT_MAX_PIXELS,
  DEFAULT_MAX_FILE_BYTES,
  type RgbImage,
  type GreyImage,
  type ImageHeader,
  type DecodeOptions,
  type ReadFileOptions,
} from './images/decode.js';
export { renderContactSheet, type ContactSheetRow, type ContactSheetTile, type ContactSheetOptions } from './images/preview.js';
// masks
export { MASK_SOURCES, MASK_MODES, type MaskSource, type MaskResult, type MaskMeta, type MaskProvider, type MaskMode } from './masks/types.js';
export { FACE_REGION_CLASSES, PARSING_MAX_CLASS, parsingToMask, loadParsingMask } from './masks/parsing.js';
export { ellipticalPrior, ELLIPSE_PRIORS, type EllipsePrior } from './masks/prior.js';
export { resolveMask, maskChainSteps, checkMaskMode, type MaskPlugins, type MaskChain, type ResolvedMask } from './masks/chain.js';
export { loadLandmarkMaskProvider } from './masks/landmarks.js';
// cache
export { MIN_IMAGE_SIDE, prepareCache, sampleAge, type PrepareOptions, type PrepareResult, type PrepareProgress, type PrepareStart } from './cache/prepare.js';
export {
  readCacheIndex,
  cacheIndexSchema,
  CACHE_FORMAT,
  CACHE_FORMAT_VERSION,
  INDEX_FILE,
  SKIPPED_FILE,
  PREVIEW_FILE,
  RECORD_LAYOUT,
  type CacheIndex,
  type CacheArgs,
  type CacheSample,
  type CacheShard,
} from './cache/format.js';
export { openCache, verifyCache, type CacheCheck, type CacheReader, type CacheRecord } from './cache/reader.js';
export { writeFileAtomic } from './cache/atomic.js';
// sampler
export { createSampler, type Sampler, type SamplerOptions, type SamplerBatch, type SamplerCursor } from './sampler/sampler.js';
export * from './faces/index.js';
export * from './align/index.js';
export * from './reage/index.js';
