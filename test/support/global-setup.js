// Multi-process suites run bin/berth, so the bundles must match the sources under test.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'deploy', 'build.mjs')], { stdio: 'inherit' });
  // Set before the workers start, so every test and every process it starts has it: servers and agents
  // that tests run never record themselves as this machine's local node (/run/berth/local-node.json),
  // which a developer's own quick start may hold. A test of the record names a file of its own.
  process.env.BERTH_LOCAL_NODE_RECORD ??= '';
};
