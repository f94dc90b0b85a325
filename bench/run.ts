/**
 * `pnpm bench` at the root: runs every package's benchmark (one at a time: they measure the CPU), then
 * merges their JSON into bench/results/latest.json and a markdown table bench/results/latest.md.
 *
 *   pnpm bench                       # run everything, write latest.json + latest.md
 *   pnpm bench --only core           # run one section (core | data | eval | web | pytorch | paired); the others'
 *                                    #   latest results are merged in from their files
 *   pnpm bench --merge               # no runs: merge the package JSON files already in bench/results
 *   pnpm bench --compare             # also compare with the committed latest.json (git HEAD) and exit 1
 *   pnpm bench --compare old.json    #   if any figure is more than 10 % worse (--tolerance 0.1)
 *
 * Every figure keeps its backend, thread count and shapes; package benchmarks report medians of
 * several runs. Timings depend on the machine and on what else runs: compare runs from one machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { pythonSetup } from './paired.js';
import { CONV_SHAPE } from './results-file.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');

/** One measured figure, normalised across packages. */
export interface Figure {
  section: string;
  /** What was measured, e.g. `conv3x3 filterGrad`, `trainIteration`. */
  name: string;
  /** Conditions that must match for two figures to be compared: backend, threads, shape, preset… */
  params: Record<string, string | number | boolean>;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
}

interface Section {
  name: string;
  /** Package whose `bench` script writes `file` (or `command` runs instead). */
  filter?: string;
  /** [program, ...args] that writes `file`. */
  command?: () => { program: string; args: string[]; env?: NodeJS.ProcessEnv } | { skip: string };
  file: string;
}

const SECTIONS: Section[] = [
  { name: 'core', filter: '@ragan/core', file: 'core.json' },
  { name: 'data', filter: '@ragan/data', file: 'data.json' },
  { name: 'eval', filter: '@ragan/cli', file: 'eval.json' },
  { name: 'web', filter: 'web-demo', file: 'web.json' },
  { name: 'pytorch', command: pytorchCommand, file: 'pytorch.json' },
  { name: 'paired', command: pairedCommand, file: 'paired.json' },
];

/** What the PyTorch twin measures: the same shapes as the core section (see bench/pytorch_twin.py). */
export const PYTORCH_MEASUREMENTS = ['conv', 'gen:tiny:1', 'gen:small:1', 'gen:paper:1', 'gan:tiny:4', 'gan:small:4'];
/** Threads for PyTorch: the same as the tfjs figures it is compared with. */
export const PYTORCH_THREADS = 2;

/**
 * Debian's python3-torch (`apt-get install python3-torch`), run by /usr/bin/python3 (not a pyenv
 * python, which does not see Debian's packages). With OpenBLAS's pthread build on the library path
 * when it is installed (`libopenblas0-pthread`): the reference BLAS is several times slower.
 */
function pytorchCommand(): { program: string; args: string[]; env?: NodeJS.ProcessEnv } | { skip: string } {
  const py = pythonSetup();
  if ('skip' in py) return py;
  return {
    program: py.python,
    args: [join(root, 'bench', 'pytorch_twin.py'), String(PYTORCH_THREADS), ...PYTORCH_MEASUREMENTS, '--out', join(resultsDir, 'pytorch.json')],
    env: py.env,
  };
}

/** tfjs and the PyTorch twin taking turns on the goals' figures (bench/paired.ts). */
function pairedCommand(): { program: string; args: string[] } | { skip: string } {
  const py = pythonSetup();
  if ('skip' in py) return py;
  return { program: process.execPath, args: [createRequire(import.meta.url).resolve('tsx/cli'), join(root, 'bench', 'paired.ts'), '--write'] };
}

type Row = Record<string, unknown>;

/** Package result rows → figures. Unknown rows are kept with every numeric field as a figure. */
export function toFigures(section: string, rows: Row[]): Figure[] {
  if (section === 'pytorch') return pytorchFigures(rows);
  if (section === 'paired') return pairedFigures(rows);
  const out: Figure[] = [];
  const pick = (r: Row, keys: string[]) => Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k] as string | number]));
  for (const r of rows) {
    const bench = String(r.bench);
    if (r.error !== undefined) continue; // a measurement that could not run: see failures()
    if (bench === 'eval') {
      out.push({
        section,
        name: 'ragan eval',
        params: pick(r, ['runtime', 'backend', 'faces', 'pairs', 'resolution']),
        value: Number(r.pairsPerSecond),
        unit: 'images/s',
        better: 'higher',
      });
      out.push({
        section,
        name: 'ragan eval generator',
        params: pick(r, ['runtime', 'backend', 'resolution']),
        value: Number(r.generatorMsPerImage),
        unit: 'ms/image',
        better: 'lower',
      });
      continue;
    }
    if (bench === 'webDemo') {
      out.push({ section, name: `web demo ${String(r.what)}`, params: pick(r, ['backend', 'faces']), value: Number(r.medianMs), unit: 'ms', better: 'lower' });
      continue;
    }
    if (bench === 'conv3x3') {
      out.push({
        section,
        name: `conv3x3 ${String(r.op)}`,
        params: pick(r, ['backend', 'threads', 'shape', 'kernels']),
        value: Number(r.gflops),
        unit: 'GFLOP/s',
        better: 'higher',
      });
    } else if (bench === 'generatorForward') {
      out.push({
        section,
        name: 'generator forward',
        params: pick(r, ['preset', 'backend', 'threads', 'shape']),
        value: Number(r.medianMsPerImage),
        unit: 'ms/image',
        better: 'lower',
      });
    } else if (bench === 'trainIteration') {
      out.push({
        section,
        name: 'training iteration (D+R1, G, Adam, EMA)',
        params: pick(r, ['preset', 'backend', 'threads', 'shape']),
        value: Number(r.medianMs),
        unit: 'ms',
        better: 'lower',
      });
      out.push(...phaseFigures(section, r, pick(r, ['preset', 'backend', 'threads', 'shape'])));
    } else if (bench === 'prepare') {
      out.push({
        section,
        name: 'ragan prepare',
        params: pick(r, ['size', 'masks', 'images']),
        value: Number(r.imagesPerSecond),
        unit: 'images/s',
        better: 'higher',
      });
    } else if (bench === 'sampler') {
      out.push({
        section,
        name: 'sampler',
        params: pick(r, ['backend', 'size', 'batch', 'prefetch']),
        value: Number(r.batchesPerSecond),
        unit: 'batches/s',
        better: 'higher',
      });
    } else {
      for (const [k, v] of Object.entries(r)) {
        if (typeof v === 'number' && k !== 'runs')
          out.push({ section, name: `${bench} ${k}`, params: {}, value: v, unit: k, better: /ms|seconds/i.test(k) ? 'lower' : 'higher' });
      }
    }
  }
  return out;
}

/** The phases of a training iteration that both GanTrainer and the PyTorch twin time (`phasesMedianMs`). */
const PHASES: Array<[string, string]> = [
  ['dStep', 'training iteration: D step (fakes, D+R1, Adam)'],
  ['gStepFwdBwd', 'training iteration: G step forward+backward'],
];

function phaseFigures(section: string, r: Row, params: Figure['params']): Figure[] {
  const phases = r.phasesMedianMs as Record<string, unknown> | undefined;
  if (!phases || typeof phases !== 'object') return [];
  return PHASES.filter(([k]) => typeof phases[k] === 'number').map(([k, name]) => ({
    section,
    name,
    params,
    value: Number(phases[k]),
    unit: 'ms',
    better: 'lower' as const,
  }));
}

/** `[B,3,H,W]` (PyTorch) → `[B,H,W,3]` (the tfjs benchmarks' notation). */
const nhwc = (shape: unknown) => String(shape).replace(/^\[(\d+),(\d+),(\d+),(\d+)\]$/, '[$1,$3,$4,$2]');

/** The PyTorch twin's rows, in the tfjs figures' names and conditions so that they pair up. */
function pytorchFigures(rows: Row[]): Figure[] {
  const out: Figure[] = [];
  for (const r of rows) {
    const common = { backend: 'pytorch', threads: Number(r.threads) };
    if (r.bench === 'conv3x3')
      out.push({
        section: 'pytorch',
        name: `conv3x3 ${String(r.op)}`,
        params: { ...common, shape: CONV_SHAPE },
        value: Number(r.gflops),
        unit: 'GFLOP/s',
        better: 'higher',
      });
    else if (r.bench === 'generatorForward')
      out.push({
        section: 'pytorch',
        name: 'generator forward',
        params: { preset: String(r.preset), ...common, shape: nhwc(r.shape) },
        value: Number(r.medianMs) / Number(r.batch ?? 1),
        unit: 'ms/image',
        better: 'lower',
      });
    else if (r.bench === 'trainIteration') {
      const params = { preset: String(r.preset), ...common, shape: nhwc(r.shape) };
      out.push({ section: 'pytorch', name: 'training iteration (D+R1, G, Adam, EMA)', params, value: Number(r.medianMs), unit: 'ms', better: 'lower' });
      out.push(...phaseFigures('pytorch', r, params));
    }
  }
  return out;
}

/** Paired rows (bench/paired.ts): the median of per-pair ratios, tfjs time ÷ PyTorch time. */
function pairedFigures(rows: Row[]): Figure[] {
  const out: Figure[] = [];
  for (const r of rows) {
    if (r.bench !== 'paired' || r.error !== undefined || typeof r.ratioMedian !== 'number') continue;
    const params: Figure['params'] = { backend: String(r.backend), threads: Number(r.threads) };
    if (r.preset !== undefined) params.preset = String(r.preset);
    params.shape = String(r.shape);
    params.pairs = Number(r.pairs);
    out.push({ section: 'paired', name: `${String(r.what)} ÷ PyTorch, turn by turn`, params, value: r.ratioMedian, unit: '× PyTorch time', better: 'lower' });
  }
  return out;
}

/**
 * tfjs (and ONNX Runtime) against PyTorch, measured in the same run: for every PyTorch figure, each
 * other figure with the same name, preset, shape and thread count gives "how many times PyTorch's time"
 * (GFLOP/s are turned into times). Below 1 is faster than PyTorch.
 */
export function ratioFigures(figures: Figure[]): Figure[] {
  const out: Figure[] = [];
  for (const p of figures.filter((f) => f.params.backend === 'pytorch')) {
    for (const f of figures) {
      if (f.params.backend === 'pytorch' || f.name !== p.name || f.unit !== p.unit) continue;
      if (f.params.shape !== p.params.shape || f.params.preset !== p.params.preset || Number(f.params.threads) !== Number(p.params.threads)) continue;
      if (f.params.kernels !== undefined && f.params.kernels !== 'ragan') continue;
      const value = f.better === 'higher' ? p.value / f.value : f.value / p.value;
      if (!Number.isFinite(value)) continue;
      const params: Figure['params'] = { backend: f.params.backend!, threads: f.params.threads! };
      if (f.params.preset !== undefined) params.preset = f.params.preset;
      params.shape = f.params.shape!;
      out.push({ section: 'vs PyTorch', name: `${f.name} ÷ PyTorch`, params, value: Math.round(value * 100) / 100, unit: '× PyTorch time', better: 'lower' });
    }
  }
  return out;
}

/** Rows that could not be measured (e.g. out of memory), as `section: bench params: error` lines. */
export function failures(section: string, rows: Row[]): string[] {
  return rows
    .filter((r) => r.error !== undefined)
    .map(
      (r) =>
        `${section}: ${String(r.bench)} ${['preset', 'backend', 'threads', 'shape']
          .filter((k) => r[k] !== undefined)
          .map((k) => `${k} ${String(r[k])}`)
          .join(', ')}: ${String(r.error)}`,
    );
}

export const figureKey = (f: Figure) =>
  `${f.section} | ${f.name} | ${Object.entries(f.params)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;

export interface Comparison {
  key: string;
  before: number;
  after: number;
  unit: string;
  /** after/before for higher-is-better figures, before/after for lower-is-better: < 1 is worse. */
  ratio: number;
  worse: boolean;
}

/** Figures present in both runs; `worse` when more than `tolerance` (0.1 = 10 %) worse. */
export function compareFigures(before: Figure[], after: Figure[], tolerance = 0.1): Comparison[] {
  const old = new Map(before.map((f) => [figureKey(f), f]));
  const out: Comparison[] = [];
  for (const f of after) {
    const b = old.get(figureKey(f));
    if (!b || !(b.value > 0) || !(f.value > 0)) continue;
    const ratio = f.better === 'higher' ? f.value / b.value : b.value / f.value;
    out.push({ key: figureKey(f), before: b.value, after: f.value, unit: f.unit, ratio, worse: ratio < 1 - tolerance });
  }
  return out;
}

export function markdownTable(figures: Figure[]): string {
  const lines = ['| section | what | conditions | value |', '| --- | --- | --- | --- |'];
  for (const f of figures) {
    const cond = Object.entries(f.params)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`| ${f.section} | ${f.name} | ${cond} | ${f.value} ${f.unit} (${f.better} is better) |`);
  }
  return `${lines.join('\n')}\n`;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  return v && !v.startsWith('--') ? v : '';
}

function main(): number {
  const only = arg('--only');
  const compare = arg('--compare');
  const tolText = arg('--tolerance');
  const tolerance = tolText === undefined ? 0.1 : Number(tolText);
  if (tolText !== undefined && !(tolText !== '' && tolerance >= 0 && tolerance < 1)) {
    console.error(`bench: --tolerance must be a fraction in [0, 1) such as 0.1 (10 %), got "${tolText}"`);
    return 2;
  }
  const sections = only ? SECTIONS.filter((s) => s.name === only) : SECTIONS;
  if (only !== undefined && sections.length === 0) {
    console.error(`bench: unknown section "${only}"; use ${SECTIONS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const merging = arg('--merge') !== undefined;
  const failed: string[] = [];
  const seconds: Record<string, number> = {};
  if (!merging) {
    for (const s of sections) {
      const before = mtime(join(resultsDir, s.file));
      const t0 = Date.now();
      let status: number | null;
      if (s.command) {
        const c = s.command();
        if ('skip' in c) {
          console.error(`bench: ${s.name} skipped: ${c.skip}`);
          failed.push(s.name);
          continue;
        }
        console.error(`bench: ${s.name} (${[c.program, ...c.args.map((a) => a.replace(`${root}/`, ''))].join(' ')})`);
        status = spawnSync(c.program, c.args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: c.env }).status;
      } else {
        console.error(`bench: ${s.name} (pnpm --filter ${s.filter} bench)`);
        status = spawnSync('pnpm', ['--filter', s.filter!, 'bench'], { cwd: root, stdio: 'inherit' }).status;
      }
      seconds[s.name] = Math.round((Date.now() - t0) / 1000);
      // a section counts only if it exited 0 and rewrote its file in this run (never merge stale figures)
      if (status !== 0 || mtime(join(resultsDir, s.file)) === before) failed.push(s.name);
    }
  }
  const figures: Figure[] = [];
  const notMeasured: string[] = [];
  const sources: Record<string, unknown> = {};
  // Every section's latest results are merged (with --only, the others come from their earlier runs,
  // each keeping its own date in `sources`); a section that failed in this run is left out.
  const merged: Section[] = [];
  for (const s of SECTIONS) {
    if (failed.includes(s.name)) continue;
    const file = join(resultsDir, s.file);
    if (!existsSync(file)) {
      if (merging && sections.includes(s)) failed.push(s.name);
      continue;
    }
    merged.push(s);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { results: Row[] } & Record<string, unknown>;
    const { results, ...meta } = json;
    sources[s.name] = meta;
    figures.push(...toFigures(s.name, results));
    notMeasured.push(...failures(s.name, results));
  }
  figures.push(...ratioFigures(figures));
  const latest = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    sections: merged.map((s) => s.name),
    ran: merging ? [] : sections.filter((s) => !failed.includes(s.name)).map((s) => s.name),
    ...(merging ? {} : { seconds }),
    sources,
    figures,
    notMeasured,
  };
  const previous = compare === undefined ? undefined : loadPrevious(compare);
  if (failed.length > 0) console.error(`bench: FAILED sections (left out): ${failed.join(', ')}`);
  if (figures.length === 0) {
    console.error('bench: no figures measured; nothing written');
    return 1;
  }
  writeAtomic(join(resultsDir, 'latest.json'), `${JSON.stringify(latest, null, 2)}\n`);
  const notes = notMeasured.length ? `\nNot measured:\n${notMeasured.map((n) => `- ${n}`).join('\n')}\n` : '';
  writeAtomic(
    join(resultsDir, 'latest.md'),
    `# Benchmarks (${latest.date}, ${latest.machine.cores} × ${latest.machine.cpu}, Node ${latest.machine.node})\n\n${markdownTable(figures)}${notes}`,
  );
  for (const n of notMeasured) console.error(`bench: not measured: ${n}`);
  console.log(markdownTable(figures));
  console.error(`bench: wrote ${join('bench', 'results', 'latest.json')} and latest.md (${figures.length} figures)`);
  let code = failed.length > 0 ? 1 : 0;
  if (previous) {
    const cmp = compareFigures(previous.figures, figures, tolerance);
    const worse = cmp.filter((c) => c.worse);
    const now = new Set(figures.map(figureKey));
    const gone = previous.figures.filter((f) => merged.some((s) => s.name === f.section) && !now.has(figureKey(f)));
    for (const c of cmp) console.log(`${c.worse ? 'WORSE' : 'ok   '} ${c.key}: ${c.before} → ${c.after} ${c.unit} (×${c.ratio.toFixed(2)})`);
    for (const f of gone) console.log(`MISSING ${figureKey(f)} (in ${previous.from}, not measured now)`);
    console.error(
      `bench: compared ${cmp.length} figures with ${previous.from}: ${worse.length} more than ${Math.round(tolerance * 100)} % worse, ${gone.length} missing`,
    );
    if (worse.length > 0) code = 1;
  }
  return code;
}

function mtime(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

function loadPrevious(spec: string): { figures: Figure[]; from: string } {
  if (spec === '') {
    const text = execFileSync('git', ['show', 'HEAD:bench/results/latest.json'], { cwd: root, encoding: 'utf8' });
    return { figures: (JSON.parse(text) as { figures: Figure[] }).figures, from: 'the committed bench/results/latest.json' };
  }
  return { figures: (JSON.parse(readFileSync(spec, 'utf8')) as { figures: Figure[] }).figures, from: spec };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exit(main());
  } catch (e) {
    console.error(`bench: ${(e as Error).message.split('\n')[0]}`);
    process.exit(1);
  }
}
