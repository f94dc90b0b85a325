import { existsSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError, describeAgeTarget, getAgeGroupSet, type BackendName } from '@ragan/core';
import { NoFaceError, encodeImageFor, faceApiPackageDir, findPhotoFaces, pasteFaces, reageCrops, renderAgeGrid } from '@ragan/data';
import { backendOption, initCliBackend, parseThreads, THREADS_HELP } from '../backend.js';
import { openGeneratorRuntime, RUNTIME_HELP, RUNTIMES, type GeneratorRuntime } from '../runtime.js';
import { BUNDLED_MODEL_NAME, BUNDLED_NOTICE, resolveModelFlag } from '../bundled-model.js';
import { writeAtomic } from '../write-atomic.js';
import { detectorOption, MIN_CONFIDENCE_HELP, noFaceMessage, parseMinConfidence, parseTargetFlag, type Detector } from '../photo-options.js';
import { describeModelSource, loadModelSource } from './export.js';

/** The default photo: face-api's `demo/sample1.jpg` (MIT licence, in the @vladmandic/face-api npm package). */
export const DEMO_PHOTO = 'sample1.jpg';

export interface DemoFlags {
  photo?: string;
  out: string;
  to: string;
  model?: string;
  /** Add the model's change to the full-resolution faces (default true; `--no-keep-detail` turns it off). */
  keepDetail?: boolean;
  /** Face detector (default auto) and its minimum confidence (default 0.5), as for `ragan age`. */
  detector?: Detector;
  minConfidence?: string;
  backend?: BackendName | 'auto';
  /** wasm threads (default: the machine's cores, at most 4). */
  threads?: string;
  runtime?: string;
}

export interface DemoSummary {
  photo: string;
  model: string;
  faces: number;
  target: string;
  /** Whether the model's change was added to the full-resolution faces (see `--no-keep-detail`). */
  keepDetail: boolean;
  /** The photo with every face re-aged to the target. */
  aged: string;
  /** Every face at every age group. */
  grid: string;
  /** The model card beside the weights (absent for models without one). */
  modelCard?: string;
  /** The weights' licence as the model records it (`ragan export --meta licence=…`). */
  licence?: string;
  /** Where the generator ran (`onnxruntime-node 1.30.0`, `tfjs wasm`). */
  runtime: string;
  ms: { load: number; detect: number; reage: number; grid: number; total: number };
}

const NO_BUNDLED =
  `this installation has no bundled model (the model/ folder of @ragan/model-utkface is missing); give one with --model <model folder or ` + `training run>`;

/**
 * The README's main job: ages every face of a sample photo with the bundled model, writes the photo
 * re-aged to one target and a grid of every face at every age group, and returns where.
 */
export async function runDemo(flags: DemoFlags, log: (line: string) => void = () => {}): Promise<DemoSummary> {
  const t0 = performance.now();
  const modelDir = resolveModelFlag(flags.model);
  if (!modelDir) throw new ConfigError('--model', NO_BUNDLED);
  const photo = resolve(flags.photo ?? join(faceApiPackageDir(), 'demo', DEMO_PHOTO));
  if (!existsSync(photo)) throw new ConfigError('--photo', `${photo}: no such file`);
  const outDir = resolve(flags.out);
  const threads = parseThreads(flags.threads);
  const detector = flags.detector ?? 'auto';
  const minConfidence = parseMinConfidence(flags.minConfidence ?? '0.5');
  if (flags.model === undefined) log(BUNDLED_NOTICE);
  const backend = await initCliBackend(flags.backend, { threads });
  let t = performance.now();
  const src = await loadModelSource(modelDir);
  let runtime: GeneratorRuntime | undefined;
  try {
    const set = getAgeGroupSet(src.generator.config.ageGroups);
    const target = parseTargetFlag(flags.to, set, log);
    runtime = await openGeneratorRuntime(src.generator, flags.runtime, backend);
    const load = performance.now() - t;
    const forward = runtime.forward ? { forward: runtime.forward } : {};
    log(`model: ${describeModelSource(src)}; generator on ${runtime.name} (${runtime.detail})`);
    t = performance.now();
    const { photo: read, faces } = await findPhotoFaces(photo, src.generator.config.resolution, { ...src.alignment, detector, minConfidence });
    const detect = performance.now() - t;
    if (faces.length === 0) throw new NoFaceError(photo, `${noFaceMessage(detector, minConfidence)}; or another photo with --photo`);
    log(`${faces.length} face${faces.length === 1 ? '' : 's'} found in ${basename(photo)} (${read.image.width}x${read.image.height})`);

    t = performance.now();
    const keepDetail = flags.keepDetail !== false;
    const crops = await reageCrops(src.generator, faces, target, { keepDetail, ...forward });
    const image = pasteFaces(read.image, faces, crops);
    const stem = basename(photo, extname(photo));
    const slug = flags.to.replace(/\+/g, 'plus').replace(/[^0-9A-Za-z-]/g, '_');
    const aged = join(outDir, `${stem}-age-${slug}.jpg`);
    await writeAtomic(aged, await encodeImageFor(aged, image));
    const reage = performance.now() - t;

    t = performance.now();
    const g = await renderAgeGrid(src.generator, faces, { keepDetail, ...forward });
    const grid = join(outDir, `${stem}-all-ages.png`);
    await writeAtomic(grid, g.png);
    const gridMs = performance.now() - t;
    const d = describeAgeTarget(target, set);
    const card = join(src.dir, 'MODEL_CARD.md');
    const meta = src.manifest.extra?.meta as Record<string, unknown> | undefined;
    return {
      photo,
      model: src.dir,
      faces: faces.length,
      target: d.kind === 'group' ? `group ${d.group}` : `age ${d.age}`,
      keepDetail,
      aged,
      grid,
      ...(existsSync(card) ? { modelCard: card } : {}),
      ...(typeof meta?.licence === 'string' ? { licence: meta.licence } : {}),
      runtime: runtime.name,
      ms: { load: Math.round(load), detect: Math.round(detect), reage: Math.round(reage), grid: Math.round(gridMs), total: Math.round(performance.now() - t0) },
    };
  } finally {
    await runtime?.dispose();
    src.generator.dispose();
  }
}

const shown = (p: string) => {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('age the faces of a sample photo with the bundled model: writes the re-aged photo and an all-ages grid')
    .option('--photo <file>', `photo to use (default: face-api's demo/${DEMO_PHOTO}, MIT licence, shipped in its npm package)`)
    .option('-o, --out <dir>', 'folder to write the two images into', 'ragan-demo')
    .option('--to <target>', 'target age in years ("75", "5") or an age group ("70+")', '75')
    .option('--model <dir>', `model folder or training run (default: the bundled ${BUNDLED_MODEL_NAME} model)`)
    .addOption(detectorOption())
    .option('--min-confidence <p>', MIN_CONFIDENCE_HELP, '0.5')
    .option(
      '--no-keep-detail',
      "paste the model's own (64×64 for the bundled model, so blurry) output instead of adding its change to the full-resolution face",
    )
    .addOption(backendOption())
    .option('--threads <n>', THREADS_HELP)
    .addOption(new Option('--runtime <name>', RUNTIME_HELP).choices([...RUNTIMES]).default('auto'))
    .option('--json', 'print a JSON summary to stdout')
    .addHelpText(
      'after',
      `
This is what \`pnpm start\` runs in the repository. Faces keep the photo's fine detail: the model's change
(its output minus its input, at the model's resolution) is added to each full-resolution face, as
\`ragan age\` does by default. The bundled model was trained on UTKFace, whose
licence allows non-commercial research use only: the weights carry that restriction (MODEL_CARD.md
beside them says what the model can and cannot do).

Examples:
  ragan demo                                  # ragan-demo/sample1-age-75.jpg and sample1-all-ages.png
  ragan demo --photo me.jpg --to 5 --out out  # your own photo, aged to 5`,
    )
    .action(async (flags: DemoFlags & { json?: boolean }) => {
      const s = await runDemo(flags, (line) => process.stderr.write(`${line}\n`));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        [
          `aged ${s.faces} face${s.faces === 1 ? '' : 's'} of ${shown(s.photo)} to ${s.target} in ${(s.ms.total / 1000).toFixed(1)} s:`,
          `  re-aged photo: ${shown(s.aged)}`,
          `  all ages:      ${shown(s.grid)}`,
          ...(s.modelCard ? [`  model card:    ${shown(s.modelCard)}`] : []),
          ...(s.licence ? [`  weights:       ${s.licence}`] : []),
          `Your own photo: ragan demo --photo me.jpg --to 5   (or: ragan age me.jpg --to 75 --out me-75.jpg; in the repository, prefix pnpm)`,
          '',
        ].join('\n'),
      );
    });
}
