/** Rows as the core benchmark writes them, for the bench scripts' tests. */
export const convRow = (gflops: number, opts: { threads?: number; backend?: string } = {}) => ({
  bench: 'conv3x3',
  op: 'filterGrad',
  shape: 'x[1,64,64,128]',
  backend: opts.backend ?? 'wasm',
  threads: opts.threads ?? 2,
  kernels: 'ragan',
  medianMs: 1,
  gflops,
});

export const iterRow = (ms: number) => ({
  bench: 'trainIteration',
  preset: 'tiny',
  backend: 'wasm',
  threads: 2,
  shape: '[4,64,64,3]',
  batch: 4,
  medianMs: ms,
  imagesPerSecond: 1,
});
