import * as tf from '@tensorflow/tfjs';
import { httpStore, loadGenerator, reage, type Generator, type ModelManifest } from '@ragan/core';
import { BACKEND_LABELS, DEMO_BACKENDS, backendNote, parseBackendParam, switchBackend, unavailableReason, type DemoBackend } from './backends.js';
import { detectFaces, loadFaceDetector } from './face-detect.js';
import { agePhoto, fitSize, prepareFaces, rgbaToRgb, rgbToRgba, type PreparedFace } from './pipeline.js';
import type { RgbImage } from '@ragan/core';
import { describeAge } from './slider.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  photo: $<HTMLInputElement>('photo'),
  webcamStart: $<HTMLButtonElement>('webcam-start'),
  webcamBox: $('webcam-box'),
  webcam: $<HTMLVideoElement>('webcam'),
  webcamSnap: $<HTMLButtonElement>('webcam-snap'),
  webcamStop: $<HTMLButtonElement>('webcam-stop'),
  age: $<HTMLInputElement>('age'),
  ageLabel: $('age-label'),
  backendSelect: $<HTMLSelectElement>('backend-select'),
  backend: $('backend'),
  timing: $('timing'),
  status: $('status'),
  modelNote: $('model-note'),
  before: $<HTMLCanvasElement>('before'),
  after: $<HTMLCanvasElement>('after'),
  download: $<HTMLButtonElement>('download'),
  faces: $('faces'),
};

/** What the page exposes for its end-to-end test (and the curious): no photo pixels, only geometry. */
interface DemoDebug {
  backend?: string;
  renderedAge?: number;
  faces: Array<Pick<PreparedFace, 'region' | 'quad' | 'landmarks'> & { score: number }>;
  timings?: { generatorMs: number; pasteMs: number; totalMs: number; detectMs?: number };
  manifest?: ModelManifest;
  /** tfjs's environment flags (precision of the active backend and so on). */
  tfFlags(): Record<string, unknown>;
}
const debug: DemoDebug = { faces: [], tfFlags: () => ({ ...tf.env().features }) };
(window as unknown as { raganDemo: DemoDebug }).raganDemo = debug;

const asset = (path: string) => new URL(path, document.baseURI).href;
const WASM_BASE = asset('tfjs-wasm/');

type State = 'loading' | 'ready' | 'working' | 'done' | 'no-face' | 'error';
function setState(state: State, message?: string): void {
  document.body.dataset.state = state;
  if (message !== undefined) ui.status.textContent = message;
}

function fail(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  console.error(e);
  setState('error', `Error: ${msg}`);
}

let generator: Generator | undefined;
let photo: { rgb: RgbImage; faces: PreparedFace[]; detectMs: number } | undefined;

// ---- age slider -------------------------------------------------------------------------------------

const showAge = () => (ui.ageLabel.textContent = describeAge(Number(ui.age.value)));
ui.age.addEventListener('input', () => {
  showAge();
  requestRender();
});
showAge();

// ---- rendering (coalesced: while one runs, only the latest slider value is kept) -------------------

let rendering = false;
let pending = false;

function requestRender(): void {
  if (!photo || !generator) return;
  pending = true;
  if (!rendering) void renderLoop();
}

async function renderLoop(): Promise<void> {
  rendering = true;
  try {
    while (pending) {
      pending = false;
      await render(Number(ui.age.value));
    }
  } catch (e) {
    fail(e);
  } finally {
    rendering = false;
  }
}

function drawRgb(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(new ImageData(rgbToRgba(img), img.width, img.height), 0, 0);
}

async function render(age: number): Promise<void> {
  if (!photo || !generator) return;
  const { rgb, faces } = photo;
  if (faces.length === 0) return;
  setState('working', `Re-aging ${faces.length} face${faces.length === 1 ? '' : 's'} to ${age}…`);
  const t0 = performance.now();
  const aged = await agePhoto(generator, rgb, faces, age);
  drawRgb(ui.after, aged.image);
  const totalMs = performance.now() - t0;
  const pasteMs = totalMs - aged.ms;
  debug.timings = { generatorMs: aged.ms, pasteMs, totalMs, detectMs: photo.detectMs };
  debug.renderedAge = age;
  ui.timing.textContent =
    `${Math.round(totalMs)} ms (generator ${Math.round(aged.ms)} ms for ${faces.length} face${faces.length === 1 ? '' : 's'}, ` +
    `paste-back ${Math.round(pasteMs)} ms; detection ${Math.round(photo.detectMs)} ms)`;
  showCrops(faces, aged.crops);
  ui.download.disabled = false;
  document.body.dataset.age = String(age);
  setState('done', `Aged to ${describeAge(age)} on ${debug.backend}.`);
}

function showCrops(faces: readonly PreparedFace[], outs: readonly RgbImage[]): void {
  ui.faces.replaceChildren(
    ...faces.map((f, i) => {
      const fig = document.createElement('figure');
      const a = document.createElement('canvas');
      const b = document.createElement('canvas');
      drawRgb(a, f.crop);
      drawRgb(b, outs[i]!);
      const cap = document.createElement('figcaption');
      cap.textContent = `face ${i + 1}: aligned input → output`;
      fig.append(cap, a, b);
      return fig;
    }),
  );
}

// ---- photo input ------------------------------------------------------------------------------------

async function setPhoto(source: CanvasImageSource, width: number, height: number): Promise<void> {
  if (!generator) return;
  const size = fitSize(width, height);
  const ctx = ui.before.getContext('2d', { willReadFrequently: true })!;
  ui.before.width = size.width;
  ui.before.height = size.height;
  ctx.drawImage(source, 0, 0, size.width, size.height);
  const rgb = rgbaToRgb(ctx.getImageData(0, 0, size.width, size.height).data, size.width, size.height);
  drawRgb(ui.after, rgb);
  ui.faces.replaceChildren();
  ui.download.disabled = true;
  setState('working', 'Finding faces…');
  const t0 = performance.now();
  const found = await detectFaces(ui.before);
  const detectMs = performance.now() - t0;
  const faces = prepareFaces(generator, rgb, found);
  photo = { rgb, faces, detectMs };
  debug.faces = faces.map((f, i) => ({ region: f.region, quad: f.quad, landmarks: f.landmarks, score: found[i]!.score }));
  document.body.dataset.faces = String(faces.length);
  if (faces.length === 0) {
    setState('no-face', `No face found (${Math.round(detectMs)} ms). Try a photo where the face is larger, upright and well lit.`);
    return;
  }
  requestRender();
}

ui.photo.addEventListener('change', () => {
  const file = ui.photo.files?.[0];
  if (!file) return;
  createImageBitmap(file, { imageOrientation: 'from-image' })
    .then(async (bmp) => {
      try {
        await setPhoto(bmp, bmp.width, bmp.height);
      } finally {
        bmp.close();
      }
    })
    .catch((e: unknown) => fail(e instanceof Error && e.name === 'InvalidStateError' ? new Error(`cannot decode ${file.name} as an image`) : e));
});

// Drop a photo anywhere on the page.
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (!file || ui.photo.disabled) return;
  const dt = new DataTransfer();
  dt.items.add(file);
  ui.photo.files = dt.files;
  ui.photo.dispatchEvent(new Event('change'));
});

// ---- webcam -----------------------------------------------------------------------------------------

let stream: MediaStream | undefined;
function stopWebcam(): void {
  stream?.getTracks().forEach((t) => t.stop());
  stream = undefined;
  ui.webcam.srcObject = null;
  ui.webcamBox.hidden = true;
  delete ui.webcamBox.dataset.live;
  ui.webcamSnap.disabled = true;
}
// The snapshot button works once frames arrive.
ui.webcam.addEventListener('loadeddata', () => {
  if (ui.webcam.videoWidth === 0) return;
  ui.webcamBox.dataset.live = 'true';
  ui.webcamSnap.disabled = false;
});
ui.webcamStart.addEventListener('click', () => {
  navigator.mediaDevices
    .getUserMedia({ video: { facingMode: 'user', width: { ideal: 1280 } }, audio: false })
    .then((s) => {
      stream = s;
      ui.webcam.srcObject = s;
      ui.webcamBox.hidden = false;
    })
    .catch((e: unknown) => setState(photo ? 'done' : 'ready', `The webcam is not available: ${e instanceof Error ? e.message : String(e)}`));
});
ui.webcamSnap.addEventListener('click', () => {
  const v = ui.webcam;
  if (!v.videoWidth) return;
  void setPhoto(v, v.videoWidth, v.videoHeight).catch(fail);
});
ui.webcamStop.addEventListener('click', stopWebcam);

// ---- download ---------------------------------------------------------------------------------------

ui.download.addEventListener('click', () => {
  ui.after.toBlob((blob) => {
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `ragan-age-${ui.age.value}.png`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, 'image/png');
});

// ---- backend switch ---------------------------------------------------------------------------------

/** A first run on a new backend compiles shaders / kernels: do it on a blank face so the timing shown is steady. */
async function warmUp(): Promise<void> {
  if (!generator) return;
  const res = generator.config.resolution;
  const x = tf.zeros([1, res, res, 3]) as tf.Tensor4D;
  const m = tf.ones([1, res, res, 1]) as tf.Tensor4D;
  try {
    const y = reage(generator, x, m, { age: 40 });
    await y.data();
    y.dispose();
  } finally {
    tf.dispose([x, m]);
  }
}

async function useBackend(name: DemoBackend | 'auto'): Promise<void> {
  ui.backend.textContent = 'switching…';
  const info = await switchBackend(name, WASM_BASE);
  const label = info.name === 'wasm' ? `wasm (${info.threads ?? 1} thread${(info.threads ?? 1) === 1 ? '' : 's'})` : info.name;
  debug.backend = info.name;
  ui.backend.textContent = label;
  ui.backendSelect.value = info.name;
  document.body.dataset.backend = info.name;
}

function fillBackendSelect(): void {
  ui.backendSelect.replaceChildren(
    ...DEMO_BACKENDS.map((b) => {
      const why = unavailableReason(b);
      const note = why ?? backendNote(b);
      const o = new Option(note ? `${BACKEND_LABELS[b]} — ${note}` : BACKEND_LABELS[b], b);
      o.disabled = why !== undefined;
      return o;
    }),
  );
}

ui.backendSelect.addEventListener('change', () => {
  const name = ui.backendSelect.value as DemoBackend;
  const previous = debug.backend;
  setState('working', `Switching to ${BACKEND_LABELS[name]}…`);
  useBackend(name)
    .then(warmUp)
    .then(() => {
      if (photo && photo.faces.length > 0) requestRender();
      else setState(photo ? 'no-face' : 'ready', `Running on ${debug.backend}.`);
    })
    .catch((e: unknown) => {
      // Stay on the backend that worked.
      ui.backendSelect.value = previous ?? '';
      ui.backend.textContent = previous ?? 'none';
      setState(photo ? 'done' : 'ready', `${BACKEND_LABELS[name]} could not start: ${e instanceof Error ? e.message : String(e)}`);
    });
});

// ---- start ------------------------------------------------------------------------------------------

async function start(): Promise<void> {
  fillBackendSelect();
  const params = new URLSearchParams(location.search);
  await useBackend(parseBackendParam(params.get('backend')));
  setState('loading', 'Loading the models…');
  const [{ generator: g, manifest }] = await Promise.all([
    loadGenerator(httpStore(asset('models/ragan/'))),
    loadFaceDetector(asset('models/face-api/'), asset('models/blazeface/')),
  ]);
  generator = g;
  debug.manifest = manifest;
  const extra = manifest.extra ?? {};
  if (extra.untrained === true) {
    ui.modelNote.textContent =
      `Untrained demo model — results are noise until a trained model is bundled. ` +
      `(${manifest.config.resolution}×${manifest.config.resolution} generator, seed ${String(extra.seed ?? '?')})`;
    ui.modelNote.hidden = false;
  } else {
    // What the model is and the terms its weights come with (ragan export --meta), e.g. UTKFace's licence.
    const meta = (typeof extra.meta === 'object' && extra.meta !== null ? extra.meta : {}) as Record<string, unknown>;
    const parts = [`${manifest.config.resolution}×${manifest.config.resolution} model`];
    if (typeof extra.step === 'number') parts.push(`${extra.step} training steps`);
    if (typeof meta.trainedOn === 'string') parts.push(`trained on ${meta.trainedOn}`);
    ui.modelNote.textContent = `${parts.join(', ')}.${typeof meta.licence === 'string' ? ` Weights: ${meta.licence}.` : ''}`;
    ui.modelNote.className = 'info';
    ui.modelNote.hidden = false;
  }
  await warmUp();
  ui.photo.disabled = false;
  ui.webcamStart.disabled = !navigator.mediaDevices?.getUserMedia;
  setState('ready', `Ready on ${debug.backend} (tfjs ${tf.version.tfjs}). Choose a photo or use the webcam.`);
}

start().catch(fail);

if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register(asset('sw.js')).catch((e: unknown) => console.warn('service worker not registered:', e));
}
