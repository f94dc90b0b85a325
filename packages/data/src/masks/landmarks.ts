import { landmarkMaskProvider } from '../faces/mask-provider.js';
import type { MaskProvider } from './types.js';

/**
 * The landmark-based mask provider (face-api's 68 points: the face oval extended to the hairline,
 * docs/model.md "Data"), used by `ragan prepare --masks auto|landmarks` for images without parsing
 * maps. Its face models load lazily on first use (from the npm package, no network).
 */
export async function loadLandmarkMaskProvider(): Promise<MaskProvider | undefined> {
  return landmarkMaskProvider();
}
