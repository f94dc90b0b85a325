import { stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError, describeAgeTarget, getAgeGroupSet, type AgeTargetDescription, type BackendName } from '@ragan/core';
import {
  NoFaceError,
  OUTPUT_IMAGE_FORMATS,
  checkPhotoFile,
  encodeImageFor,
  faceApiPackageDir,
  findPhotoFaces,
  pasteFaces,
  reageCrops,
  renderAgeGrid,
  type FaceBox,
  type Point2,
  type ReageTimings,
} from '@ragan/data';
import { backendOption, initCliBackend, parseThreads, THREADS_HELP } from '../backend.js';
import { writeAtomic } from '../write-atomic.js';
import { openGeneratorRuntime, RUNTIME_HELP, RUNTIMES, type GeneratorRuntime } from '../runtime.js';
import { describeModelSource, loadModelSource } from './export.js';
import { BUNDLED_MODEL_NAME, BUNDLED_NOTICE, framingName, resolveModelFlag } from '../bundled-model.js';
import { detectorOption, MIN_CONFIDENCE_HELP, noFaceMessage, parseMinConfidence, parseTargetFlag, type Detector } from '../photo-options.js';

export interface AgeFlags {
  model?: string;
  to?: string;
  out: string;
  grid?: boolean;
  json?: boolean;
  detector: Detector;
  minConfidence: string;
  keepDetail?: boolean;
  feather: string;
  backend?: BackendName | 'auto';
  /** wasm threads (default: the machine's cores, at most 4). */
  threads?: string;
  runtime?: string;
  /** Write --out even when it is the photo itself. */
  force?: boolean;
}

/** What `ragan age --json` prints. */
export interface AgeSummary {
  photo: { path: string; width: number; height: number; orientation: number };
  model: { path: string; kind: 'model' | 'run'; step?: number; resolution: number; ageGroups: string; framing: string; bundled: boolean };
  backend: string;
  /** Where the generator ran (`onnxruntime-node 1.30.0`, `tfjs wasm`) and why. */
  runtime: { name: string; detail: string; maxAbsDiff?: number };
  /** The target (absent with --grid). */
  target?: AgeTargetDescription & { input: string };
  /** Whether the model's change was added to the full-resolution faces (default; `--no-keep-detail` turns it off). */
  keepDetail: boolean;
  /** The grid layout (with --grid): a header row, then a row per face; columns "input" then every group. */
  grid?: { columns: string[]; cell: number; header: number; rows: number };
  faces: Array<{ index: number; score: number; box: FaceBox; cropSize: number; quad: Point2[] }>;
  output: { path: string; width: number; height: number; format: string };
  /** Milliseconds per stage; `reagePerFace` is the generator time per face (and per target for a grid). */
  timings: ReageTimings & { load: number; encode: number; total: number; reagePerFace: number };
}

const NO_MODEL = [
  `a model is required: this installation has no bundled model (the model/ folder of @ragan/model-utkface is missing). Train and export one:`,
  '  ragan prepare --data faces/ --format utkface --size 64 --out cache64',
  '  ragan train --preset tiny --data cache64 --steps 2000 --out runs/tiny',
  '  ragan export --model runs/tiny --out models/tiny',
  'then: ragan age photo.jpg --model models/tiny --to 70+ --out aged.png (a run folder such as runs/tiny works too)',
].join('\n');

/** Are `a` and `b` one file (through symlinks, `..`, hard links)? False when either does not exist. */
async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
}

const r1 = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 10) / 10);

export async function runAge(photoPath: string, flags: AgeFlags, log: (line: string) => void = () => {}): Promise<AgeSummary> {
  const t0 = performance.now();
  const modelDir = resolveModelFlag(flags.model);
  if (!modelDir) throw new ConfigError('--model', NO_MODEL);
  if (flags.grid && flags.to) throw new ConfigError('--to', '--grid shows every age group; drop --to (or drop --grid for one target)');
  if (!flags.grid && !flags.to)
    throw new ConfigError('--to', 'give the target: an age group ("70+", "50-69", "70-120") or an age in years ("45"); or --grid for every group');
  const ext = extname(flags.out).toLowerCase();
  if (!(OUTPUT_IMAGE_FORMATS as readonly string[]).includes(ext))
    throw new ConfigError('--out', `${flags.out}: unknown image type "${ext}"; use ${OUTPUT_IMAGE_FORMATS.join(', ')}`);
  const minConfidence = parseMinConfidence(flags.minConfidence);
  const feather = Number(flags.feather);
  if (!(feather >= 0 && feather <= 0.5)) throw new ConfigError('--feather', `must be in [0, 0.5] (a fraction of the face crop's side), got ${flags.feather}`);
  const threads = parseThreads(flags.threads);
  const out = resolve(flags.out);
  // The photo and --out are checked before the backend and the model load (seconds): a typo is said at once.
  await checkPhotoFile(photoPath);
  if (!flags.force && (await sameFile(photoPath, out))) {
    throw new ConfigError(
      '--out',
      `${flags.out} is the photo itself (${photoPath}): it would be overwritten; choose another --out, or add --force to replace it`,
    );
  }

  if (flags.model === undefined) log(BUNDLED_NOTICE);
  const backend = await initCliBackend(flags.backend, { threads });
  let t = performance.now();
  const src = await loadModelSource(modelDir);
  let runtime: GeneratorRuntime | undefined;
  try {
    runtime = await openGeneratorRuntime(src.generator, flags.runtime, backend);
    const load = performance.now() - t;
    const forward = runtime.forward ? { forward: runtime.forward } : {};
    for (const s of src.skipped) log(`skipped checkpoint step ${s.step}: ${s.reason}`);
    log(`model: ${describeModelSource(src)}; generator on ${runtime.name} (${runtime.detail})`);
    const set = getAgeGroupSet(src.generator.config.ageGroups);
    const target = flags.to ? parseTargetFlag(flags.to, set, log) : undefined;

    const found = await findPhotoFaces(photoPath, src.generator.config.resolution, {
      // crop the faces the way the model's training data was framed (UTKFace models: much tighter)
      ...src.alignment,
      detector: flags.detector,
      minConfidence,
    });
    const { photo, faces, timings } = found;
    if (faces.length === 0) {
      throw new NoFaceError(photoPath, noFaceMessage(flags.detector, minConfidence));
    }
    log(
      `${faces.length} face${faces.length === 1 ? '' : 's'} in ${photo.image.width}x${photo.image.height} (detect ${Math.round(timings.detect ?? 0)} ms, ` +
        `align ${Math.round(timings.align ?? 0)} ms)`,
    );

    // the same default as `ragan demo`: at the model's own resolution it makes no difference (crop + (output −
    // crop) = output); on larger faces it keeps the photo's detail instead of an upsampled low-resolution face
    const keepDetail = flags.keepDetail !== false;
    let bytes: Uint8Array;
    let size: { width: number; height: number };
    let grid: AgeSummary['grid'];
    let runs = 1;
    let encodeStart: number;
    if (flags.grid) {
      t = performance.now();
      const g = await renderAgeGrid(src.generator, faces, { keepDetail, ...forward });
      timings.grid = performance.now() - t;
      runs = set.groups.length;
      bytes = g.png;
      size = { width: g.width, height: g.height };
      grid = { columns: g.columns, cell: g.cell, header: g.header, rows: faces.length };
      if (ext !== '.png') log(`--grid writes PNG data whatever the extension of ${flags.out}`);
      encodeStart = performance.now();
    } else {
      t = performance.now();
      const crops = await reageCrops(src.generator, faces, target!, { keepDetail, ...forward });
      timings.reage = performance.now() - t;
      t = performance.now();
      const image = pasteFaces(photo.image, faces, crops, { feather });
      timings.paste = performance.now() - t;
      encodeStart = performance.now();
      bytes = await encodeImageFor(out, image);
      size = { width: image.width, height: image.height };
    }
    await writeAtomic(out, bytes);
    const encode = performance.now() - encodeStart;
    const reageMs = flags.grid ? (timings.grid ?? 0) : (timings.reage ?? 0);
    return {
      photo: { path: photoPath, width: photo.image.width, height: photo.image.height, orientation: photo.orientation },
      model: {
        path: src.dir,
        kind: src.kind,
        ...(src.step !== undefined ? { step: src.step } : {}),
        resolution: src.generator.config.resolution,
        ageGroups: set.name,
        framing: framingName(src.alignment),
        bundled: flags.model === undefined || flags.model === 'bundled',
      },
      backend: backend.name,
      runtime: { name: runtime.name, detail: runtime.detail, ...(runtime.maxAbsDiff !== undefined ? { maxAbsDiff: runtime.maxAbsDiff } : {}) },
      ...(target ? { target: { input: flags.to!, ...describeAgeTarget(target, set) } } : {}),
      keepDetail,
      ...(grid ? { grid } : {}),
      faces: faces.map((f, index) => ({
        index,
        score: Math.round(f.score * 1000) / 1000,
        box: { x: r1(f.box.x)!, y: r1(f.box.y)!, width: r1(f.box.width)!, height: r1(f.box.height)! },
        cropSize: f.size,
        quad: f.quad.quad.map((p): Point2 => [r1(p[0])!, r1(p[1])!]),
      })),
      output: { path: out, ...size, format: flags.grid ? 'png' : ext.slice(1).replace('jpg', 'jpeg') },
      timings: {
        load: r1(load)!,
        ...Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, r1(v)])),
        encode: r1(encode)!, // encoding and writing the file
        total: r1(performance.now() - t0)!,
        reagePerFace: r1(reageMs / (faces.length * runs))!,
      },
    };
  } finally {
    await runtime?.dispose();
    src.generator.dispose();
  }
}

/** face-api's sample photo (it comes with @ragan/data), as a path to type: relative when it is below the working folder. */
function samplePhoto(): string {
  const p = join(faceApiPackageDir(), 'demo', 'sample1.jpg');
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
}

export function registerAge(program: Command): void {
  program
    .command('age')
    .description('re-age every face in a photo to a target age group or age, pasted back into the photo (or --grid: every age group)')
    .argument('<photo>', 'photo to read (JPEG, PNG, WebP, TIFF, ...; EXIF orientation is honoured)')
    .option(
      '--model <dir>',
      `a model folder (from \`ragan export\`) or a training run folder (its newest checkpoint's EMA generator); default: the bundled ${BUNDLED_MODEL_NAME} ` +
        `model`,
    )
    .option(
      '--to <target>',
      'target: an age group ("70+", "50-69"; a range inside one group such as "70-120" works too) or an age in years ("45", blended between the two ' +
        'nearest groups)',
    )
    .requiredOption('-o, --out <file>', `output image (${OUTPUT_IMAGE_FORMATS.join(', ')}): the photo at its own size, faces re-aged`)
    .option('--grid', 'write every age group instead: a row per face, the input then one column per group, labelled')
    .option('--json', 'print a JSON summary (faces, boxes, target, timings, output) to stdout')
    .option('--force', 'write --out even when it is the photo itself (replacing your original)')
    .addOption(detectorOption())
    .option('--min-confidence <p>', MIN_CONFIDENCE_HELP, '0.5')
    .option('--feather <f>', 'soft edge of the pasted face, as a fraction of its crop side', '0.02')
    .option(
      '--keep-detail',
      "keep the photo's fine detail: add the model's change (its output minus its input) to the full-resolution face (the default, as in `ragan demo`)",
    )
    .option('--no-keep-detail', "paste the model's own output, upsampled from its resolution (64×64 or 128×128: blurrier on large faces)")
    .addOption(backendOption())
    .option('--threads <n>', THREADS_HELP)
    .addOption(new Option('--runtime <name>', RUNTIME_HELP).choices([...RUNTIMES]).default('auto'))
    .addHelpText(
      'after',
      `
Every face is found (face-api SSD + 68 landmarks), aligned the way the model's training faces were
framed (FFHQ-Aging, or UTKFace's tighter crop for the bundled model) at a whole multiple of the
model's resolution near its size in the photo, masked from its landmarks (face, forehead and the
front of the hair), re-aged, and pasted back through the inverse transform with a feathered mask.
Pixels away from the faces keep their exact values; the output has the photo's size, upright (EXIF
orientation applied, no orientation tag written).

Age groups (ffhq-aging-10): ${getAgeGroupSet('ffhq-aging-10')
        .groups.map((g) => g.label)
        .join(', ')}

The generator runs in ONNX Runtime when onnxruntime-node is installed (it is an optional dependency
of @ragan/cli) and the backend is wasm or cpu: 1.8-5x faster than tfjs wasm on a 2-core machine (the
README's measured figures: 5x for 64x64 models, 1.8x for 256x256). It is checked against tfjs on a
probe image first and used only if they agree within 1e-4 (see --runtime).

Without --model the bundled ${BUNDLED_MODEL_NAME} model is used (trained on UTKFace: non-commercial
research use only; see MODEL_CARD.md in @ragan/model-utkface/model).

Examples, with the bundled model:
  ragan age ${samplePhoto()} --to 70+ --out aged.jpg
  ragan age me.jpg --to 45 --out me-45.jpg                 # an age in years: two groups blended
  ragan age me.jpg --grid --out me-all-ages.png            # every age group, a row per face
  ragan age me.jpg --to 70-120 --out aged.png --json       # a range inside a group is that group
(the first photo is face-api's demo/sample1.jpg, MIT licence, which comes with RAGAN.ts.)
With your own model: a training run, or a model folder exported from it:
  ragan train --preset tiny --data cache64 --steps 2000 --out runs/tiny    # see ragan train --help
  ragan export --model runs/tiny --out models/tiny
  ragan age me.jpg --model models/tiny --to 70+ --out aged.png             # or --model runs/tiny
Exits with 1 and a message when no face is found.`,
    )
    .action(async (photo: string, flags: AgeFlags) => {
      const s = await runAge(photo, flags, (line) => process.stderr.write(`${line}\n`));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const target = s.target
        ? s.target.kind === 'group'
          ? `group ${s.target.group}`
          : `age ${s.target.age} (${s.target.blend.map((b) => `${(b.weight * 100).toFixed(0)}% ${b.group}`).join(' + ')})`
        : `all ${s.grid!.columns.length - 1} age groups`;
      process.stdout.write(
        `${s.output.path}: ${s.output.width}x${s.output.height}, ${s.faces.length} face${s.faces.length === 1 ? '' : 's'} re-aged to ${target} in ` +
          `${(s.timings.total / 1000).toFixed(1)} s (generator ${s.timings.reagePerFace} ms per face${s.grid ? ' and group' : ''})\n`,
      );
    });
}
