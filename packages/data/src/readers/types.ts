import type { AgeGroupSet } from '@ragan/core';
import type { Split } from '../split.js';

export type DatasetFormat = 'utkface' | 'ffhq-aging' | 'csv';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['utkface', 'ffhq-aging', 'csv'];

/** One image a reader found, with its labels. Nothing has been read from the file yet. */
export interface SourceItem {
  /** Path relative to the data root, `/`-separated: the stable id, the sort key and (its base name) the split hash key. */
  file: string;
  /** Absolute path of the image. */
  path: string;
  /** Exact age when the data set has one (UTKFace, CSV `age`); null when only the group is known (FFHQ-Aging). */
  age: number | null;
  /** Index into the chosen age-group set. */
  group: number;
  split: Split;
  /** FFHQ-Aging label-index map (19 CelebAMask-HQ classes), when there is one. */
  parsingPath?: string;
  /** A user-supplied mask image (CSV manifest `mask` column). */
  maskPath?: string;
  /** When set, the image and mask must resolve (after symlinks) inside this folder: CSV manifests. */
  confineTo?: string;
}

/** Why a file was left out. Stable strings: scripts may group by them. */
export type SkipKind =
  | 'bad-name' // the file name does not carry valid labels (UTKFace)
  | 'bad-label' // a label row is malformed (FFHQ-Aging CSV, manifest)
  | 'pruned' // valid but excluded by the data set's selection rules or the chosen group set
  | 'missing' // listed but not on disk
  | 'unreadable' // exists but cannot be read: a folder, a dangling symlink, no permission
  | 'outside' // a manifest path that escapes the manifest's folder
  | 'empty' // zero bytes
  | 'too-large' // over the byte or pixel limit (decompression-bomb guard)
  | 'too-small' // under the minimum side (a 1×1 image would be a flat colour stretched to the cache size)
  | 'not-an-image' // not a format we decode
  | 'corrupt' // a known format that fails to decode (truncated, damaged)
  | 'bad-mask'; // the sample's parsing map or mask file is unusable

export interface SkippedFile {
  file: string;
  kind: SkipKind;
  /** One line that names the file and the reason. */
  reason: string;
}

/** Shape of the elliptical fallback mask, by how the data set frames faces. */
export type PriorShape = 'ffhq-aligned' | 'utkface-crop';

export interface DatasetListing {
  format: DatasetFormat;
  /** Absolute data root (for CSV: the manifest's folder). */
  root: string;
  groups: AgeGroupSet;
  /** Items in sorted order (by `file`), after `limit`. */
  items: SourceItem[];
  /** Files left out while listing (names, labels, pruning), in sorted order. */
  skipped: SkippedFile[];
  priorShape: PriorShape;
  /** Entries considered after `limit` (items + skipped). */
  considered: number;
}

export interface ListOptions {
  /** Age-group set; default FFHQ-Aging's 10 groups. */
  groups?: AgeGroupSet;
  /** Take only the first K entries in sorted order (before labels are checked). */
  limit?: number;
  /** Hash-split test fraction for data sets without an official split; default 0.1. */
  testFraction?: number;
}
