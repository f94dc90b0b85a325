// Node glue for re-ageing whole photos: detect, align, re-age (@ragan/core), paste back, grids.
export {
  photoFace,
  reageCrops,
  reageCropsToTargets,
  pasteFaces,
  type PhotoFace,
  type PhotoFaceOptions,
  type ReageCropsOptions,
  type PasteFacesOptions,
} from '@ragan/core';
export {
  findPhotoFaces,
  reagePhoto,
  renderAgeGrid,
  encodeImageFor,
  OUTPUT_IMAGE_FORMATS,
  type FindFacesOptions,
  type PhotoFaces,
  type ReagePhotoOptions,
  type ReagePhotoResult,
  type ReageTimings,
  type AgeGridOptions,
  type AgeGrid,
} from './reage-photo.js';
