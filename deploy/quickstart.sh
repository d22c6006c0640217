#!/usr/bin/env bash
# Sets up what is missing, starts a single-node berth cluster in the background (or reuses the one
# already running on the data dir): the control plane plus this host as its node (runtimed + agent).
# Loads the busybox base image onto the node, applies the example app and shows its pods running as
# real containers.
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
# bin/berth finds the default data dir's kubeconfig and node by itself; any other's need naming: the
# node-local commands (images, runtime ...) run here, and the commands shown at the end.
node_env=()
cli="bin/berth"
node_cli="bin/berth"
reset="bin/berth node reset"
if [ "$data_dir" != /var/lib/berth ]; then
  node_env=(env "BERTH_RUNTIME_SOCKET=$data_dir/runtimed.sock")
  cli="bin/berth --kubeconfig $kubeconfig"
  node_cli="BERTH_RUNTIME_SOCKET=$data_dir/runtimed.sock bin/berth"
  reset="bin/berth node reset --data-dir $data_dir"
fi
berth() { "$root/bin/berth" --kubeconfig "$kubeconfig" "$@"; }
node_berth() { "${node_env[@]}" "$root/bin/berth" "$@"; }

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

# This host joins as a node moments after the API answers; its runtimed then takes images.
for _ in $(seq 1 60); do
  node_berth images >/dev/null 2>&1 && break
  sleep 0.5
done
# No registry is reachable: the example's image is built from Debian's busybox-static and loaded.
image_tar="$data_dir/busybox-rootfs.tar"
[ -f "$image_tar" ] || bash deploy/images/build-busybox.sh "$image_tar" >/dev/null
echo
echo "\$ berth image import $image_tar busybox:1.36"
node_berth image import --change 'CMD ["sh"]' "$image_tar" busybox:1.36
# The cluster registry stands in for docker.io on every node: pushed there once, busybox:1.36 reaches any
# host that joins with no import. The local agent hands its runtimed the registry moments after it starts.
registry=$(berth registry host)
echo
echo "\$ berth tag busybox:1.36 $registry/library/busybox:1.36 && berth push $registry/library/busybox:1.36"
node_berth tag busybox:1.36 "$registry/library/busybox:1.36"
pushed=
for _ in $(seq 1 20); do
  if node_berth --kubeconfig "$kubeconfig" push "$registry/library/busybox:1.36"; then
    pushed=1
    break
  fi
  sleep 0.5
done
[ -n "$pushed" ] || echo "quickstart: the push to the cluster registry failed; other hosts will not find busybox:1.36" >&2
echo
echo "\$ berth apply -f deploy/examples/"
berth apply -f deploy/examples/
# Until the pods run (the agent starts real containers through runtimed and runc).
for _ in $(seq 1 120); do
  [ "$(berth get pods -l app=web -o name --field-selector status.phase=Running 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.5
done
echo
echo "\$ berth get deployments,pods,services,configmaps -o wide"
berth get deployments,pods,services,configmaps -o wide
echo
echo "\$ berth runtime ps     # the same pods' containers, as this node's runtimed runs them"
node_berth runtime ps
pod=$(berth get pods -l app=web -o name --field-selector status.phase=Running | head -n 1)
pod=${pod#pod/}
if [ -n "$pod" ]; then
  echo
  echo "\$ berth exec $pod -- wget -qO- http://web/     # from a pod: the Service by name (cluster DNS, then its ClusterIP)"
  berth exec "$pod" -- wget -qO- http://web/ || true
  echo
  echo "\$ berth logs --tail 3 $pod     # the pod's httpd log, through the API server (the request above went to either pod)"
  berth logs --tail 3 "$pod" || true
fi

cat <<EOT

berth is running (pid $server_pid, data in $data_dir, log in $log).
  CLI:         $cli get all
  kubeconfig:  $kubeconfig
  kubectl:     kubectl --kubeconfig $kubeconfig get deploy
  containers:  $node_cli runtime ps
  stop:        $reset   (stops the server, this node and its pods' containers, and removes the node's
               rules, routes, interfaces, mounts and cgroups; the cluster's objects stay for the next start)
  pause:       kill \$(cat $pid_file)   (the pods' containers and the node's rules stay and keep working)
  add a host:  copy $data_dir/token to it (mode 0600), then there: bin/berth agent --server https://<this host's address>:$port --token-file <that copy> --data-dir /var/lib/berth-agent
EOT
