export { applyAffine, invertAffine, composeAffine, affineScale, type Affine } from '@ragan/core';
export { ffhqAlignQuad, quadToAffine, DEFAULT_FFHQ_ALIGN, type AlignQuad, type FfhqAlignParams } from '@ragan/core';
export { warpAffine, pasteBack, type BorderMode, type PasteBackOptions } from '@ragan/core';
export { checkPhotoFile, readPhoto, encodeRgbPng, MAX_PHOTO_PIXELS, type Photo, type PhotoHeader, type PhotoReadOptions } from './photo.js';
export { alignFace, type AlignFaceOptions, type AlignedCrop, type AlignedFace } from '@ragan/core';
export { alignFaces, alignPhoto, alignFacesInImage, type AlignFacesOptions, type AlignedPhoto } from './align-faces.js';
export { toFacesJson, parseFacesJson, facesJsonSchema, type FacesJson } from './faces-json.js';
