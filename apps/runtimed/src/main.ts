import 'reflect-metadata';
import { flagsOrExit } from '@berth/flags';
import { stopOnSignals } from '@berth/lifecycle';
import pino from 'pino';
import { RuntimedApp } from './app';
import { parseRuntimedFlags, RuntimedConfig } from './config';

async function main(): Promise<void> {
  const config: RuntimedConfig = flagsOrExit('berth runtimed', () => parseRuntimedFlags(process.argv.slice(2)));
  const logger = pino({ level: config.logLevel, base: { component: 'runtimed' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let app: RuntimedApp;
  try {
    app = await RuntimedApp.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'runtimed failed to start');
    process.stderr.write(`berth runtimed: ${(err as Error).message}\n`);
    process.exit(1);
  }
  stopOnSignals(logger, async () => {
    logger.info('containers keep running; a restarted runtimed finds them again');
    await app.stop();
  });
}

void main();
