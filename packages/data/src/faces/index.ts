export { loadFaceModels, disposeFaceModels, type FaceModels, type FaceModelsOptions } from './models.js';
export { faceApiPackageDir, faceApiModelDir } from './face-api.js';
export { DEFAULT_DETECT_MAX_PIXELS, detectFaces, detectionSize, landmarksInBox, type DetectedFace, type DetectFacesOptions } from './detect.js';
export { AUTO_BLAZEFACE_MIN, AUTO_EYE_AGREEMENT, AUTO_MESH_MIN, detectWith, FACE_DETECTORS, type DetectWithOptions, type FaceDetector } from './detectors.js';
export {
  BLAZEFACE_PAD,
  blazeFaceModelDir,
  boxIoU,
  detectBlazeFace,
  detectFacesBlazeFace,
  disposeBlazeFace,
  eyeDisagreement,
  loadBlazeFace,
  loadFaceMesh,
  meshScoreOf,
  mergeDetections,
  type BlazeDetectedFace,
  type BlazeFaceDetection,
  type BlazeFaceOptions,
} from './blazeface.js';
export { estimateAge, type EstimateAgeOptions } from './age.js';
export { faceEmbedding, descriptorDistance, type FaceEmbeddingOptions } from './embedding.js';
export { ALIGNED_AGE_REGION, ALIGNED_EMBEDDING_REGION, FULL_REGION, type FaceRegion, type RegionSpec } from './region.js';
export { landmarkMask, landmarkMaskPolygon, DEFAULT_LANDMARK_MASK, type LandmarkMaskOptions } from '@ragan/core';
export { landmarkMaskProvider, NoFaceError, ALIGNED_FACE_BOXES, plausibleAlignedLandmarks, type LandmarkMaskProviderOptions } from './mask-provider.js';
export { fillPolygon, featherMask } from '@ragan/core';
export { rgbToTensor, type Point2, type FaceBox } from './image.js';
export { faceApiAgeEstimator, faceApiEmbedder } from './adapters.js';
