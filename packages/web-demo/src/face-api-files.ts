/** The face-api weight files the demo serves (SSD MobileNetV1 detector, full 68-point landmark net). */
export const FACE_API_FILES = [
  'ssd_mobilenetv1_model-weights_manifest.json',
  'ssd_mobilenetv1_model.bin',
  'face_landmark_68_model-weights_manifest.json',
  'face_landmark_68_model.bin',
] as const;

/** BlazeFace's graph model files, from @vladmandic/human's `models/` folder (MediaPipe's model, Apache-2.0). */
export const BLAZEFACE_FILES = ['blazeface.json', 'blazeface.bin'] as const;
