/** What `age`, `demo` and `align` share: the face detector's options, the no-face message, `--to`. */
import { Option } from 'commander';
import { ConfigError, parseAgeTarget, type AgeGroupSet, type AgeTargetSpec } from '@ragan/core';
import { FACE_DETECTORS, type FaceDetector } from '@ragan/data';

export type Detector = FaceDetector;

/** `--detector` of `age`, `demo` and `align`. */
export const detectorOption = (): Option =>
  new Option(
    '--detector <name>',
    'face detector: auto (the default: ssd plus the faces only BlazeFace finds, at score ≥ 0.75, with eyes face-api confirms, or that ' +
      "MediaPipe's face mesh calls a face), ssd (face-api), tiny (fast, " +
      'misses small faces), blazeface (MediaPipe: finds dark, blurred, rotated and frame-filling faces SSD misses, not small ones)',
  )
    .choices([...FACE_DETECTORS])
    .default('auto');

export const MIN_CONFIDENCE_HELP = 'minimum detector confidence in (0, 1)';

/** `--min-confidence`: a number strictly between 0 and 1. */
export function parseMinConfidence(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new ConfigError('--min-confidence', `must be in (0, 1), got ${value}`);
  return p;
}

const NEXT_DETECTOR: Record<Detector, string> = { ssd: 'auto', tiny: 'auto', blazeface: 'auto', auto: 'blazeface' };

/** The message when the detector finds no face: what was tried and what to try next. */
export function noFaceMessage(detector: Detector, minConfidence: number): string {
  return (
    `no face found (${detector} detector, min confidence ${minConfidence}); try --min-confidence 0.3, --detector ` +
    `${NEXT_DETECTOR[detector]}, or a photo where faces are at least ~40 px across`
  );
}

/**
 * `--to` for a model's age groups (parseAgeTarget). A range that the model only has as part of a
 * group ("80+" inside "70+", "20-25" inside "20-29") is that group: `log` gets one line saying so, since
 * the result is not what was written.
 */
export function parseTargetFlag(value: string, set: AgeGroupSet, log: (line: string) => void): AgeTargetSpec {
  const target = parseAgeTarget(value, set, '--to');
  if ('group' in target && String(target.group) !== value.trim()) {
    log(`ragan: --to ${value.trim()} is the age group ${target.group} (this model's groups: ${set.groups.map((g) => g.label).join(', ')})`);
  }
  return target;
}
