// Preload (`node --import`) that appends the URL of every module the process resolves to the file named by
// COSELL_MODULE_TRACE, so a test can see which modules a command loaded.
import { register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url);
