#!/usr/bin/env bash
# Instructions per request, user space, counted by callgrind: unlike time, the count does not move with
# this machine's load, so it is how a change to the request path is judged (RESULTS.md). For each path:
# the gateway runs under `valgrind --tool=callgrind`, WARM requests warm it up, the counters are zeroed,
# N requests are sent at concurrency C, the counters are dumped, and the total divided by N.
#
#   load-tests/instructions.sh [BINARY]          # default target/release/switchyard
#
# Env: N (2000), WARM (400), C (4), PATHS (all of: json sse messages responses pinned-long auto policies),
#      PORT_BASE (18400), PEERS_DIR (the peers harness's state, for its nginx fake upstream).
#      KEEP=1 keeps the callgrind files (callgrind_annotate --inclusive=yes) in the printed directory.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=${1:-$ROOT/target/release/switchyard}
N=${N:-2000} WARM=${WARM:-400} C=${C:-4}
PATHS=${PATHS:-json sse messages responses pinned-long auto policies}
PORT=${PORT_BASE:-18400} ADMIN=$(( ${PORT_BASE:-18400} + 1 ))
PEERS_SH=${PEERS_SH:-$ROOT/../shared/peers/peers.sh}
PEERS_DIR=${PEERS_DIR:-$HOME/.cache/switchyard-peers}
KEY=sy_live_trfQcm5fyzTWB33qL0LKKBo1Dtoqzs7p
OUT=$(mktemp -d)
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "instructions.sh: $*"; exit 1; }
[ -x "$BIN" ] || die "no binary at $BIN (cargo build --release)"
command -v valgrind >/dev/null && command -v wrk >/dev/null || die "needs valgrind and wrk"

# The fake upstream: the peers harness's nginx alone (its config, none of the peer gateways).
if ! curl -sf -o /dev/null http://127.0.0.1:18080/v1/models; then
  PH=$(cd "$(dirname "$PEERS_SH")" && pwd)
  mkdir -p "$PEERS_DIR/tmp"
  sed -e "s#__DIR__#$PEERS_DIR#g; s#__HERE__#$PH#g" "$PH/upstream-nginx.conf" > "$PEERS_DIR/nginx.conf"
  nginx -p "$PEERS_DIR" -c "$PEERS_DIR/nginx.conf" || die "nginx"
  log "started the fake upstream (nginx) on 127.0.0.1:18080"
fi

# The policies configuration, as run.sh makes it: the shipped examples, for every workspace.
sed -e 's/^    applies_to: {workspaces: \[demo\]}$//' "$ROOT/conf/firewall.yaml" > "$OUT/firewall.yaml"
sed -e 's/{workspace: demo}, //' "$ROOT/conf/rules.yaml" > "$OUT/rules.yaml"
sed -e "s#^catalog: .*#catalog: $HERE/models.yaml#" "$HERE/gateway.yaml" > "$OUT/plain.yaml"
{ cat "$OUT/plain.yaml"; printf 'plugins:\n  firewall: %s\n  rules: %s\n' "$OUT/firewall.yaml" "$OUT/rules.yaml"; } > "$OUT/policies.yaml"

# A wrk script that ends wrk after $COUNT responses (one thread), around the path's own script.
# `wrk.thread:stop()` only stops the thread's loop: wrk would still wait for its whole -d, so the
# script exits the process itself and prints the count in wrk's own words.
cat > "$OUT/count.lua" <<'LUA'
dofile(os.getenv("BASE_SCRIPT"))
local count = tonumber(os.getenv("COUNT"))
local left = count
response = function(status)
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
  left = left - 1
  if left <= 0 then
    io.stdout:write(count .. " requests in\n")
    io.stdout:flush()
    os.exit(0)
  end
end
LUA

measure() {  # NAME CONFIG URLPATH SCRIPT [ENV=VALUE...]
  local name=$1 conf=$2 path=$3 script=$4; shift 4
  valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$name" --dump-instr=no --collect-systime=no \
    "$BIN" run --config "$conf" --listen "127.0.0.1:$PORT" --admin-listen "127.0.0.1:$ADMIN" \
    >/dev/null 2>"$OUT/$name.stderr" &
  local pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$ADMIN/healthz" && break; sleep 0.2; done
  local url="http://127.0.0.1:$PORT$path"
  env "$@" BASE_SCRIPT="$script" COUNT="$WARM" wrk -t1 -c"$C" -d600s -s "$OUT/count.lua" "$url" >/dev/null 2>>"$OUT/$name.wrk"
  callgrind_control --zero "$pid" >/dev/null
  env "$@" BASE_SCRIPT="$script" COUNT="$N" wrk -t1 -c"$C" -d600s -s "$OUT/count.lua" "$url" >"$OUT/$name.wrk.out" 2>>"$OUT/$name.wrk"
  callgrind_control --dump="$name" "$pid" >/dev/null
  kill -INT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  local done_n ir
  done_n=$(awk '/requests in/{print $1}' "$OUT/$name.wrk.out")
  ir=$(cat "$OUT"/cg."$name"* 2>/dev/null | awk '/^desc: Trigger: .*'"$name"'/{f=1} f && /^totals:/{print $2; exit}')
  [ -n "$ir" ] || ir=$(grep -h '^totals:' "$OUT"/cg."$name".* 2>/dev/null | awk '{print $2}' | sort -n | tail -1)
  if [ -s "$OUT/$name.wrk" ]; then log "$name: $(sort "$OUT/$name.wrk" | uniq -c | head -3)"; fi
  printf '%-12s %8d requests  %8.1fk instructions/request\n' "$name" "$done_n" "$(echo "$ir $done_n" | awk '{print $1 / $2 / 1000}')"
}

POST=$(cd "$(dirname "$PEERS_SH")" && pwd)/post.lua
for p in $PATHS; do
  case $p in
    json) measure json "$OUT/plain.yaml" /v1/chat/completions "$POST" MODEL=bench/gpt-4o-mini AUTH=$KEY ;;
    sse) measure sse "$OUT/plain.yaml" /v1/chat/completions "$POST" MODEL=bench-stream/gpt-4o-mini AUTH=$KEY STREAM=1 ;;
    messages) measure messages "$OUT/plain.yaml" /v1/messages "$HERE/paths.lua" KIND=messages AUTH=$KEY ;;
    responses) measure responses "$OUT/plain.yaml" /v1/responses "$HERE/paths.lua" KIND=responses AUTH=$KEY ;;
    pinned-long) measure pinned-long "$OUT/plain.yaml" /v1/chat/completions "$HERE/paths.lua" PROMPT=long MODEL=bench/m1 AUTH=$KEY ;;
    auto) measure auto "$OUT/plain.yaml" /v1/chat/completions "$HERE/paths.lua" PROMPT=long MODEL=auto AUTH=$KEY ;;
    policies) measure policies "$OUT/policies.yaml" /v1/chat/completions "$POST" MODEL=bench/gpt-4o-mini AUTH=$KEY ;;
    *) die "unknown path $p" ;;
  esac
done
if [ -n "${KEEP:-}" ]; then log "kept $OUT"; else rm -rf "$OUT"; fi
