/**
 * Two checkouts measured turn by turn: is this one slower than another (an older commit's worktree)?
 *
 *   pnpm bench:ab --other ../before [--only core] [--rounds 2] [--tolerance 0.1]
 *
 * `pnpm bench --compare OLD.json` compares with figures from another run, minutes or days apart. On the
 * project's machines the speed drifts by up to 2× within minutes, and code that did not change moves
 * as much (tfjs's own cpu backend, 2× between two runs three minutes apart). So this runs
 * `pnpm bench --only SECTION` in the other checkout and here in turns, A B B A per two rounds (a steady
 * drift then weighs on both sides alike), and reports for every figure the geometric mean of the
 * per-round ratios, here against there (above 1: faster here). Figures of tfjs's cpu backend (no code
 * of ours) are marked as the drift control: their spread is what noise looks like in this run.
 *
 * Writes bench/results/ab.json (each round's figures and the ratios); exits 1 when a figure other than
 * the control is more than `tolerance` worse. The other checkout needs its dependencies installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { figureKey, toFigures, type Figure } from './run.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SECTION_FILES: Record<string, string> = { core: 'core.json', data: 'data.json', eval: 'eval.json', web: 'web.json' };

export interface AbRatio {
  key: string;
  unit: string;
  /** Per round: here's figure against there's, above 1 when here is faster (or higher where higher is better). */
  ratios: number[];
  /** Their geometric mean. */
  ratio: number;
  /** tfjs's cpu backend: none of our code, so its spread is the run's noise. */
  control: boolean;
  worse: boolean;
}

/** Per-figure ratios of rounds of (there, here) figures; a figure missing from any run is left out. */
export function abRatios(rounds: Array<{ there: Figure[]; here: Figure[] }>, tolerance = 0.1): AbRatio[] {
  if (rounds.length === 0) return [];
  const maps = rounds.map((r) => ({ there: new Map(r.there.map((f) => [figureKey(f), f])), here: new Map(r.here.map((f) => [figureKey(f), f])) }));
  const out: AbRatio[] = [];
  for (const f of rounds[0]!.here) {
    const key = figureKey(f);
    const ratios: number[] = [];
    for (const m of maps) {
      const a = m.there.get(key);
      const b = m.here.get(key);
      if (!a || !b || !(a.value > 0) || !(b.value > 0)) break;
      ratios.push(f.better === 'higher' ? b.value / a.value : a.value / b.value);
    }
    if (ratios.length !== rounds.length) continue;
    const ratio = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
    const control = f.params.backend === 'cpu';
    out.push({ key, unit: f.unit, ratios, ratio, control, worse: !control && ratio < 1 - tolerance });
  }
  return out;
}

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (!v || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

function measure(dir: string, section: string): Figure[] {
  const r = spawnSync('pnpm', ['-s', 'bench', '--only', section], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const file = join(dir, 'bench', 'results', SECTION_FILES[section]!);
  if (r.status !== 0 || !existsSync(file)) throw new Error(`pnpm bench --only ${section} failed in ${dir}: ${(r.stderr ?? '').trim().split('\n').at(-1)}`);
  return toFigures(section, (JSON.parse(readFileSync(file, 'utf8')) as { results: Parameters<typeof toFigures>[1] }).results);
}

function main(): number {
  const other = arg('--other');
  if (!other) {
    console.error('bench:ab: give --other DIR, a checkout to compare with (e.g. `git worktree add ../before <commit>` and `pnpm install` there)');
    return 2;
  }
  const there = resolve(other);
  if (!existsSync(join(there, 'bench', 'run.ts'))) {
    console.error(`bench:ab: ${there} is not a checkout of this project (no bench/run.ts)`);
    return 2;
  }
  const section = arg('--only', 'core')!;
  if (!SECTION_FILES[section]) {
    console.error(`bench:ab: --only must be one of ${Object.keys(SECTION_FILES).join(', ')}, got "${section}"`);
    return 2;
  }
  const rounds = Number(arg('--rounds', '2'));
  const tolerance = Number(arg('--tolerance', '0.1'));
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20) || !(tolerance >= 0 && tolerance < 1)) {
    console.error('bench:ab: --rounds must be an integer from 1 to 20 and --tolerance a fraction in [0, 1)');
    return 2;
  }
  const results: Array<{ there: Figure[]; here: Figure[] }> = [];
  for (let i = 0; i < rounds; i++) {
    // A B, then B A: a drift during the pair of rounds weighs on both sides alike
    const order = i % 2 === 0 ? ['there', 'here'] : ['here', 'there'];
    const round: Partial<{ there: Figure[]; here: Figure[] }> = {};
    for (const side of order) {
      console.error(`bench:ab: round ${i + 1}/${rounds}, ${side} (${side === 'here' ? root : there})`);
      round[side as 'there' | 'here'] = measure(side === 'here' ? root : there, section);
    }
    results.push(round as { there: Figure[]; here: Figure[] });
  }
  const ratios = abRatios(results, tolerance);
  const file = join(root, 'bench', 'results', 'ab.json');
  // paths relative to this checkout: the file may be committed, and this machine's folders mean nothing elsewhere
  const record = { date: new Date().toISOString(), here: '.', there: relative(root, there) || '.', section, rounds: results, tolerance, ratios };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  for (const r of [...ratios].sort((a, b) => a.ratio - b.ratio)) {
    console.log(
      `${r.ratio.toFixed(2)}  ${r.ratios.map((x) => x.toFixed(2)).join(' ')}  ${r.key}${r.control ? '  (drift control)' : ''}${r.worse ? '  WORSE' : ''}`,
    );
  }
  const control = ratios.filter((r) => r.control).flatMap((r) => r.ratios);
  const worse = ratios.filter((r) => r.worse);
  console.error(
    `bench:ab: ${ratios.length} figures, here against ${there}; ${worse.length} more than ${Math.round(tolerance * 100)} % worse` +
      (control.length ? `; the drift control (tfjs's cpu backend) moved ${Math.min(...control).toFixed(2)}–${Math.max(...control).toFixed(2)}×` : '') +
      '; wrote bench/results/ab.json',
  );
  return worse.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.exit(main());
  } catch (e) {
    console.error(`bench:ab: ${(e as Error).message.split('\n')[0]}`);
    process.exit(1);
  }
}
