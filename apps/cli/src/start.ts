import { runBundledApp } from '@berth/compile-cache';

// The CLI's entry (dist/apps/cli/main.js; deploy/build.mjs bundles the CLI itself as app.js beside it):
// every command starts a process, so the compiled code of the CLI and its modules is kept in the dist
// directory it was built in, and the rebuild that replaces the code clears it. The CLI's own bundle is
// cached too: it is the largest module a command compiles, and a command's stack trace is rare.
runBundledApp(__dirname, { sourceMappedStacks: false });
