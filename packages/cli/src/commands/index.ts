// Every command of `ragan`: one file each, exporting `register<Name>(program)`. Add one line per command.
export { registerInfo } from './info.js';
