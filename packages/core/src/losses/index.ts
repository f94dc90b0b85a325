/**
 * RAGAN's losses (docs/model.md, "Losses"), one file per term. Each returns a scalar; callers own (dispose)
 * it and the inputs stay theirs. Logits are `[N, K]`, one per age group; `groups` are one-hot or blend
 * weights `[N, K]` selecting which group's logit a term uses.
 */
export { pickGroupLogit } from './group-logit.js';
export { discriminatorAdversarialLoss, generatorAdversarialLoss } from './adversarial.js';
export { r1Penalty, r1PenaltyWithLogits } from './r1.js';
export { ageClassificationLoss } from './age.js';
export { l1Loss } from './l1.js';
export { cosineIdentityLoss } from './identity.js';
export { BRIGHTNESS_MARGIN, brightnessLoss, chromaLoss, cueMaps, type CueMaps } from './cues.js';
