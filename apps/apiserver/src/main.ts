import 'reflect-metadata';
import pino from 'pino';
import { ApiServerApp } from './app';
import { ConfigError, parseServerFlags } from './config';

async function main(): Promise<void> {
  let config;
  try {
    config = parseServerFlags(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`berth server: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, base: { component: 'apiserver' } }, pino.destination(2));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
  let app: ApiServerApp;
  try {
    app = await ApiServerApp.start(config, logger);
  } catch (err) {
    logger.fatal({ err }, 'berth apiserver failed to start');
    process.stderr.write(`berth server: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
