export { palettePlugin, PALETTE_MODELS_DIR } from './plugin.js';
export { paletteJpegTask } from './jpeg-task.js';
export { RESTORE_OPTIONS, parseRestoreOptions, type RestoreOptions } from './options.js';
