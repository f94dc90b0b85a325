import { ConfigError } from '@ragan/core';
import { decodeGrey, ImageFileError, readImageFile, resizeGrey, type RgbImage } from '../images/decode.js';
import type { DatasetFormat, PriorShape, SourceItem } from '../readers/types.js';
import { loadParsingMask } from './parsing.js';
import { ellipticalPrior } from './prior.js';
import type { MaskMeta, MaskMode, MaskProvider, MaskSource } from './types.js';

/** Providers that come from outside this module: landmark-based (packages/data/src/faces) or a segmentation model. */
export interface MaskPlugins {
  landmarks?: MaskProvider;
  segmentation?: MaskProvider;
}

export interface MaskChain {
  mode: MaskMode;
  size: number;
  prior: PriorShape;
  plugins: MaskPlugins;
  maxPixels?: number;
}

export interface ResolvedMask {
  /** size × size bytes. */
  mask: Uint8Array;
  source: MaskSource;
  /** Set when a provider was tried and failed before the prior was used. */
  fallback?: string;
}

/**
 * The steps a chain tries, in order, for the record in the cache index and the run's output:
 * a cache made with one chain is not resumed with another.
 */
export function maskChainSteps(mode: MaskMode, plugins: MaskPlugins, format?: DatasetFormat): string[] {
  if (mode === 'prior') return ['prior'];
  if (mode === 'landmarks') return ['landmarks', 'prior'];
  // parsing maps exist only in FFHQ-Aging, mask files only in manifests
  return [
    ...(format === undefined || format === 'ffhq-aging' ? ['parsing'] : []),
    ...(format === undefined || format === 'csv' ? ['mask-file'] : []),
    ...(plugins.landmarks ? ['landmarks'] : []),
    ...(plugins.segmentation ? ['segmentation'] : []),
    'prior',
  ];
}

/** Refuses a mode that cannot work here, before any file is read. */
export function checkMaskMode(mode: MaskMode, plugins: MaskPlugins): void {
  if (!['auto', 'landmarks', 'prior'].includes(mode)) throw new ConfigError('masks', `unknown mask mode "${mode}"; use auto, landmarks or prior`);
  if (mode === 'landmarks' && !plugins.landmarks) {
    throw new ConfigError(
      'masks',
      'no landmark mask provider is available in this build; use --masks auto (parsing maps, then the elliptical prior) or --masks prior',
    );
  }
}

/**
 * Makes the mask of one sample. A parsing map or mask file that belongs to the sample but is
 * unusable fails the sample (ImageFileError 'bad-mask'): it was named explicitly, so silently using
 * the prior would hide a broken data set. A plug-in provider that fails (no face found) falls back
 * to the next step and finally the prior, and says so in `fallback`.
 */
export async function resolveMask(item: SourceItem, chain: MaskChain, workImage: () => Promise<RgbImage>): Promise<ResolvedMask> {
  const { size } = chain;
  const prior = (fallback?: string): ResolvedMask => ({ mask: ellipticalPrior(size, chain.prior), source: 'prior', ...(fallback ? { fallback } : {}) });
  if (chain.mode === 'prior') return prior();

  const meta: MaskMeta = {
    file: item.file,
    path: item.path,
    size,
    framing: chain.prior,
    ...(item.parsingPath ? { parsingPath: item.parsingPath } : {}),
    ...(item.maskPath ? { maskPath: item.maskPath } : {}),
  };
  const plugins: Array<[string, MaskProvider]> = [];
  if (chain.mode === 'auto') {
    if (item.parsingPath) {
      const m = await asBadMask(item.file, loadParsingMask(item.parsingPath, size, { name: `parsing map of ${item.file}`, maxPixels: chain.maxPixels }));
      return { mask: m.data, source: 'parsing' };
    }
    if (item.maskPath) {
      const name = `mask file of ${item.file}`;
      const buf = await asBadMask(item.file, readImageFile(item.maskPath, { name, ...(item.confineTo ? { confineTo: item.confineTo } : {}) }));
      const m = await asBadMask(item.file, decodeGrey(buf, size, { name, maxPixels: chain.maxPixels }));
      return { mask: m.data, source: 'segmentation' };
    }
    if (chain.plugins.landmarks) plugins.push(['landmarks', chain.plugins.landmarks]);
    if (chain.plugins.segmentation) plugins.push(['segmentation', chain.plugins.segmentation]);
  } else if (chain.plugins.landmarks) {
    plugins.push(['landmarks', chain.plugins.landmarks]);
  }
  const failures: string[] = [];
  for (const [step, provider] of plugins) {
    try {
      const image = await workImage();
      const r = await provider(image, meta);
      if (!(r?.mask instanceof Uint8Array) || r.mask.length !== image.width * image.height) {
        throw new Error(`returned ${r?.mask?.length ?? 'no'} mask bytes for a ${image.width}×${image.height} image`);
      }
      const resized = await resizeGrey({ data: r.mask, width: image.width, height: image.height }, size);
      return { mask: resized.data, source: r.source };
    } catch (e) {
      failures.push(`${step}: ${String((e as Error)?.message ?? e).split('\n')[0]}`);
    }
  }
  return prior(failures.length ? failures.join('; ') : undefined);
}

/** A sample's own mask file failed: the sample is skipped as 'bad-mask', the message names the mask file of the image. */
async function asBadMask<T>(file: string, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ImageFileError) throw new ImageFileError(e.path, 'bad-mask', e.message.slice(e.path.length + 2), { cause: e });
    throw new ImageFileError(`mask of ${file}`, 'bad-mask', String((e as Error)?.message ?? e), { cause: e });
  }
}
