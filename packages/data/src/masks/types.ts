import type { PriorShape } from '../readers/types.js';
import type { RgbImage } from '../images/decode.js';

/**
 * Where a sample's face mask came from. `parsing`: an FFHQ-Aging parsing map; `landmarks`: a
 * polygon from face landmarks (face oval extended to the hairline); `segmentation`: a segmentation
 * model or a mask file the user supplied; `prior`: the fixed ellipse, the last fallback.
 */
export type MaskSource = 'parsing' | 'landmarks' | 'segmentation' | 'prior';
export const MASK_SOURCES: readonly MaskSource[] = ['parsing', 'landmarks', 'segmentation', 'prior'];

export interface MaskResult {
  /** `height * width` bytes, 0 background … 255 face region; soft edges allowed. */
  mask: Uint8Array;
  source: MaskSource;
}

/** What a provider knows about the sample besides its pixels. */
export interface MaskMeta {
  /** The sample's id (path relative to the data root). */
  file: string;
  /** Absolute path of the source image. */
  path: string;
  /** Side of the square the cache stores; the chain resizes provider masks to it. */
  size: number;
  parsingPath?: string;
  maskPath?: string;
  /**
   * How the data set frames its faces (`utkface-crop`: already aligned chips with the face in a fixed
   * place). Providers may use it to skip detection; absent for unknown framing.
   */
  framing?: PriorShape;
}

/**
 * Makes a face-region mask for one image. `image` is the decoded, square, sRGB image (at least the
 * cache size, up to 512 px, or the source size if smaller), and the returned mask must have its
 * `height * width` pixels. Throw (or reject) when no mask can be made, e.g. no face was found: the
 * chain then tries the next provider and, last, the elliptical prior, and counts the fallback.
 */
export type MaskProvider = (image: RgbImage, meta: MaskMeta) => Promise<MaskResult>;

/** How `prepare` chooses masks: `auto` = the best available per sample; `landmarks` = always landmarks; `prior` = always the ellipse. */
export type MaskMode = 'auto' | 'landmarks' | 'prior';
export const MASK_MODES: readonly MaskMode[] = ['auto', 'landmarks', 'prior'];
