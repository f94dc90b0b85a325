// Pure 2-D geometry on raw pixels (no tfjs, no Node built-ins): FFHQ-Aging alignment, affine warps,
// paste-back, landmark face masks. Shared by @ragan/data (Node) and the browser demo.
export { checkRgbImage, type RgbImage, type Point2 } from './image.js';
export { applyAffine, invertAffine, composeAffine, affineScale, type Affine } from './affine.js';
export { ffhqAlignQuad, meanPoint, quadToAffine, DEFAULT_FFHQ_ALIGN, UTKFACE_ALIGN, ALIGNMENT_PRESETS, type FfhqAlignParams, type AlignQuad } from './ffhq.js';
export { fillPolygon, featherMask, fadeMaskEdges, DEFAULT_EDGE_FADE } from './raster.js';
export { landmarkMask, landmarkMaskPolygon, DEFAULT_LANDMARK_MASK, type LandmarkMaskOptions } from './landmark-mask.js';
export { warpAffine, pasteBack, type BorderMode, type PasteBackOptions } from './warp.js';
