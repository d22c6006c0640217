/**
 * The compose files of well-known public example apps, written here as their projects publish them (not
 * fetched), with the files beside them that their services build, mount and read: Docker's voting app,
 * WordPress with MySQL, Gitea with PostgreSQL, Prometheus with Grafana. `test/compose/config.spec.ts`
 * loads them; `test/compose/apps.spec.ts` runs them.
 *
 * There is no internet here, so the images they name (`redis:alpine`, `postgres:15-alpine`, `mysql:8.0`,
 * `wordpress`, `docker.gitea.com/gitea:1.23`, `prom/prometheus`, `grafana/grafana`) are stand-ins built from
 * busybox (STAND_INS) and pushed under those names to the registry that stands in for docker.io and
 * docker.gitea.com. Each stand-in speaks the small part of its protocol the app's healthchecks and peers
 * use: redis answers PING, RPUSH and LPOP on 6379 (`redis-cli`); postgres and mysql serve a tiny SQL over
 * TCP on 5432 / 3306 with their images' users, passwords and databases (`psql`, `pg_isready`,
 * `mysqladmin ping`); wordpress and gitea report on their pages whether they reached their database with
 * the configured credentials; prometheus scrapes the targets of its mounted config; grafana queries the
 * datasource its provisioning file names. Like the programs they stand in for, they end when stopped
 * (SIGTERM), through `until-stopped`.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface ComposeAppFixture {
  /** Path (relative to the app's directory) → content; scripts (`.sh`, `.cgi`, `bin/`) are written executable. */
  files: Record<string, string>;
  /** Every service, profiles included, sorted. */
  services: string[];
}

/** Writes the files of an app (or a stand-in's build context) under `dir`; answers `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    if (/\.(sh|cgi)$|(^|\/)bin\/|server\.js$/.test(path)) chmodSync(file, 0o755);
  }
  return dir;
}

// The voting app's own code: vote (busybox httpd with a CGI page, in place of Flask), result (a page of
// the counts, in place of Node.js), worker (moves votes from redis to postgres, in place of .NET).
const VOTE_PAGE = `#!/bin/sh
# The vote page: GET shows the two options, POST vote=a|b pushes the vote onto redis' "votes" list.
option_a=\${OPTION_A:-Cats}
option_b=\${OPTION_B:-Dogs}
voter=$(printf '%s' "$HTTP_COOKIE" | sed -n 's/.*voter_id=\\([0-9a-z]*\\).*/\\1/p')
[ -n "$voter" ] || voter=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')
vote=
if [ "$REQUEST_METHOD" = POST ]; then
  vote=$(cat | sed -n 's/^vote=\\([ab]\\)$/\\1/p')
  if [ -z "$vote" ] || ! redis-cli -h redis rpush votes "{\\"voter_id\\":\\"$voter\\",\\"vote\\":\\"$vote\\"}" >/dev/null; then
    printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nthe vote could not be stored in redis\\n'
    exit 0
  fi
fi
printf 'Content-Type: text/html\\r\\nSet-Cookie: voter_id=%s\\r\\n\\r\\n' "$voter"
echo "<html><head><title>$option_a vs $option_b!</title></head><body>"
echo "<h3>$option_a vs $option_b!</h3>"
echo '<form method="POST"><button name="vote" value="a">'"$option_a"'</button><button name="vote" value="b">'"$option_b"'</button></form>'
case "$vote" in a) echo "<p>You voted for $option_a</p>";; b) echo "<p>You voted for $option_b</p>";; esac
echo "<p>Processed by container ID $(hostname)</p></body></html>"
`;

const RESULT_SERVER = `# berth's stand-in for the result app's server.js (busybox sh, run by the stand-in nodemon): serves the
# counts of the votes in postgres on $PORT.
mkdir -p /tmp/www/cgi-bin
cat > /tmp/www/cgi-bin/index.cgi <<'PAGE'
#!/bin/sh
printf 'Content-Type: text/html\\r\\n\\r\\n'
if ! counts=$(PGPASSWORD=postgres psql -h db -U postgres -d postgres -t -A -c 'SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote' 2>&1); then
  echo "<p>Waiting for db: $counts</p>"
  exit 0
fi
a=$(printf '%s\\n' "$counts" | sed -n 's/^a|//p')
b=$(printf '%s\\n' "$counts" | sed -n 's/^b|//p')
echo "<p>Cats: \${a:-0}</p><p>Dogs: \${b:-0}</p><p>$(( \${a:-0} + \${b:-0} )) votes</p>"
PAGE
chmod 755 /tmp/www/cgi-bin/index.cgi
echo "Listening on port \${PORT:-80}"
exec httpd -f -v -p "\${PORT:-80}" -h /tmp/www
`;

const WORKER = `#!/bin/sh
# Moves each vote from redis' "votes" list into postgres' votes table, one row per voter.
export PGPASSWORD=postgres
sql() { psql -h db -U postgres -d postgres -t -A -c "$1"; }
until sql 'CREATE TABLE IF NOT EXISTS votes (id VARCHAR(255) NOT NULL UNIQUE, vote VARCHAR(255) NOT NULL)' >/dev/null 2>&1; do
  echo "Waiting for db"; sleep 1
done
echo "Connected to db"
while true; do
  json=$(redis-cli -h redis lpop votes 2>/dev/null)
  if [ -z "$json" ]; then usleep 200000; continue; fi
  voter=$(printf '%s' "$json" | sed -n 's/.*"voter_id":"\\([0-9a-z]*\\)".*/\\1/p')
  vote=$(printf '%s' "$json" | sed -n 's/.*"vote":"\\([ab]\\)".*/\\1/p')
  echo "Processing vote for '$vote' by '$voter'"
  sql "INSERT INTO votes (id, vote) VALUES ('$voter', '$vote')" >/dev/null || echo "could not store the vote of $voter"
done
`;

export const APPS: Record<string, ComposeAppFixture> = {
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
      'healthchecks/redis.sh': `#!/bin/sh
set -eo pipefail

host="$(hostname -i || echo '127.0.0.1')"

if ping="$(redis-cli -h "$host" ping)" && [ "$ping" = 'PONG' ]; then
	exit 0
fi

exit 1
`,
      // The project's postgres.sh is bash (an array of psql's arguments); busybox has sh, so they are spelled out.
      'healthchecks/postgres.sh': `#!/bin/sh
set -eo pipefail

host="$(hostname -i || echo '127.0.0.1')"
user="\${POSTGRES_USER:-postgres}"
db="\${POSTGRES_DB:-$POSTGRES_USER}"
export PGPASSWORD="\${POSTGRES_PASSWORD:-}"

if select="$(echo 'SELECT 1' | psql --host "$host" --username "$user" --dbname "$db" --quiet --no-align --tuples-only)" && [ "$select" = '1' ]; then
	exit 0
fi

exit 1
`,
      'vote/Dockerfile': `# The real one is python:3.11-slim with Flask; here busybox httpd with a CGI page, curl for the healthcheck
# (and the stand-ins' until-stopped, so that it stops when told to).
FROM busybox AS base
COPY --from=redis:alpine /usr/local/bin/redis-cli /usr/local/bin/redis-cli
COPY --from=redis:alpine /usr/local/bin/curl /usr/local/bin/curl
COPY --from=redis:alpine /usr/local/bin/until-stopped /usr/local/bin/until-stopped
WORKDIR /usr/local/app
EXPOSE 80
CMD ["until-stopped", "httpd", "-f", "-v", "-p", "80", "-h", "/usr/local/app/www"]

# The dev target runs the code compose binds over /usr/local/app.
FROM base AS dev
ENV FLASK_ENV=development
CMD ["until-stopped", "httpd", "-f", "-v", "-p", "80", "-h", "/usr/local/app/www"]

FROM base AS final
COPY . .
`,
      'vote/www/cgi-bin/index.cgi': VOTE_PAGE,
      'result/Dockerfile': `# The real one is node:18-slim with nodemon; here busybox sh serves the page, run by a stand-in nodemon.
FROM busybox
COPY --from=postgres:15-alpine /usr/local/bin/psql /usr/local/bin/psql
COPY --from=postgres:15-alpine /usr/local/bin/sql-client /usr/local/bin/sql-client
COPY --from=postgres:15-alpine /usr/local/bin/until-stopped /usr/local/bin/until-stopped
COPY bin/nodemon /usr/local/bin/nodemon
WORKDIR /usr/local/app
COPY . .
ENV PORT=80
EXPOSE 80
CMD ["nodemon", "server.js"]
`,
      'result/bin/nodemon': `#!/bin/sh
# nodemon's stand-in: drops its options and runs the script (until stopped, as nodemon does on SIGTERM).
while [ "\${1#-}" != "$1" ]; do shift; done
exec until-stopped sh "$@"
`,
      'result/server.js': RESULT_SERVER,
      'worker/Dockerfile': `# The real one builds a .NET worker; here a busybox sh loop with the redis and postgres clients.
FROM busybox
COPY --from=redis:alpine /usr/local/bin/redis-cli /usr/local/bin/redis-cli
COPY --from=postgres:15-alpine /usr/local/bin/psql /usr/local/bin/psql
COPY --from=postgres:15-alpine /usr/local/bin/sql-client /usr/local/bin/sql-client
COPY --from=postgres:15-alpine /usr/local/bin/until-stopped /usr/local/bin/until-stopped
COPY worker.sh /app/worker.sh
CMD ["until-stopped", "/app/worker.sh"]
`,
      'worker/worker.sh': WORKER,
      'seed-data/Dockerfile': `# The real one posts 3000 votes with ab; here busybox wget posts a few.
FROM busybox
COPY generate-votes.sh /seed/generate-votes.sh
CMD ["/seed/generate-votes.sh"]
`,
      'seed-data/generate-votes.sh': `#!/bin/sh
for vote in a a b; do wget -q -O /dev/null --post-data "vote=$vote" http://vote/; done
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
  // Prometheus and Grafana (awesome-compose's prometheus-grafana), with its prometheus.yml and datasource.yml.
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
      'prometheus/prometheus.yml': `global:
  scrape_interval: 15s
  scrape_timeout: 10s
  evaluation_interval: 15s
alerting:
  alertmanagers:
  - static_configs:
    - targets: []
    scheme: http
    timeout: 10s
    api_version: v1
scrape_configs:
- job_name: prometheus
  honor_timestamps: true
  scrape_interval: 15s
  scrape_timeout: 10s
  metrics_path: /metrics
  scheme: http
  static_configs:
  - targets:
    - localhost:9090
`,
      'grafana/datasource.yml': `apiVersion: 1

datasources:
- name: Prometheus
  type: prometheus
  url: http://prometheus:9090
  isDefault: true
  access: proxy
  editable: true
`,
    },
  },
};

// ---- The stand-in images ----

/** One connection of the SQL stand-in: `HELLO user password database`, then a statement a line (or `PING`). */
const SQL_CONN = `#!/bin/sh
# Tables are files under $SQL_DATA/db/DATABASE: a header line of column names, then one row a line, "|" between.
line() { IFS= read -r l || return 1; l=$(printf '%s' "$l" | tr -d '\\r'); }
line || exit 0
set -- $l
case "$1" in
  PING) echo "accepting connections"; exit 0;;
  HELLO) ;;
  *) echo "FATAL: invalid startup packet"; exit 0;;
esac
grep -qxF "$2 $3" "$SQL_DATA/.users" || { echo "FATAL: password authentication failed for user \\"$2\\""; exit 0; }
db="$SQL_DATA/db/$4"
[ -n "$4" ] && [ -d "$db" ] || { echo "FATAL: database \\"$4\\" does not exist"; exit 0; }
echo OK
while line; do
  sql=$(printf '%s' "$l" | sed 's/;* *$//')
  case "$sql" in
    'SELECT 1') echo 1;;
    'CREATE TABLE IF NOT EXISTS '*)
      table=$(printf '%s' "$sql" | sed -n 's/^CREATE TABLE IF NOT EXISTS \\([a-z_]*\\) .*/\\1/p')
      columns=$(printf '%s' "$sql" | sed 's/^[^(]*(//; s/)$//' | tr ',' '\\n' | sed 's/^ *//; s/ .*//' | tr '\\n' '|')
      [ -n "$table" ] && [ ! -f "$db/$table" ] && echo "\${columns%|}" > "$db/$table"
      echo "CREATE TABLE";;
    'INSERT INTO '*)
      table=$(printf '%s' "$sql" | sed -n 's/^INSERT INTO \\([a-z_]*\\) .*/\\1/p')
      row=$(printf '%s' "$sql" | sed -n "s/.* VALUES *(\\(.*\\))$/\\1/p" | sed "s/' *, *'/|/g; s/^'//; s/'$//")
      if [ -z "$table" ] || [ ! -f "$db/$table" ] || [ -z "$row" ]; then echo "ERROR: cannot insert: $sql"; continue; fi
      until mkdir "$db/.lock" 2>/dev/null; do usleep 10000; done
      { head -n 1 "$db/$table"; tail -n +2 "$db/$table" | grep -v "^\${row%%|*}|"; echo "$row"; } > "$db/.next" && mv "$db/.next" "$db/$table"
      rmdir "$db/.lock"
      echo "INSERT 0 1";;
    'SELECT '*', COUNT('*') AS count FROM '*' GROUP BY '*)
      column=$(printf '%s' "$sql" | sed -n 's/^SELECT \\([a-z_]*\\),.*/\\1/p')
      table=$(printf '%s' "$sql" | sed -n 's/.* FROM \\([a-z_]*\\) .*/\\1/p')
      [ -f "$db/$table" ] || { echo "ERROR: relation \\"$table\\" does not exist"; continue; }
      awk -F'|' -v c="$column" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) n = i; next } n { count[$n]++ } END { for (k in count) print k "|" count[k] }' "$db/$table";;
    *) echo "ERROR: syntax error at or near \\"$sql\\"";;
  esac
done
`;

/** The SQL stand-in's client: `sql-client HOST PORT USER PASSWORD DATABASE < statements`; exit 2 when it cannot connect. */
const SQL_CLIENT = `#!/bin/sh
out=$( { printf 'HELLO %s %s %s\\n' "$3" "$4" "$5"; cat; } | nc -w 5 "$1" "$2" 2>/dev/null)
case "$out" in
  OK*) printf '%s\\n' "$out" | tail -n +2; printf '%s\\n' "$out" | grep -q '^ERROR' && exit 1; exit 0;;
  FATAL*) echo "connection to server at \\"$1\\", port $2 failed: $out" >&2; exit 2;;
  *) echo "connection to server at \\"$1\\", port $2 failed: Connection refused" >&2; exit 2;;
esac
`;

const PSQL = `#!/bin/sh
host=\${PGHOST:-localhost} port=\${PGPORT:-5432} user=\${PGUSER:-postgres} db= command=
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--host) host=$2; shift;; --host=*) host=\${1#*=};;
    -p|--port) port=$2; shift;; --port=*) port=\${1#*=};;
    -U|--username) user=$2; shift;; --username=*) user=\${1#*=};;
    -d|--dbname) db=$2; shift;; --dbname=*) db=\${1#*=};;
    -c|--command) command=$2; shift;;
    -*) ;;
    *) db=$1;;
  esac
  shift
done
if [ -n "$command" ]; then echo "$command"; else cat; fi | sql-client "$host" "$port" "$user" "$PGPASSWORD" "\${db:-$user}"
`;

const PG_ISREADY = `#!/bin/sh
host=\${PGHOST:-localhost} port=\${PGPORT:-5432} quiet=
while [ $# -gt 0 ]; do
  case "$1" in -h|--host) host=$2; shift;; -p|--port) port=$2; shift;; -U|-d|-t) shift;; -q) quiet=1;; esac
  shift
done
if [ "$(echo PING | nc -w 3 "$host" "$port" 2>/dev/null)" = "accepting connections" ]; then
  [ -n "$quiet" ] || echo "$host:$port - accepting connections"; exit 0
fi
[ -n "$quiet" ] || echo "$host:$port - no response"; exit 2
`;

const MYSQLADMIN = `#!/bin/sh
host=localhost port=3306 command=
while [ $# -gt 0 ]; do
  case "$1" in -h|--host) host=$2; shift;; --host=*) host=\${1#*=};; -P|--port) port=$2; shift;; -u|--user) shift;; -*) ;; *) command=$1;; esac
  shift
done
[ "$command" = ping ] || { echo "mysqladmin: only ping is offered by this stand-in" >&2; exit 1; }
if [ "$(echo PING | nc -w 3 "$host" "$port" 2>/dev/null)" = "accepting connections" ]; then echo "mysqld is alive"; exit 0; fi
echo "mysqladmin: connect to server at '$host' failed" >&2; exit 1
`;

const POSTGRES_ENTRYPOINT = `#!/bin/sh
set -e
[ "\${1#-}" != "$1" ] && set -- postgres "$@"
[ "$1" = postgres ] || exec "$@"
mkdir -p "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ]; then
    echo "Error: Database is uninitialized and superuser password is not specified." >&2; exit 1
  fi
  user=\${POSTGRES_USER:-postgres}
  echo "$user $POSTGRES_PASSWORD" > "$PGDATA/.users"
  mkdir -p "$PGDATA/db/\${POSTGRES_DB:-$user}"
  echo "$PG_MAJOR" > "$PGDATA/PG_VERSION"
  echo "PostgreSQL init process complete; ready for start up."
else
  echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi
echo "database system is ready to accept connections"
export SQL_DATA="$PGDATA"
exec nc -ll -p 5432 -e "$(command -v sql-conn)"
`;

const MYSQL_ENTRYPOINT = `#!/bin/sh
set -e
[ "\${1#-}" != "$1" ] && set -- mysqld "$@"
[ "$1" = mysqld ] || exec "$@"
shift
for option; do
  case "$option" in --default-authentication-plugin=*) echo "[Warning] [MY-011068] [Server] The syntax '--default-authentication-plugin' is deprecated";; esac
done
data=/var/lib/mysql
if [ ! -d "$data/mysql" ]; then
  if [ -z "$MYSQL_ROOT_PASSWORD" ]; then
    echo "error: database is uninitialized and password option is not specified" >&2; exit 1
  fi
  mkdir -p "$data/mysql"
  echo "root $MYSQL_ROOT_PASSWORD" > "$data/.users"
  [ -n "$MYSQL_USER" ] && echo "$MYSQL_USER $MYSQL_PASSWORD" >> "$data/.users"
  [ -n "$MYSQL_DATABASE" ] && mkdir -p "$data/db/$MYSQL_DATABASE"
  echo "MySQL init process done. Ready for start up."
fi
echo "[System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. port: 3306"
export SQL_DATA="$data"
exec nc -ll -p 3306 -e "$(command -v sql-conn)"
`;

/** redis: one command a line (the inline protocol), answered in RESP. Lists are files under /data. */
const REDIS_CONN = `#!/bin/sh
cd /data
while IFS= read -r l; do
  set -- $(printf '%s' "$l" | tr -d '\\r')
  command=$(echo "$1" | tr a-z A-Z)
  case "$command" in
    PING) printf '+PONG\\r\\n';;
    RPUSH)
      key=$2; shift 2
      until mkdir .lock 2>/dev/null; do usleep 10000; done
      for value; do echo "$value" >> "list.$key"; done
      printf ':%s\\r\\n' "$(wc -l < "list.$key")"
      rmdir .lock;;
    LPOP)
      until mkdir .lock 2>/dev/null; do usleep 10000; done
      if [ -s "list.$2" ]; then
        value=$(head -n 1 "list.$2"); tail -n +2 "list.$2" > .next && mv .next "list.$2"
        printf '$%s\\r\\n%s\\r\\n' "\${#value}" "$value"
      else
        printf '$-1\\r\\n'
      fi
      rmdir .lock;;
    '') ;;
    *) printf -- "-ERR unknown command '%s'\\r\\n" "$1";;
  esac
done
`;

const REDIS_SERVER = `#!/bin/sh
echo "Ready to accept connections tcp"
exec nc -ll -p 6379 -e "$(command -v redis-conn)"
`;

const REDIS_CLI = `#!/bin/sh
host=127.0.0.1 port=6379
while [ $# -gt 0 ]; do
  case "$1" in -h) host=$2; shift 2;; -p) port=$2; shift 2;; *) break;; esac
done
reply=$(printf '%s\\r\\n' "$*" | nc -w 5 "$host" "$port" 2>/dev/null | tr -d '\\r')
[ -n "$reply" ] || { echo "Could not connect to Redis at $host:$port: Connection refused" >&2; exit 1; }
case "$reply" in
  +*|:*) echo "\${reply#?}";;
  '$-1') echo;;
  '$'*) printf '%s\\n' "$reply" | sed -n 2p;;
  *) echo "(error) \${reply#-}"; exit 1;;
esac
`;

const CURL = `#!/bin/sh
# curl's stand-in: GET the URL to stdout (-f: fail on an HTTP error, which wget always does).
for a; do url=$a; done
exec wget -q -O - "$url"
`;

const WORDPRESS_PAGE = `#!/bin/sh
# The WordPress stand-in's front page: whether it reached its database with wp-config.php's settings.
. /var/www/html/wp-config.sh
host=\${DB_HOST%:*} port=3306
[ "$host" = "$DB_HOST" ] || port=\${DB_HOST##*:}
if error=$(echo 'SELECT 1' | sql-client "$host" "$port" "$DB_USER" "$DB_PASSWORD" "$DB_NAME" 2>&1 >/dev/null); then
  printf 'Content-Type: text/html\\r\\n\\r\\n<html><head><title>WordPress</title></head><body>\\n'
  echo "<p>WordPress: connected to database $DB_NAME on $host:$port as $DB_USER</p></body></html>"
else
  printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/html\\r\\n\\r\\n'
  echo "<h1>Error establishing a database connection</h1><!-- $error -->"
fi
`;

const WORDPRESS_ENTRYPOINT = `#!/bin/sh
set -e
cd /var/www/html
if [ ! -e index.php ]; then
  echo "WordPress not found in $PWD - copying now..."
  cp -a /usr/src/wordpress/. .
  echo "Complete! WordPress has been successfully copied to $PWD"
fi
cat > wp-config.sh <<EOF
DB_HOST='\${WORDPRESS_DB_HOST:-mysql}'
DB_USER='\${WORDPRESS_DB_USER:-example username}'
DB_PASSWORD='\${WORDPRESS_DB_PASSWORD:-example password}'
DB_NAME='\${WORDPRESS_DB_NAME:-wordpress}'
EOF
exec "$@"
`;

const GITEA = `#!/bin/sh
# gitea web: app.ini from the GITEA__SECTION__KEY variables (as environment-to-ini), the API on 3000, SSH's banner on 22.
set -e
mkdir -p /data/gitea/conf
env | sed -n 's/^GITEA__\\([a-z]*\\)__\\([A-Z_]*\\)=\\(.*\\)/\\1 \\2 = \\3/p' | sort | awk '$1 != s { s = $1; print "[" s "]" } { $1 = ""; sub(/^ /, ""); print }' > /data/gitea/conf/app.ini
# busybox httpd runs /cgi-bin/index.cgi for a directory without index.html: /api/healthz is such a directory.
mkdir -p /tmp/www/cgi-bin /tmp/www/api/healthz
cat > /tmp/www/cgi-bin/index.cgi <<'PAGE'
#!/bin/sh
case "$REQUEST_URI" in /api/healthz/*) ;; *) printf 'Status: 404 Not Found\r\n\r\n'; exit 0;; esac
ini() { sed -n "/^\\[database\\]/,/^\\[/s/^$1 = //p" /data/gitea/conf/app.ini; }
host=$(ini HOST)
if error=$(echo 'SELECT 1' | sql-client "\${host%:*}" "\${host##*:}" "$(ini USER)" "$(ini PASSWD)" "$(ini NAME)" 2>&1 >/dev/null); then
  printf 'Content-Type: application/json\\r\\n\\r\\n{"status":"pass","description":"Gitea: Git with a cup of tea","checks":{"database:ping":[{"status":"pass"}]}}\\n'
else
  printf 'Status: 503 Service Unavailable\\r\\nContent-Type: application/json\\r\\n\\r\\n{"status":"fail","checks":{"database:ping":[{"status":"fail","output":"%s"}]}}\\n' "$error"
fi
PAGE
chmod 755 /tmp/www/cgi-bin/index.cgi
printf '#!/bin/sh\\necho "SSH-2.0-Gitea"\\n' > /tmp/ssh-banner && chmod 755 /tmp/ssh-banner
nc -ll -p 22 -e /tmp/ssh-banner &
echo "Listen: http://0.0.0.0:3000"
exec httpd -f -v -p 3000 -h /tmp/www
`;

const PROMETHEUS = `#!/bin/sh
# prometheus: scrapes the static targets of --config.file every scrape_interval, serves /metrics,
# /-/healthy, /api/v1/targets and /api/v1/query (the last scrape's "up").
config=/etc/prometheus/prometheus.yml storage=/prometheus
for option; do
  case "$option" in --config.file=*) config=\${option#*=};; --storage.tsdb.path=*) storage=\${option#*=};; esac
done
[ -r "$config" ] || { echo "Error loading config (--config.file=$config): no such file" >&2; exit 1; }
www=/tmp/www
mkdir -p "$www/-" "$www/api/v1" "$storage"
echo "Prometheus Server is Healthy." > "$www/-/healthy"
echo 'prometheus_build_info{version="stand-in"} 1' > "$www/metrics"
interval=$(sed -n 's/^  scrape_interval: *\\([0-9]*\\)s$/\\1/p' "$config" | head -n 1)
path=$(sed -n 's/^ *metrics_path: *//p' "$config" | head -n 1)
targets=$(awk '/^ *- targets:/ { t = 1; next } t && /^ *- / { sub(/^ *- */, ""); print; next } { t = 0 }' "$config")
job=$(sed -n 's/^- job_name: *//p' "$config" | head -n 1)
echo "Server is ready to receive web requests. targets: $targets"
httpd -f -p 9090 -h "$www" &
sleep 1
while true; do
  active= result= now=$(date +%s)
  for target in $targets; do
    url="http://$target\${path:-/metrics}"
    if wget -q -O "$storage/last-scrape" "$url" 2>/dev/null; then health=up error= up=1; else health=down error="scrape of $url failed" up=0; fi
    active="$active\${active:+,}{\\"labels\\":{\\"instance\\":\\"$target\\",\\"job\\":\\"$job\\"},\\"scrapeUrl\\":\\"$url\\",\\"lastError\\":\\"$error\\",\\"health\\":\\"$health\\"}"
    result="$result\${result:+,}{\\"metric\\":{\\"__name__\\":\\"up\\",\\"instance\\":\\"$target\\",\\"job\\":\\"$job\\"},\\"value\\":[$now,\\"$up\\"]}"
  done
  echo "{\\"status\\":\\"success\\",\\"data\\":{\\"activeTargets\\":[$active],\\"droppedTargets\\":[]}}" > "$www/api/v1/.targets" && mv "$www/api/v1/.targets" "$www/api/v1/targets"
  echo "{\\"status\\":\\"success\\",\\"data\\":{\\"resultType\\":\\"vector\\",\\"result\\":[$result]}}" > "$www/api/v1/.query" && mv "$www/api/v1/.query" "$www/api/v1/query"
  sleep "\${interval:-15}"
done
`;

const GRAFANA = `#!/bin/sh
# grafana: /api/health, and behind the admin's basic auth /api/datasources/1/health, refreshed every 2 s by
# querying "up" from the datasource the provisioning files name.
www=/tmp/www
mkdir -p "$www/api/datasources/1"
echo '{"database":"ok","version":"stand-in"}' > "$www/api/health"
echo "/api/datasources:\${GF_SECURITY_ADMIN_USER:-admin}:\${GF_SECURITY_ADMIN_PASSWORD:-admin}" > /tmp/httpd.conf
url=$(cat /etc/grafana/provisioning/datasources/*.y*ml 2>/dev/null | sed -n 's/^ *url: *//p' | head -n 1)
echo "HTTP Server Listen address=[::]:3000 datasource=$url"
httpd -f -p 3000 -h "$www" -c /tmp/httpd.conf &
while true; do
  if [ -n "$url" ] && wget -q -O - "$url/api/v1/query?query=up" 2>/dev/null | grep -q '"status":"success"'; then
    health='{"message":"Successfully queried the Prometheus API.","status":"OK"}'
  else
    health="{\\"message\\":\\"Post \\\\\\"$url/api/v1/query\\\\\\": unreachable\\",\\"status\\":\\"ERROR\\"}"
  fi
  echo "$health" > "$www/api/datasources/1/.health" && mv "$www/api/datasources/1/.health" "$www/api/datasources/1/health"
  sleep 2
done
`;

/**
 * Runs its command as a child and ends on SIGTERM or SIGINT, as the programs the stand-ins stand in for end
 * when they are stopped. A container's PID 1 gets no default action for a signal it has no handler for, so
 * busybox's nc or httpd, or a sh loop, run as PID 1 would ignore the stop and sit out the pod's whole grace
 * period (30 s) at every `compose down`.
 */
const UNTIL_STOPPED = `#!/bin/sh
trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
"$@" &
child=$!
wait "$child"
`;

/** A stand-in image: its Dockerfile (built in a context holding bin/ with every stand-in's programs) and its names. */
export interface StandIn {
  /** The references it is pushed under, as the compose files name them (docker.io's short names, other registries' full ones). */
  names: string[];
  dockerfile: string;
}

/** The stand-ins' shared build context: their programs, in bin/. */
export const STAND_IN_CONTEXT: Record<string, string> = {
  'bin/sql-conn': SQL_CONN,
  'bin/sql-client': SQL_CLIENT,
  'bin/psql': PSQL,
  'bin/pg_isready': PG_ISREADY,
  'bin/mysqladmin': MYSQLADMIN,
  'bin/postgres-entrypoint.sh': POSTGRES_ENTRYPOINT,
  'bin/mysql-entrypoint.sh': MYSQL_ENTRYPOINT,
  'bin/redis-conn': REDIS_CONN,
  'bin/redis-server': REDIS_SERVER,
  'bin/redis-cli': REDIS_CLI,
  'bin/curl': CURL,
  'bin/wordpress-entrypoint.sh': WORDPRESS_ENTRYPOINT,
  'bin/wordpress-index.cgi': WORDPRESS_PAGE,
  'bin/gitea': GITEA,
  'bin/prometheus': PROMETHEUS,
  'bin/grafana': GRAFANA,
  'bin/until-stopped': UNTIL_STOPPED,
};

const FROM = 'FROM busybox\nCOPY bin/ /usr/local/bin/\n';

export const STAND_INS: StandIn[] = [
  { names: ['redis:alpine'], dockerfile: `${FROM}VOLUME /data\nWORKDIR /data\nEXPOSE 6379\nENTRYPOINT ["until-stopped"]\nCMD ["redis-server"]\n` },
  {
    names: ['postgres:15-alpine', 'docker.io/library/postgres:14'],
    dockerfile: `${FROM}ENV PG_MAJOR=15 PGDATA=/var/lib/postgresql/data\nVOLUME /var/lib/postgresql/data\nEXPOSE 5432\nENTRYPOINT ["until-stopped", "postgres-entrypoint.sh"]\nCMD ["postgres"]\n`,
  },
  { names: ['mysql:8.0'], dockerfile: `${FROM}VOLUME /var/lib/mysql\nEXPOSE 3306 33060\nENTRYPOINT ["until-stopped", "mysql-entrypoint.sh"]\nCMD ["mysqld"]\n` },
  {
    names: ['wordpress:latest'],
    dockerfile: `${FROM}COPY bin/wordpress-index.cgi /usr/src/wordpress/cgi-bin/index.cgi\nCOPY bin/wordpress-index.cgi /usr/src/wordpress/index.php\nVOLUME /var/www/html\nWORKDIR /var/www/html\nEXPOSE 80\nENTRYPOINT ["until-stopped", "wordpress-entrypoint.sh"]\nCMD ["httpd", "-f", "-v", "-p", "80", "-h", "/var/www/html"]\n`,
  },
  { names: ['docker.gitea.com/gitea:1.23'], dockerfile: `${FROM}VOLUME /data\nEXPOSE 22 3000\nENTRYPOINT ["until-stopped", "gitea"]\n` },
  { names: ['prom/prometheus:latest'], dockerfile: `${FROM}VOLUME /prometheus\nEXPOSE 9090\nENTRYPOINT ["until-stopped", "prometheus"]\nCMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]\n` },
  { names: ['grafana/grafana:latest'], dockerfile: `${FROM}EXPOSE 3000\nENTRYPOINT ["until-stopped", "grafana"]\n` },
];
