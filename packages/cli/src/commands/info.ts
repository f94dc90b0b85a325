import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { VERSION as CORE_VERSION } from '@ragan/core';
import { probeBackends, type BackendName } from '@ragan/core';
import { CLI_VERSION } from '../version.js';
import { importFromCli } from '../import-module.js';

const GPU_HINT = [
  'GPU backend: on a machine with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1, run',
  '  pnpm add @tensorflow/tfjs-node-gpu     (or npm i @tensorflow/tfjs-node-gpu)',
  'its install script downloads libtensorflow; behind a firewall see docs/backends.md.',
].join('\n');

export interface InfoReport {
  versions: Record<string, string>;
  platform: string;
  cpus: number;
  backends: Array<{ name: BackendName; available: boolean; reason?: string }>;
  wouldUse: BackendName | undefined;
  requested: string | undefined;
}

export async function collectInfo(): Promise<InfoReport> {
  const { cpus } = await import('node:os');
  const backends = await probeBackends({ importModule: importFromCli });
  const requested = process.env.RAGAN_BACKEND || undefined;
  const wouldUse = requested
    ? (backends.find((b) => b.name === requested && b.available)?.name ?? undefined)
    : backends.find((b) => b.available)?.name;
  return {
    versions: { '@ragan/cli': CLI_VERSION, '@ragan/core': CORE_VERSION, '@tensorflow/tfjs': tf.version.tfjs, node: process.version },
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    backends,
    wouldUse,
    requested,
  };
}

export function formatInfo(r: InfoReport): string {
  const lines = [`RAGAN.ts ${r.versions['@ragan/cli']}`];
  lines.push(`  ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`  ${r.platform}, ${r.cpus} CPU cores`);
  lines.push('', 'Backends, fastest first:');
  for (const b of r.backends) {
    lines.push(`  ${b.available ? '✓' : '✗'} ${b.name.padEnd(15)}${b.available ? 'available' : `not available${b.reason ? `: ${b.reason}` : ''}`}`);
  }
  lines.push('');
  if (r.requested) {
    lines.push(r.wouldUse ? `Would use: ${r.wouldUse} (RAGAN_BACKEND=${r.requested})` : `RAGAN_BACKEND=${r.requested} is not available here: commands will fail until it is installed.`);
  } else {
    lines.push(`Would use: ${r.wouldUse ?? 'none'} (auto; set --backend or RAGAN_BACKEND to choose)`);
  }
  if (!r.backends.some((b) => b.name === 'tensorflow-gpu' && b.available)) lines.push('', GPU_HINT);
  return lines.join('\n');
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('versions, the backends available here, the one that would be used, and how to get the GPU one')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await collectInfo();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInfo(report)}\n`);
    });
}
