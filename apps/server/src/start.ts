import { runBundledApp } from '@berth/compile-cache';

// The entry (dist/apps/server/main.js): every cluster a test or a user starts starts this process, which
// loads its npm modules from compiled code kept in dist/.compile-cache (libs/compile-cache says why);
// its own bundle, app.js, is compiled by node, so the stack traces it logs name the TypeScript sources.
runBundledApp(__dirname, { sourceMappedStacks: true });
