import { DatasetError } from '@ragan/core';
import { listCsvManifest } from './csv-manifest.js';
import { listFfhqAging } from './ffhq-aging.js';
import { DATASET_FORMATS, type DatasetFormat, type DatasetListing, type ListOptions } from './types.js';
import { listUtkFace } from './utkface.js';

/** Lists a data set of any supported format: items with labels and split, and what was skipped. */
export function listDataset(format: DatasetFormat, data: string, options: ListOptions = {}): DatasetListing {
  switch (format) {
    case 'utkface':
      return listUtkFace(data, options);
    case 'ffhq-aging':
      return listFfhqAging(data, options);
    case 'csv':
      return listCsvManifest(data, options);
    default:
      throw new DatasetError(data, `unknown data format "${String(format)}"; use one of ${DATASET_FORMATS.join(', ')}`);
  }
}
