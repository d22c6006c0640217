import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject } from '@berth/compose';
import { runBerth } from '@berth/testing';

// The compose files of well-known example apps, written here as their projects publish them (not fetched).
const APPS: Record<string, { files: Record<string, string>; services: string[] }> = {
  // Docker's example voting app (dockersamples/example-voting-app).
  voting: {
    services: ['db', 'redis', 'result', 'seed', 'vote', 'worker'],
    files: {
      'compose.yaml': `
services:
  vote:
    build:
      context: ./vote
      target: dev
    depends_on:
      redis:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost"]
      interval: 15s
      timeout: 5s
      retries: 3
      start_period: 10s
    volumes:
     - ./vote:/usr/local/app
    ports:
      - "8080:80"
    networks:
      - front-tier
      - back-tier

  result:
    build: ./result
    entrypoint: nodemon --inspect=0.0.0.0 server.js
    depends_on:
      db:
        condition: service_healthy
    volumes:
      - ./result:/usr/local/app
    ports:
      - "8081:80"
      - "127.0.0.1:9229:9229"
    networks:
      - front-tier
      - back-tier

  worker:
    build:
      context: ./worker
    depends_on:
      redis:
        condition: service_healthy
      db:
        condition: service_healthy
    networks:
      - back-tier

  redis:
    image: redis:alpine
    volumes:
      - "./healthchecks:/healthchecks"
    healthcheck:
      test: /healthchecks/redis.sh
      interval: "5s"
    networks:
      - back-tier

  db:
    image: postgres:15-alpine
    environment:
      POSTGRES_USER: "postgres"
      POSTGRES_PASSWORD: "postgres"
    volumes:
      - "db-data:/var/lib/postgresql/data"
      - "./healthchecks:/healthchecks"
    healthcheck:
      test: /healthchecks/postgres.sh
      interval: "5s"
    networks:
      - back-tier

  seed:
    build: ./seed-data
    profiles: ["seed"]
    depends_on:
      vote:
        condition: service_healthy
    networks:
      - front-tier
    restart: "no"

volumes:
  db-data:

networks:
  front-tier:
  back-tier:
`,
    },
  },
  // WordPress with MySQL (the awesome-compose / Docker docs example).
  wordpress: {
    services: ['db', 'wordpress'],
    files: {
      'docker-compose.yml': `
version: "3.9"
services:
  db:
    image: mysql:8.0
    command: '--default-authentication-plugin=mysql_native_password'
    volumes:
      - db_data:/var/lib/mysql
    restart: always
    environment:
      - MYSQL_ROOT_PASSWORD=somewordpress
      - MYSQL_DATABASE=wordpress
      - MYSQL_USER=wordpress
      - MYSQL_PASSWORD=wordpress
    expose:
      - 3306
      - 33060
  wordpress:
    image: wordpress:latest
    volumes:
      - wp_data:/var/www/html
    ports:
      - 80:80
    restart: always
    environment:
      - WORDPRESS_DB_HOST=db
      - WORDPRESS_DB_USER=wordpress
      - WORDPRESS_DB_PASSWORD=wordpress
      - WORDPRESS_DB_NAME=wordpress
volumes:
  db_data:
  wp_data:
`,
    },
  },
  // Gitea with PostgreSQL (Gitea's documentation).
  gitea: {
    services: ['db', 'server'],
    files: {
      'docker-compose.yml': `
version: "3"

networks:
  gitea:
    external: false

services:
  server:
    image: docker.gitea.com/gitea:1.23
    container_name: gitea
    environment:
      - USER_UID=1000
      - USER_GID=1000
      - GITEA__database__DB_TYPE=postgres
      - GITEA__database__HOST=db:5432
      - GITEA__database__NAME=gitea
      - GITEA__database__USER=gitea
      - GITEA__database__PASSWD=\${GITEA_DB_PASSWORD:-gitea}
    restart: always
    networks:
      - gitea
    volumes:
      - ./gitea:/data
    ports:
      - "3000:3000"
      - "222:22"
    depends_on:
      - db

  db:
    image: docker.io/library/postgres:14
    restart: always
    environment:
      - POSTGRES_USER=gitea
      - POSTGRES_PASSWORD=\${GITEA_DB_PASSWORD:-gitea}
      - POSTGRES_DB=gitea
    networks:
      - gitea
    volumes:
      - ./postgres:/var/lib/postgresql/data
`,
      '.env': 'GITEA_DB_PASSWORD=from-dotenv\n',
    },
  },
  // Prometheus and Grafana (awesome-compose's prometheus-grafana).
  monitoring: {
    services: ['grafana', 'prometheus'],
    files: {
      'compose.yaml': `
services:
  prometheus:
    image: prom/prometheus
    container_name: prometheus
    command:
      - '--config.file=/etc/prometheus/prometheus.yml'
    ports:
      - 9090:9090
    restart: unless-stopped
    volumes:
      - ./prometheus:/etc/prometheus
      - prom_data:/prometheus
  grafana:
    image: grafana/grafana
    container_name: grafana
    ports:
      - 3000:3000
    restart: unless-stopped
    environment:
      - GF_SECURITY_ADMIN_USER=admin
      - GF_SECURITY_ADMIN_PASSWORD=grafana
    volumes:
      - ./grafana:/etc/grafana/provisioning/datasources
volumes:
  prom_data:
`,
    },
  },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'compose-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeApp(name: string): string {
  const appDir = join(dir, name);
  mkdirSync(appDir, { recursive: true });
  for (const [file, text] of Object.entries(APPS[name].files)) writeFileSync(join(appDir, file), text);
  return appDir;
}

// No variable of the test's own environment leaks into the projects.
const env = { PATH: process.env.PATH };

describe('berth compose config', () => {
  it.each(Object.keys(APPS))('loads the %s app, and its output loads back into the same project', async (name) => {
    const appDir = writeApp(name);
    const printed = await runBerth(['compose', '--project-directory', appDir, 'config'], { env });
    expect(printed.stderr).toBe('');
    expect(printed.code).toBe(0);
    const names = await runBerth(['compose', '--project-directory', appDir, 'config', '--services'], { env });
    expect(names.stdout.trim().split('\n').sort()).toEqual(APPS[name].services.filter((s) => s !== 'seed'));

    const project = await loadProject({ workingDir: appDir, env });
    writeFileSync(join(dir, 'printed.yaml'), printed.stdout);
    const again = await loadProject({ workingDir: appDir, files: [join(dir, 'printed.yaml')], env });
    expect({ ...again, files: project.files }).toEqual(project);
  });

  it('reads .env and the profiles of the voting app', async () => {
    const gitea = writeApp('gitea');
    const printed = await runBerth(['compose', '--project-directory', gitea, 'config'], { env });
    expect(printed.stdout).toContain('POSTGRES_PASSWORD: from-dotenv');
    const voting = writeApp('voting');
    const profiles = await runBerth(['compose', '--project-directory', voting, 'config', '--profiles'], { env });
    expect(profiles.stdout).toBe('seed\n');
    const withSeed = await runBerth(['compose', '--project-directory', voting, '--profile', 'seed', 'config', '--services'], { env });
    expect(withSeed.stdout.trim().split('\n').sort()).toEqual(APPS.voting.services);
    // A service named enables its profile, and brings what it depends on.
    const seed = await runBerth(['compose', '--project-directory', voting, 'config', '--services', 'seed'], { env });
    expect(seed.stdout.trim().split('\n').sort()).toEqual(['redis', 'seed', 'vote']);
  });

  it('refuses a wrong key in one line naming file, service and key, exit 1', async () => {
    const appDir = join(dir, 'bad');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'compose.yaml'), 'services:\n  web:\n    image: nginx\n    ports: ["http:80"]\n');
    const result = await runBerth(['compose', '-f', join(appDir, 'compose.yaml'), 'config'], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('error: compose.yaml: services.web.ports[0]: published must be a port number (0-65535), not "http"\n');
  });

  it('-q only checks; -p names the project', async () => {
    const appDir = writeApp('wordpress');
    const quiet = await runBerth(['compose', '--project-directory', appDir, 'config', '-q'], { env });
    expect(quiet).toEqual({ code: 0, stdout: '', stderr: '' });
    const named = await runBerth(['compose', '--project-directory', appDir, '-p', 'blog', 'config'], { env });
    expect(named.stdout).toMatch(/^name: blog\n/);
    expect(named.stdout).toContain('name: blog_db_data');
  });
});
