#!/usr/bin/env bash
# Sets up what is missing, starts a single-node berth control plane in the background (or reuses the
# one already running on the data dir), applies the example app and lists it.
#   BERTH_DATA_DIR   data dir (default /var/lib/berth)
#   BERTH_HTTPS_PORT API port (default 6443)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

data_dir=${BERTH_DATA_DIR:-/var/lib/berth}
port=${BERTH_HTTPS_PORT:-6443}
log=/var/log/berth-server.log
pid_file="$data_dir/berth-server.pid"
kubeconfig="$data_dir/kubeconfig.yaml"
berth() { "$root/bin/berth" --kubeconfig "$kubeconfig" "$@"; }

bash deploy/setup.sh

mkdir -p "$data_dir"
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "quickstart: berth server already running on $data_dir (pid $(cat "$pid_file"))"
else
  echo "quickstart: starting berth server on $data_dir, port $port (log: $log)"
  nohup "$root/bin/berth" server --data-dir "$data_dir" --https-port "$port" >>"$log" 2>&1 </dev/null &
  echo $! > "$pid_file"
fi
server_pid=$(cat "$pid_file")

# Ready means the API answers through the kubeconfig the server wrote.
ready=
for _ in $(seq 1 120); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "quickstart: berth server exited; the end of $log:" >&2
    tail -n 20 "$log" >&2
    rm -f "$pid_file"
    exit 1
  fi
  if [ -f "$kubeconfig" ] && berth get namespaces >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "quickstart: berth server did not become ready in 60 s; see $log" >&2
  exit 1
fi

echo
echo "\$ berth apply -f deploy/examples/"
berth apply -f deploy/examples/
echo
echo "\$ berth get deployments,services,configmaps"
berth get deployments,services,configmaps

# bin/berth finds the default data dir's kubeconfig by itself; any other needs naming.
cli="bin/berth"
[ "$kubeconfig" = /var/lib/berth/kubeconfig.yaml ] || cli="bin/berth --kubeconfig $kubeconfig"
cat <<EOT

berth is running (pid $server_pid, data in $data_dir, log in $log).
  CLI:         $cli get all
  kubeconfig:  $kubeconfig
  kubectl:     kubectl --kubeconfig $kubeconfig get deploy
  stop:        kill \$(cat $pid_file)
EOT
