/**
 * The three-service compose app of issue 12's e2e and bench: `web` built from a Dockerfile written here
 * (busybox httpd on 8080 serving a page with its greeting and the record it reads from db), `worker` (a loop
 * asking web), `db` (a busybox httpd on 5432 standing in for a database, its record on the named volume
 * `dbdata`, written once, and a healthcheck); web depends on db being healthy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ComposeAppOptions {
  /** The port web is published on (ingress: every node). */
  published: number;
  webReplicas: number;
}

/** The page web serves once it has read db's record: this line, then `record <seconds>-<random>`. */
export const WEB_GREETING = 'web built by berth';

/** Writes the app under `dir` (compose.yaml, web/Dockerfile); answers the compose file's path. */
export function writeComposeApp(dir: string, options: ComposeAppOptions): string {
  mkdirSync(join(dir, 'web'), { recursive: true });
  writeFileSync(
    join(dir, 'web', 'Dockerfile'),
    [
      'FROM busybox',
      `RUN mkdir -p /www && echo "${WEB_GREETING}" > /www/greeting`,
      // The page: the greeting and db's record, refreshed every second.
      'CMD ["sh", "-c", "while true; do wget -q -O /tmp/db http://db:5432/record && cat /www/greeting /tmp/db > /www/next && mv /www/next /www/index.html; sleep 1; done & exec httpd -f -p 8080 -h /www"]',
      '',
    ].join('\n'),
  );
  const file = join(dir, 'compose.yaml');
  writeFileSync(
    file,
    `services:
  web:
    build: ./web
    stop_grace_period: 1s
    ports:
      - "${options.published}:8080"
    deploy:
      replicas: ${options.webReplicas}
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox
    stop_grace_period: 1s
    command: ["sh", "-c", "while true; do wget -q -O - http://web:8080/ || true; sleep 2; done"]
    depends_on: [web]
  db:
    image: busybox
    stop_grace_period: 1s
    command: ["sh", "-c", "mkdir -p /data/www && { [ -f /data/www/record ] || echo \\"record $$(date +%s)-$$RANDOM\\" > /data/www/record; } && exec httpd -f -p 5432 -h /data/www"]
    expose: ["5432"]
    volumes:
      - dbdata:/data
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5432/record"]
      interval: 1s
      retries: 60
volumes:
  dbdata: {}
`,
  );
  return file;
}
