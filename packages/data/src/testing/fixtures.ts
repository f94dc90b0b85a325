/**
 * Test fixtures built in temporary folders from real faces: face-api's sample photos cut into
 * UTKFace-style chips (packages/core/test/sample-faces.ts; nothing to download, no licence limits).
 * Used by this package's tests; not part of the public API.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { pickSampleChips, sampleFaceChips } from '@ragan/test-utils/sample-faces';
import { Rng } from '@ragan/core';
import { requireUtkFaceCrops } from './utkface.js';

/** The folder of face chips (read-only): 200×200 JPEGs named like UTKFace files. */
export const faceChipsDir = sampleFaceChips;

/** `n` chip names spread evenly over the sorted folder (so that every age group occurs). */
export const pickFaceChips = pickSampleChips;

/** Copies `files` (chip names) into `dir`. */
export async function copyFaceChips(dir: string, files: readonly string[]): Promise<void> {
  const src = await faceChipsDir();
  for (const f of files) copyFileSync(join(src, f), join(dir, f));
}

/** UTKFace's crops in ../shared, for the benchmark (which measures on the real set). */
export function utkFaceDir(): string {
  return requireUtkFaceCrops();
}

export function tempDir(prefix = 'ragan-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A PNG whose header declares `width`×`height` but holds one tiny compressed row: a decompression bomb's header. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(16))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The broken files of the acceptance test: name → why it must be skipped. All but one have valid UTKFace names. */
export const BROKEN_FILES = {
  '30_0_0_20990101000000001.jpg.chip.jpg': 'empty',
  '30_0_0_20990101000000002.jpg.chip.jpg': 'corrupt', // truncated JPEG
  '30_0_0_20990101000000003.jpg.chip.jpg': 'not-an-image', // text
  '30_0_0_20990101000000004.jpg.chip.jpg': 'not-an-image', // random bytes
  'thirty_0_0_20990101000000005.jpg.chip.jpg': 'bad-name', // a good image under a bad name
  '30_0_0_20990101000000006.jpg.chip.jpg': 'too-large', // 60000×60000 PNG header
} as const;

/** Writes BROKEN_FILES into `dir` (made from a real face chip's bytes where an image is needed). */
export async function writeBrokenFiles(dir: string): Promise<void> {
  const src = join(await faceChipsDir(), (await pickFaceChips(1))[0]!);
  const jpeg = readFileSync(src);
  const names = Object.keys(BROKEN_FILES);
  writeFileSync(join(dir, names[0]!), Buffer.alloc(0));
  writeFileSync(join(dir, names[1]!), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(join(dir, names[2]!), 'This is not an image, it is a note about faces.\n');
  const rng = Rng.fromSeed(7);
  writeFileSync(join(dir, names[3]!), Buffer.from(Array.from({ length: 4096 }, () => rng.nextU32() & 255)));
  copyFileSync(src, join(dir, names[4]!));
  writeFileSync(join(dir, names[5]!), pngHeaderOnly(60000, 60000));
}

/** Unreadable entries without chmod (tests run as root): a folder and a dangling symlink with image names. */
export const UNREADABLE_FILES = {
  '31_1_1_20990101000000007.jpg.chip.jpg': 'unreadable', // a folder
  '31_1_1_20990101000000008.jpg.chip.jpg': 'unreadable', // a dangling symlink
} as const;

export function writeUnreadableFiles(dir: string): void {
  const [folder, link] = Object.keys(UNREADABLE_FILES);
  mkdirSync(join(dir, folder!));
  symlinkSync(join(dir, 'does-not-exist.jpg'), join(dir, link!));
}
