import { isAbsolute, relative } from 'node:path';
import { Option, type Command } from 'commander';
import { initBackend, RaganError } from '@ragan/core';
import {
  DATASET_FORMATS,
  DEFAULT_MAX_PIXELS,
  loadLandmarkMaskProvider,
  MASK_MODES,
  prepareCache,
  type DatasetFormat,
  type MaskMode,
  type MaskPlugins,
  type PrepareResult,
} from '@ragan/data';
import { createProgressBar, type ProgressBar } from '../progress.js';
import { importFromCli } from '../import-module.js';
import { intOption } from '../int-option.js';

interface PrepareFlags {
  data: string;
  format: DatasetFormat;
  size: number;
  out: string;
  limit?: number;
  groups: string;
  masks: MaskMode;
  overwrite?: boolean;
  maxPixels: number;
  preview: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  # 300 UTKFace crops at 64×64 into ./cache/utk64 (masks: elliptical prior until landmarks are available)
  ragan prepare --data ../shared/data/utkface/crop_part1 --format utkface --size 64 --limit 300 --out cache/utk64

  # FFHQ-Aging at 256×256 with its parsing-map masks and LATS's 6 groups
  ragan prepare --data FFHQ-Aging-Dataset/ffhq_aging256x256 --format ffhq-aging --size 256 --groups lats-6 --out cache/ffhq256

  # your own aligned faces, listed in a CSV manifest (path,age[,mask]); see docs/dataset-format.md
  ragan prepare --data my-faces/manifest.csv --format csv --size 128 --out cache/mine

Writes OUT/index.json (per-sample age, group, split, mask source, source file and sha256),
OUT/shard-NNNNN.bin (fixed-size uint8 records: RGB then mask), OUT/skipped.json (each skipped file
with its reason) and OUT/preview.png (a contact sheet by age group, background tinted blue).
Broken files are skipped and counted; the run still exits 0. Interrupted (Ctrl-C)? Run the same
command again to continue; different arguments on the same --out are refused unless --overwrite.`;

export function registerPrepare(program: Command): void {
  program
    .command('prepare')
    .description('decode, mask and label a face data set into a training cache (with a skip report and a preview)')
    .requiredOption('--data <dir>', 'data folder (csv: the manifest file or the folder holding manifest.csv)')
    .addOption(new Option('--format <format>', 'data set layout').choices([...DATASET_FORMATS]).makeOptionMandatory())
    .requiredOption('--size <n>', 'side of the stored square images, 8-1024 (64 for the tiny model, 128 small, 256 paper)', intOption('--size', 8, 1024))
    .requiredOption('--out <dir>', 'cache folder to write (created if missing)')
    .option('--limit <k>', 'only the first K files in sorted order', intOption('--limit', 1))
    .addOption(new Option('--groups <set>', 'age-group set that ages are binned into').choices(['ffhq-aging-10', 'lats-6']).default('ffhq-aging-10'))
    .addOption(
      new Option('--masks <mode>', 'face masks: auto = parsing map or mask file, else landmarks, else the elliptical prior; landmarks; prior')
        .choices([...MASK_MODES])
        .default('auto'),
    )
    .option('--overwrite', 'start again even if --out holds a cache (removes only cache files)')
    .option('--max-pixels <n>', 'refuse images with more pixels than this (decompression-bomb guard)', intOption('--max-pixels', 1), DEFAULT_MAX_PIXELS)
    .option('--no-preview', 'do not write preview.png')
    .option('--json', 'print the result as JSON instead of text')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: PrepareFlags) => {
      const plugins: MaskPlugins = {};
      if (flags.masks !== 'prior') {
        const landmarks = await loadLandmarkMaskProvider();
        if (landmarks) {
          // the landmark models run on tfjs: pick the backend once, quietly (stdout stays the report)
          await initBackend({ quiet: true, importModule: importFromCli });
          plugins.landmarks = landmarks;
        }
      }
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write('\nstopping after the images in flight (Ctrl-C again to quit at once)...\n');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      const say = (line: string) => {
        if (!flags.json) process.stdout.write(`${line}\n`);
      };
      let bar: ProgressBar | undefined;
      let resumed = 0;
      let result: PrepareResult;
      try {
        result = await prepareCache({
          data: flags.data,
          format: flags.format,
          size: flags.size,
          out: flags.out,
          ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
          groups: flags.groups,
          masks: flags.masks,
          overwrite: Boolean(flags.overwrite),
          maxPixels: flags.maxPixels,
          maskPlugins: plugins,
          preview: flags.preview,
          signal: abort.signal,
          onStart: ({ listing, todo, resumedFrom, maskChain }) => {
            const n = listing.items.length + listing.skipped.length;
            say(
              `Preparing ${listing.format} from ${listing.root}: ${n} ` +
                `${n === 1 ? 'entry' : 'entries'}${flags.limit !== undefined && n >= flags.limit ? ` (the first ${flags.limit} in sorted order)` : ''}, ` +
                `${flags.size}×${flags.size}, groups ${listing.groups.name}, masks ${flags.masks} (${maskChain.join(' > ')})`,
            );
            if (resumedFrom > 0 && todo > 0) say(`Resuming: ${resumedFrom} of ${listing.items.length} files were done by an earlier run.`);
            if (todo > 0) bar = createProgressBar({ total: todo, label: 'prepare', unit: 'img' });
            resumed = resumedFrom;
          },
          onProgress: (p) => {
            bar?.update(p.processed - resumed, `kept ${p.kept} skipped ${p.skipped}`);
            // close the bar before the preview is drawn, so its rate is the images' own
            if (p.processed === p.total) bar?.finish(`kept ${p.kept} skipped ${p.skipped}`);
          },
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      bar?.finish();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        for (const line of formatResult(result)) say(line);
      }
      if (result.status === 'interrupted') {
        throw new RaganError(`interrupted: ${result.kept + result.skipped} files are saved in ${result.outDir}; run the same command again to continue`);
      }
    });
}

/** The end-of-run report: counts first (kept, skipped by reason), then where things are. */
export function formatResult(r: PrepareResult): string[] {
  // paths below the working folder as typed; anything else absolute
  const rel = (p: string) => {
    const x = relative(process.cwd(), p);
    return x === '' ? '.' : x.startsWith('..') || isAbsolute(x) ? p : x;
  };
  const kinds = Object.entries(r.bySkipKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines: string[] = [];
  if (r.status === 'already-complete') lines.push(`${rel(r.outDir)} already holds this cache (same arguments); nothing to do.`);
  lines.push(`kept ${r.kept}, skipped ${r.skipped}${kinds ? ` (${kinds})` : ''}${r.skipped ? ` — reasons in ${rel(r.skippedPath)}` : ''}`);
  lines.push(...r.notes);
  const mb = (r.cacheBytes / 1024 / 1024).toFixed(1);
  lines.push(`cache: ${rel(r.indexPath)}, ${r.shards} shard${r.shards === 1 ? '' : 's'} (${mb} MiB), ${r.train} train / ${r.test} test`);
  if (r.previewPath) lines.push(`preview: ${rel(r.previewPath)}`);
  if (r.status !== 'already-complete' && r.imagesPerSecond > 0) lines.push(`${(r.elapsedMs / 1000).toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} images/s`);
  return lines;
}
