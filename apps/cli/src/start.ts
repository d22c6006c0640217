import { installCompileCache } from '@berth/compile-cache';
import { join } from 'node:path';

// The CLI's entry (dist/apps/cli/main.js; deploy/build.mjs bundles the CLI itself as app.js beside it):
// every command starts a process, so the compiled code of the CLI and its modules is kept in the dist
// directory it was built in, and the rebuild that replaces the code clears it.
installCompileCache(join(__dirname, '..', '..', '.compile-cache'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(join(__dirname, 'app.js'));
