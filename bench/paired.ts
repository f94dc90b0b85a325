/**
 * Paired timing of tfjs (and ONNX Runtime) against the PyTorch twin: both run as long-lived processes
 * (`packages/core/bench/serve.ts`, `bench/pytorch_twin.py THREADS serve`) and take turns, one run each,
 * in the order A B B A A B …, so that every tfjs run has a PyTorch run next to it. This machine's speed
 * drifts by up to 2× within minutes; sections timed minutes apart gave ratios 1.3× apart (goal 3 of
 * issue 8 measured 0.57×, 1.00× and 1.32× in three runs). Each item reports both medians and the median
 * of the per-pair ratios, which is what the goals are stated in.
 *
 *   tsx bench/paired.ts [--write] [--quick] [--only TEXT]
 *     --write: bench/results/paired.json (else JSON lines on stdout); --quick: one pair per item;
 *     --only: the items whose tfjs request contains TEXT (e.g. --only "gen paper 1 wasm")
 *
 * `pnpm bench` runs it as the `paired` section (skipped, with the reason, when PyTorch is missing).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONV_FLOP, CONV_SHAPE, median, writeSectionResults } from './results-file.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const PAIRED_THREADS = 2;

export interface PairedItem {
  /** Figure name, as in the core and pytorch sections. */
  what: string;
  preset?: string;
  /** The tfjs side's runtime (wasm+onnx-convs: wasm with its convolutions in ONNX Runtime). */
  backend: 'wasm' | 'onnxruntime-node' | 'wasm+onnx-convs';
  shape: string;
  tfjs: string;
  torch: string;
  pairs: number;
  warmups: number;
  /** For GFLOP/s: multiply-adds ×2 per run. */
  flop?: number;
}

/** What is paired: the figures the goals name. Training first, while the wasm heap is fresh. */
export const PAIRED_ITEMS: PairedItem[] = [
  // One warm-up step is enough: the first grows the heap, packs weights and (onnx) checks every layer.
  {
    what: 'training iteration (D+R1, G, Adam, EMA)',
    preset: 'small',
    backend: 'wasm',
    shape: '[4,128,128,3]',
    tfjs: 'train small 4',
    torch: 'gan small 4',
    pairs: 2,
    warmups: 1,
  },
  {
    what: 'training iteration (D+R1, G, Adam, EMA)',
    preset: 'small',
    backend: 'wasm+onnx-convs',
    shape: '[4,128,128,3]',
    tfjs: 'train small 4 onnx',
    torch: 'gan small 4',
    pairs: 3,
    warmups: 1,
  },
  { what: 'generator forward', preset: 'paper', backend: 'wasm', shape: '[1,256,256,3]', tfjs: 'gen paper 1 wasm', torch: 'gen paper 1', pairs: 3, warmups: 1 },
  {
    what: 'generator forward',
    preset: 'paper',
    backend: 'onnxruntime-node',
    shape: '[1,256,256,3]',
    tfjs: 'gen paper 1 onnx',
    torch: 'gen paper 1',
    pairs: 7,
    warmups: 1,
  },
  ...(['forward', 'inputGrad', 'filterGrad'] as const).flatMap((op): PairedItem[] => [
    { what: `conv3x3 ${op}`, backend: 'wasm', shape: CONV_SHAPE, tfjs: `conv ${op}`, torch: `conv ${op}`, pairs: 9, warmups: 2, flop: CONV_FLOP },
    {
      what: `conv3x3 ${op}`,
      backend: 'wasm+onnx-convs',
      shape: CONV_SHAPE,
      tfjs: `conv ${op} onnx`,
      torch: `conv ${op}`,
      pairs: 9,
      warmups: 2,
      flop: CONV_FLOP,
    },
  ]),
];

/** A line-protocol child: send one request, read one JSON answer. */
class Server {
  private readonly lines: Interface;
  private readonly pending: Array<(line: string) => void> = [];
  private readonly buffered: string[] = [];
  private exited: string | undefined;

  constructor(
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => {
      const next = this.pending.shift();
      if (next) next(line);
      else this.buffered.push(line);
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`  [${name}] ${d.toString()}`));
    child.on('exit', (code) => {
      this.exited = `${name} exited with ${code}`;
      for (const p of this.pending.splice(0)) p(JSON.stringify({ error: this.exited }));
    });
  }

  private next(): Promise<string> {
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.resolve(JSON.stringify({ error: this.exited }));
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** The first line a server prints (tfjs: `{"ready": …}`). */
  async hello(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.next()) as Record<string, unknown>;
  }

  async ask(request: string): Promise<number> {
    this.child.stdin.write(`${request}\n`);
    const answer = JSON.parse(await this.next()) as { ms?: number; error?: string };
    if (answer.error !== undefined || typeof answer.ms !== 'number') throw new Error(`${this.name}: ${request}: ${answer.error ?? 'no time'}`);
    return answer.ms;
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** The same Python and library path as the pytorch section. */
export function pythonSetup(): { python: string; env: NodeJS.ProcessEnv } | { skip: string } {
  const python = process.env.RAGAN_BENCH_PYTHON ?? '/usr/bin/python3';
  const probe = spawnSyncStatus(python, ['-c', 'import torch']);
  if (probe === 'missing') return { skip: `${python} not found` };
  if (probe !== 0) return { skip: `PyTorch is not installed for ${python} (apt-get install python3-torch)` };
  const openblas = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
  const env = existsSync(openblas) ? { ...process.env, LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : process.env;
  return { python, env };
}

function spawnSyncStatus(program: string, args: string[]): number | 'missing' {
  if (!existsSync(program)) return 'missing';
  return spawnSync(program, args, { encoding: 'utf8' }).status ?? 1;
}

/** Median of the per-pair ratios tfjs/PyTorch, rounded. */
export function pairedSummary(tfjsMs: number[], torchMs: number[]): { tfjsMedianMs: number; pytorchMedianMs: number; ratioMedian: number; ratios: number[] } {
  if (tfjsMs.length !== torchMs.length || tfjsMs.length === 0) throw new Error('paired timings need as many tfjs as PyTorch runs, at least one');
  const ratios = tfjsMs.map((t, i) => t / torchMs[i]!);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return { tfjsMedianMs: r2(median(tfjsMs)), pytorchMedianMs: r2(median(torchMs)), ratioMedian: r2(median(ratios)), ratios: ratios.map(r2) };
}

async function main() {
  const quick = process.argv.includes('--quick');
  const write = process.argv.includes('--write');
  const o = process.argv.indexOf('--only');
  const only = o >= 0 ? process.argv[o + 1] : undefined;
  if (o >= 0 && (!only || only.startsWith('--'))) throw new Error('--only needs the text of a tfjs request, e.g. --only "gen paper 1 wasm"');
  const items = PAIRED_ITEMS.filter((item) => only === undefined || item.tfjs.includes(only));
  if (items.length === 0) throw new Error(`--only "${only}" matches no item; items: ${PAIRED_ITEMS.map((i) => i.tfjs).join(', ')}`);
  if (write && only !== undefined) throw new Error('--write records every item: leave out --only');
  const py = pythonSetup();
  if ('skip' in py) {
    console.error(`paired: skipped: ${py.skip}`);
    process.exit(1);
  }
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
  const tfjs = new Server(
    'tfjs',
    spawn(process.execPath, [tsxCli, '--conditions=@ragan/source', join(root, 'packages', 'core', 'bench', 'serve.ts'), '--threads', String(PAIRED_THREADS)], {
      cwd: root,
    }),
  );
  const torch = new Server('pytorch', spawn(py.python, [join(root, 'bench', 'pytorch_twin.py'), String(PAIRED_THREADS), 'serve'], { cwd: root, env: py.env }));
  const hello = await tfjs.hello();
  if (hello.ready !== true) throw new Error(`tfjs server did not start: ${JSON.stringify(hello)}`);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const item of items) {
      const pairs = quick ? 1 : item.pairs;
      const row: Record<string, unknown> = {
        bench: 'paired',
        what: item.what,
        ...(item.preset ? { preset: item.preset } : {}),
        backend: item.backend,
        threads: PAIRED_THREADS,
        shape: item.shape,
        pairs,
      };
      try {
        for (let i = 0; i < item.warmups; i++) {
          await tfjs.ask(item.tfjs);
          await torch.ask(item.torch);
        }
        const a: number[] = [];
        const b: number[] = [];
        for (let i = 0; i < pairs; i++) {
          // A B, B A, A B …: neither side always runs first (after a pause, or after the other)
          if (i % 2 === 0) {
            a.push(await tfjs.ask(item.tfjs));
            b.push(await torch.ask(item.torch));
          } else {
            b.push(await torch.ask(item.torch));
            a.push(await tfjs.ask(item.tfjs));
          }
        }
        const s = pairedSummary(a, b);
        Object.assign(
          row,
          s,
          item.flop
            ? {
                tfjsGflops: Math.round((item.flop / s.tfjsMedianMs / 1e6) * 10) / 10,
                pytorchGflops: Math.round((item.flop / s.pytorchMedianMs / 1e6) * 10) / 10,
              }
            : {},
        );
      } catch (e) {
        Object.assign(row, { error: (e as Error).message.split('\n')[0]!.slice(0, 200) });
      }
      rows.push(row);
      process.stderr.write(`  ${JSON.stringify(row)}\n`);
      await tfjs.ask('reset').catch(() => 0);
    }
  } finally {
    tfjs.close();
    torch.close();
  }
  if (write) writeSectionResults('paired.json', { package: 'bench/paired.ts', threads: PAIRED_THREADS }, rows);
  else for (const r of rows) console.log(JSON.stringify(r));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
