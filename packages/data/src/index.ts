export { parseUtkFaceName, labelUtkFaceNames, type UtkFaceLabel, type LabelledName, type ParseResult } from './readers/utkface.js';
export { splitOf, fnv1a32, type Split } from './split.js';
export { sharedDataDir } from './shared-data.js';
