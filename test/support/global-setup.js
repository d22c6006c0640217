// Multi-process suites run bin/berth, so the bundles must match the sources under test.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  execFileSync(process.execPath, [join(__dirname, '..', '..', 'deploy', 'build.mjs')], { stdio: 'inherit' });
};
