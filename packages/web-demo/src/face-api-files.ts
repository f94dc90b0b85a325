/** The face-api weight files the demo serves (SSD MobileNetV1 detector, full 68-point landmark net). */
export const FACE_API_FILES = [
  'ssd_mobilenetv1_model-weights_manifest.json',
  'ssd_mobilenetv1_model.bin',
  'face_landmark_68_model-weights_manifest.json',
  'face_landmark_68_model.bin',
] as const;

/**
 * BlazeFace's and the face mesh's graph model files, from @vladmandic/human's `models/` folder
 * (MediaPipe's models, Apache-2.0; the mesh only tells the `auto` rule whether an unsure face is one).
 */
export const BLAZEFACE_FILES = ['blazeface.json', 'blazeface.bin', 'facemesh.json', 'facemesh.bin'] as const;
