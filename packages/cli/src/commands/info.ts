import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { VERSION as CORE_VERSION } from '@ragan/core';
import { probeBackends, type BackendName } from '@ragan/core';
import { loadOnnxRuntime, loadOnnxRuntimeBinding } from '@ragan/backend/node';
import { CLI_VERSION } from '../version.js';
import { importFromCli } from '../import-module.js';

const GPU_HINT = [
  'GPU backend: on a machine with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1, run',
  '  pnpm add @tensorflow/tfjs-node-gpu     (or npm i @tensorflow/tfjs-node-gpu)',
  'its install script downloads libtensorflow; behind a firewall see docs/backends.md.',
].join('\n');

const CPU_HINT = [
  'Native CPU backend: pnpm add @tensorflow/tfjs-node     (or npm i @tensorflow/tfjs-node)',
  'its install script downloads libtensorflow. Installed but its binding did not load (the download failed)?',
  'Run `npm rebuild @tensorflow/tfjs-node` where storage.googleapis.com can be reached; docs/backends.md',
  'has a mirror and an offline way. Until then wasm runs everything, and ONNX Runtime the generator.',
].join('\n');

export interface InfoReport {
  versions: Record<string, string>;
  platform: string;
  cpus: number;
  backends: Array<{ name: BackendName; available: boolean; reason?: string }>;
  wouldUse: BackendName | undefined;
  requested: string | undefined;
  /** onnxruntime-node: the generator at inference (--runtime) and wasm training convolutions (--conv-runtime). */
  onnxRuntime: { available: boolean; version?: string; reason?: string; trainingConvolutions: boolean; trainingReason?: string };
}

export async function collectInfo(): Promise<InfoReport> {
  const { cpus } = await import('node:os');
  const backends = await probeBackends({ importModule: importFromCli });
  const requested = process.env.RAGAN_BACKEND || undefined;
  const wouldUse = requested ? (backends.find((b) => b.name === requested && b.available)?.name ?? undefined) : backends.find((b) => b.available)?.name;
  const ort = await loadOnnxRuntime(importFromCli);
  const binding = await loadOnnxRuntimeBinding(importFromCli);
  const onnxRuntime: InfoReport['onnxRuntime'] = ort.ok
    ? { available: true, version: ort.version, trainingConvolutions: binding.ok, ...(binding.ok ? {} : { trainingReason: binding.reason }) }
    : { available: false, reason: ort.reason, trainingConvolutions: false };
  return {
    onnxRuntime,
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
  lines.push(
    `  ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  lines.push(`  ${r.platform}, ${r.cpus} CPU cores`);
  lines.push('', 'Backends, fastest first:');
  for (const b of r.backends) {
    lines.push(`  ${b.available ? '✓' : '✗'} ${b.name.padEnd(15)}${b.available ? 'available' : `not available${b.reason ? `: ${b.reason}` : ''}`}`);
  }
  const o = r.onnxRuntime;
  lines.push('', 'ONNX Runtime (CPU, native kernels):');
  if (o.available) {
    lines.push(`  ✓ onnxruntime-node ${o.version}: runs the generator for age/demo/eval (--runtime)`);
    lines.push(
      o.trainingConvolutions
        ? '  ✓ and the convolutions of wasm training (--conv-runtime)'
        : `  ✗ not for wasm training convolutions: ${o.trainingReason ?? 'unavailable'}`,
    );
  } else {
    lines.push(`  ✗ ${o.reason ?? 'not available'} (npm install onnxruntime-node: faster inference and wasm training)`);
  }
  lines.push('');
  if (r.requested) {
    lines.push(
      r.wouldUse
        ? `Would use: ${r.wouldUse} (RAGAN_BACKEND=${r.requested})`
        : `RAGAN_BACKEND=${r.requested} is not available here: commands will fail until it is installed.`,
    );
  } else {
    lines.push(`Would use: ${r.wouldUse ?? 'none'} (auto; set --backend or RAGAN_BACKEND to choose)`);
  }
  const available = (name: BackendName) => r.backends.some((b) => b.name === name && b.available);
  if (!available('tensorflow-gpu') && !available('tensorflow')) lines.push('', CPU_HINT);
  if (!available('tensorflow-gpu')) lines.push('', GPU_HINT);
  return lines.join('\n');
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('versions, the backends available here, the one that would be used, ONNX Runtime, and how to get the GPU backend')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await collectInfo();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInfo(report)}\n`);
    });
}
