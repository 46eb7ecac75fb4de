#!/usr/bin/env bash
# Switchyard load tests: the gateway against the performance floor (a bare Pingora pass-through), the
# fake upstream reached directly, and three peer gateways, all measured the same way with
# `peers.sh bench` (wrk at c1 and c32, CPU of the measured process from /proc), then the memory of
# 1,000 concurrent open streams. Prints (and writes to results/<stamp>/report.md) a table of medians
# and the budget checks.
#
#   load-tests/run.sh
#
# Env: RUNS (3) repetitions of every configuration, DURATION (10) seconds per wrk run,
#      PEERS ("litellm portkey tensorzero"; "" skips them), STREAMS (1000; 0 skips the stream test),
#      NOISE_MAX (0.35) busy cores of unrelated processes: before a measurement the script waits (up to
#      QUIET_WAIT, 60 s) for the machine to be that quiet, and repeats a measurement during which it was
#      not (up to RERUNS, 2, times; the noisy files are kept in noisy/), PRIORITY (unset; e.g. -10
#      renices every measured process, nginx and wrk), PORT_BASE (18200), PEERS_SH (the peers
#      harness, default ../shared/peers/peers.sh from the repository root), PEERS_DIR (its state,
#      ~/.cache/switchyard-peers), SKIP_BUILD=1, OUT (result directory).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS_SH=${PEERS_SH:-$ROOT/../shared/peers/peers.sh}
[ -f "$PEERS_SH" ] || { echo "run.sh: peers harness not found at $PEERS_SH (set PEERS_SH)" >&2; exit 1; }
PEERS_SH=$(cd "$(dirname "$PEERS_SH")" && pwd)/$(basename "$PEERS_SH")
export PEERS_DIR=${PEERS_DIR:-$HOME/.cache/switchyard-peers}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
PEERS=${PEERS-litellm portkey tensorzero}
STREAMS=${STREAMS:-1000}
NOISE_MAX=${NOISE_MAX:-0.35}
RERUNS=${RERUNS:-2}
QUIET_WAIT=${QUIET_WAIT:-60}
PRIORITY=${PRIORITY:-}
[ -z "$PRIORITY" ] || export NICE="nice -n $PRIORITY"   # peers.sh runs wrk with $NICE
PORT_BASE=${PORT_BASE:-18200}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}
# The benchmark key of gateway.yaml (only its hash is in the config; it is only good for this loopback setup).
KEY=sy_live_trfQcm5fyzTWB33qL0LKKBo1Dtoqzs7p
# The slow upstream instance's own key (slow-upstream.yaml), used directly by the floor reference of the stream test.
SLOW_KEY=sy_test_sPWLyfr9gN5rqm9b1YwSKE95XtemJ6ge
UP=127.0.0.1:18080
BIN=$ROOT/target/release
FLOOR_PORT=$PORT_BASE
SY_PORT=$((PORT_BASE + 10)) SY_ADMIN=$((PORT_BASE + 11))
NL_PORT=$((PORT_BASE + 20)) NL_ADMIN=$((PORT_BASE + 21))
PO_PORT=$((PORT_BASE + 30)) PO_ADMIN=$((PORT_BASE + 31))
SLOW_PORT=$((PORT_BASE + 100)) SLOW_ADMIN=$((PORT_BASE + 101))
ST_PORT=$((PORT_BASE + 110)) ST_ADMIN=$((PORT_BASE + 111))

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { log "run.sh: $*"; exit 1; }

STARTED=()        # pids of processes this script started
OWN_PEERS=0       # 1 when this script started the peers (then it stops them)
cleanup() {
  local p
  for p in "${STARTED[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${STARTED[@]}"; do
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ "$OWN_PEERS" = 1 ]; then bash "$PEERS_SH" stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # stop one process we started
  local p=$1 q=() x
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for x in "${STARTED[@]}"; do [ "$x" = "$p" ] || q+=("$x"); done
  STARTED=("${q[@]+"${q[@]}"}")
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() {  # URL PID: until URL answers (any HTTP status) or the process dies
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
    sleep 0.1
  done
  return 1
}
start_gateway() {  # NAME CONFIG PORT ADMIN_PORT [ENV=VALUE...]: sets $PID
  local name=$1 conf=$2 port=$3 admin=$4; shift 4
  port_busy "$port" && die "port $port is in use (set PORT_BASE)"
  # Each instance's database (request log on, as in production) goes with its results.
  env SWITCHYARD_STORE="$OUT/$name.db" "$@" "$BIN/switchyard" run --config "$conf" --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" \
    </dev/null >/dev/null 2>"$OUT/$name.stderr" &
  PID=$!; STARTED+=("$PID")
  wait_up "http://127.0.0.1:$admin/healthz" "$PID" || { cat "$OUT/$name.stderr" >&2; die "$name did not start"; }
  log "$name: pid $PID on 127.0.0.1:$port (stdout, i.e. the access log, to /dev/null)"
}

mkdir -p "$OUT"
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 4096 ] || die "ulimit -Hn $(ulimit -Hn) is too low for $STREAMS streams"
if [ "$(ulimit -Hn)" = unlimited ]; then ulimit -n 65536; else ulimit -n "$(ulimit -Hn)"; fi

# 1. Build once.
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release -p switchyard -p floor) >&2
fi
[ -x "$BIN/switchyard" ] && [ -x "$BIN/floor" ] || die "release binaries missing in $BIN"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "host: $(uname -srm), $(nproc) cores, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo)"
  if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src plugins Cargo.toml || echo ' + uncommitted changes in src/plugins')"
  else
    echo "commit: ${COMMIT:-unknown} (not a git checkout)"
  fi
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "command: RUNS=$RUNS DURATION=$DURATION PEERS='$PEERS' STREAMS=$STREAMS NOISE_MAX=$NOISE_MAX PRIORITY=$PRIORITY load-tests/run.sh"
} > "$OUT/env.txt"

# 2. Peers: reuse a running harness, else start it (and stop it at exit).
if curl -sf -o /dev/null "http://$UP/v1/models"; then
  log "fake upstream already running on $UP: reusing the peers harness as it is"
else
  log "starting the peers harness ($PEERS_SH start)"
  OWN_PEERS=1
  bash "$PEERS_SH" start >&2 || die "peers.sh start failed"
fi
peer_pid() { cat "$PEERS_DIR/$1.pid" 2>/dev/null; }
AVAILABLE=()
for p in $PEERS; do
  case $p in
    litellm) ok=$(curl -sf -o /dev/null http://127.0.0.1:14000/health/liveliness && echo 1 || true) ;;
    portkey) ok=$([ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18787/)" != 000 ] && echo 1 || true) ;;
    tensorzero) ok=$([ -s "$PEERS_DIR/tensorzero.url" ] && curl -s -o /dev/null "$(cat "$PEERS_DIR/tensorzero.url")/health" && echo 1 || true) ;;
    *) die "unknown peer $p" ;;
  esac
  if [ "${ok:-}" = 1 ] && [ -n "$(peer_pid "$p")" ]; then AVAILABLE+=("$p"); else log "peer $p is not reachable: skipped"; fi
done

# 3. The floor and the gateway (twice: access log on, as shipped, and off).
port_busy "$FLOOR_PORT" && die "port $FLOOR_PORT is in use (set PORT_BASE)"
"$BIN/floor" --listen "127.0.0.1:$FLOOR_PORT" --upstream "$UP" </dev/null >/dev/null 2>"$OUT/floor.stderr" &
FLOOR_PID=$!; STARTED+=("$FLOOR_PID")
wait_up "http://127.0.0.1:$FLOOR_PORT/v1/models" "$FLOOR_PID" || die "floor did not start"
log "floor: pid $FLOOR_PID on 127.0.0.1:$FLOOR_PORT"
start_gateway switchyard "$HERE/gateway.yaml" "$SY_PORT" "$SY_ADMIN"; SY_PID=$PID
sed -e 's/^\(  access_log:\) true/\1 false/' -e "s#^catalog: .*#catalog: $HERE/models.yaml#" \
    -e 's#switchyard-bench#switchyard-bench-nolog#g' "$HERE/gateway.yaml" > "$OUT/gateway-nolog.yaml"
grep -q '^  access_log: false' "$OUT/gateway-nolog.yaml" || die "could not turn the access log off"
start_gateway switchyard-nolog "$OUT/gateway-nolog.yaml" "$NL_PORT" "$NL_ADMIN"; NL_PID=$PID
# "Policies on": the shipped example firewall and rules (conf/firewall.yaml, conf/rules.yaml), made to
# apply to the benchmark key's workspace rather than the demo one.
sed -e 's/^    applies_to: {workspaces: \[demo\]}$//' "$ROOT/conf/firewall.yaml" > "$OUT/firewall.yaml"
sed -e 's/{workspace: demo}, //' "$ROOT/conf/rules.yaml" > "$OUT/rules.yaml"
grep -qE 'workspaces: \[demo\]|\{workspace: demo\}' "$OUT/firewall.yaml" "$OUT/rules.yaml" && die "could not widen the example policies to every workspace"
{ sed -e "s#^catalog: .*#catalog: $HERE/models.yaml#" -e 's#switchyard-bench#switchyard-bench-policies#g' "$HERE/gateway.yaml"
  printf 'plugins:\n  firewall: %s\n  rules: %s\n' "$OUT/firewall.yaml" "$OUT/rules.yaml"; } > "$OUT/gateway-policies.yaml"
start_gateway switchyard-policies "$OUT/gateway-policies.yaml" "$PO_PORT" "$PO_ADMIN"; PO_PID=$PID

# Smoke test: every target answers 200 before anything is measured.
smoke() {  # URL MODEL AUTH [STREAM]
  local s; s=$(curl -s -o "$OUT/smoke.out" -w '%{http_code}' "$1" -H 'content-type: application/json' \
    ${3:+-H "authorization: Bearer $3"} -d "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]${4:+,\"stream\":true}}")
  [ "$s" = 200 ] || { cat "$OUT/smoke.out" >&2; die "smoke test: $1 ($2) answered $s"; }
}
smoke "http://127.0.0.1:$FLOOR_PORT/v1/chat/completions" gpt-4o-mini ""
smoke "http://127.0.0.1:$SY_PORT/v1/chat/completions" bench/gpt-4o-mini "$KEY"
smoke "http://127.0.0.1:$SY_PORT/v1/chat/completions" bench-stream/gpt-4o-mini "$KEY" 1
smoke "http://127.0.0.1:$NL_PORT/v1/chat/completions" bench/gpt-4o-mini "$KEY"
smoke "http://127.0.0.1:$PO_PORT/v1/chat/completions" bench/gpt-4o-mini "$KEY"
smoke "http://127.0.0.1:$SY_PORT/v1/chat/completions" auto "$KEY"
for k in messages responses; do
  s=$(KIND=$k MODEL=bench/gpt-4o-mini AUTH=$KEY wrk -t1 -c1 -d1s -s "$HERE/paths.lua" "http://127.0.0.1:$SY_PORT/v1/$k" \
      | awk '/Non-2xx/{print $NF} END{}'); [ -z "$s" ] || die "smoke test: /v1/$k answered non-2xx ($s)"
done

# 4. Measure. Each call of `bench` is one `peers.sh bench` (3 s warm-up, then c1 and c32 for DURATION s).
busy_cores() {  # busy cores of the whole machine over 2 s
  local a b
  a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 2
  b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk -v n="$(nproc)" '{d = $4 - $2; printf "%.2f", (d > 0 ? ($3 - $1) / d * n : 0)}'
}
wait_quiet() {  # before a measurement: wait (up to QUIET_WAIT s) until other processes leave the machine idle
  local waited=0 b
  while :; do
    b=$(busy_cores)
    awk -v b="$b" -v m="$NOISE_MAX" 'BEGIN{exit !(b <= m)}' && return 0
    [ "$waited" -ge "$QUIET_WAIT" ] && { log "  machine still busy ($b cores) after ${QUIET_WAIT}s: measuring anyway"; return 0; }
    [ "$waited" = 0 ] && log "  machine busy ($b cores used by other processes): waiting up to ${QUIET_WAIT}s"
    waited=$((waited + 2))
  done
}
boost() {  # PRIORITY: renice every thread of the given processes
  [ -n "$PRIORITY" ] || return 0
  local p
  for p in "$@"; do [ -d "/proc/$p/task" ] && renice -n "$PRIORITY" -p $(ls "/proc/$p/task") >/dev/null 2>&1; done
  return 0
}
noise_of() { python3 - "$@" <<'PY'
import re, sys
m = 0.0
for f in sys.argv[1:]:
    t = open(f).read()
    o, d = re.search(r"other_cpu_ticks=(-?\d+)", t), re.search(r"requests in ([\d.]+)s", t)
    m = max(m, int(o.group(1)) / (float(d.group(1)) * 100) if o and d else 9.0)
print(f"{m:.2f}")
PY
}
bench_paths() {  # NAME URL PIDS SECONDS: peers.sh bench's measurement, with load-tests/paths.lua as the script
  local NAME=$1 URL=$2 GPIDS=$3 D=$4 RES=$PEERS_DIR/results C T
  local NGX; NGX=$(pgrep -P "$(cat "$PEERS_DIR/nginx.pid")" | head -1)
  ticks() { local t=0 p; for p in "$@"; do [ -n "$p" ] && t=$((t + $(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
  busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
  ${NICE:-} wrk -t1 -c4 -d3s -s "$HERE/paths.lua" "$URL" > /dev/null
  for C in 1 32; do
    T=$([ $C = 1 ] && echo 1 || echo 2)
    local g0 n0 b0 g1 n1 b1 wt w rss=0 p
    g0=$(ticks $GPIDS); n0=$(ticks $NGX); b0=$(busy)
    TIMEFORMAT="%U %S"
    wt=$( { time ${NICE:-} wrk -t$T -c$C -d${D}s --latency -s "$HERE/paths.lua" "$URL" > "$RES/$NAME-c$C.txt" ; } 2>&1 )
    g1=$(ticks $GPIDS); n1=$(ticks $NGX); b1=$(busy)
    w=$(echo $wt | awk '{printf "%d", ($1+$2)*100}')
    for p in $GPIDS; do rss=$((rss + $(awk '/VmRSS/{print $2}' /proc/$p/status))); done
    echo "gateway_cpu_ticks=$((g1-g0)) nginx_cpu_ticks=$((n1-n0)) gateway_rss_kb=$rss wrk_cpu_ticks=$w other_cpu_ticks=$(( (b1-b0) - (g1-g0) - (n1-n0) - w ))" >> "$RES/$NAME-c$C.txt"
    sleep 2
  done
}
bench() {  # LABEL URL PIDS [ENV=VALUE...]  (PATHS=1 in the env: bench_paths instead of peers.sh bench)
  local label=$1 url=$2 pids=$3 tag="sy$$-$1-r$RUN" try=0 c n; shift 3
  while :; do
    wait_quiet
    if printf '%s\n' "$@" | grep -qx 'PATHS=1'; then
      (export "$@"; bench_paths "$tag" "$url" "$pids" "$DURATION") >/dev/null 2>"$OUT/$label.r$RUN.bench.err" || true
    else
      env "$@" bash "$PEERS_SH" bench "$tag" "$url" "$pids" "$DURATION" >/dev/null 2>"$OUT/$label.r$RUN.bench.err" || true
    fi
    for c in 1 32; do
      mv -f "$PEERS_DIR/results/$tag-c$c.txt" "$OUT/$label.r$RUN-c$c.txt" 2>/dev/null || echo "missing" > "$OUT/$label.r$RUN-c$c.txt"
    done
    n=$(noise_of "$OUT/$label.r$RUN-c1.txt" "$OUT/$label.r$RUN-c32.txt")
    log "  $label run $RUN: $(awk '/Requests\/sec/{printf "%s req/s  ", $2}' "$OUT/$label.r$RUN-c1.txt" "$OUT/$label.r$RUN-c32.txt")noise $n"
    if awk -v n="$n" -v m="$NOISE_MAX" 'BEGIN{exit !(n > m)}' && [ "$try" -lt "$RERUNS" ]; then
      try=$((try + 1)); mkdir -p "$OUT/noisy"
      for c in 1 32; do mv "$OUT/$label.r$RUN-c$c.txt" "$OUT/noisy/$label.r$RUN.try$try-c$c.txt"; done
      log "  noisy (other processes used $n cores): measuring again"
      sleep 5
      continue
    fi
    break
  done
}
LK=$(cat "$PEERS_DIR/litellm.key" 2>/dev/null || true)
TZ=$(cat "$PEERS_DIR/tensorzero.url" 2>/dev/null || true)
PK="x-portkey-provider: openai|x-portkey-custom-host: http://$UP"
# Optional: raise the priority of everything measured (and nginx, and wrk through $NICE) on a busy machine.
NGINX_PID=$(cat "$PEERS_DIR/nginx.pid" 2>/dev/null || true)
boost "$FLOOR_PID" "$SY_PID" "$NL_PID" "$PO_PID" ${NGINX_PID:+"$NGINX_PID"} $( [ -n "$NGINX_PID" ] && pgrep -P "$NGINX_PID")
for p in "${AVAILABLE[@]+"${AVAILABLE[@]}"}"; do boost $(peer_pid "$p") $(pgrep -P "$(peer_pid "$p")"); done
for RUN in $(seq "$RUNS"); do
  log "run $RUN of $RUNS"
  bench direct "http://$UP/v1/chat/completions" ""
  STREAM=1 bench s-direct "http://$UP/stream/v1/chat/completions" ""
  bench floor "http://127.0.0.1:$FLOOR_PORT/v1/chat/completions" "$FLOOR_PID"
  bench s-floor "http://127.0.0.1:$FLOOR_PORT/stream/v1/chat/completions" "$FLOOR_PID" STREAM=1
  bench switchyard "http://127.0.0.1:$SY_PORT/v1/chat/completions" "$SY_PID" MODEL=bench/gpt-4o-mini AUTH=$KEY
  bench s-switchyard "http://127.0.0.1:$SY_PORT/v1/chat/completions" "$SY_PID" \
    STREAM=1 MODEL=bench-stream/gpt-4o-mini AUTH=$KEY
  bench switchyard-nolog "http://127.0.0.1:$NL_PORT/v1/chat/completions" "$NL_PID" MODEL=bench/gpt-4o-mini AUTH=$KEY
  # The paths users take besides pinned OpenAI pass-through: other client schemas translated to the
  # OpenAI-format upstream, `auto` over a catalog of several models (with its pinned twin on the same
  # 300-word prompt), and the example policies on.
  bench messages "http://127.0.0.1:$SY_PORT/v1/messages" "$SY_PID" PATHS=1 KIND=messages MODEL=bench/gpt-4o-mini AUTH=$KEY
  bench responses "http://127.0.0.1:$SY_PORT/v1/responses" "$SY_PID" PATHS=1 KIND=responses MODEL=bench/gpt-4o-mini AUTH=$KEY
  bench pinned-long "http://127.0.0.1:$SY_PORT/v1/chat/completions" "$SY_PID" PATHS=1 PROMPT=long MODEL=bench/m1 AUTH=$KEY
  bench auto "http://127.0.0.1:$SY_PORT/v1/chat/completions" "$SY_PID" PATHS=1 PROMPT=long MODEL=auto AUTH=$KEY
  bench policies "http://127.0.0.1:$PO_PORT/v1/chat/completions" "$PO_PID" MODEL=bench/gpt-4o-mini AUTH=$KEY
  bench s-switchyard-nolog "http://127.0.0.1:$NL_PORT/v1/chat/completions" "$NL_PID" \
    STREAM=1 MODEL=bench-stream/gpt-4o-mini AUTH=$KEY
  for p in "${AVAILABLE[@]+"${AVAILABLE[@]}"}"; do
    case $p in
      litellm)
        bench litellm http://127.0.0.1:14000/v1/chat/completions "$(peer_pid litellm)" AUTH="$LK"
        bench s-litellm http://127.0.0.1:14000/v1/chat/completions "$(peer_pid litellm)" \
          STREAM=1 MODEL=gpt-4o-mini-stream AUTH="$LK" ;;
      portkey)
        bench portkey http://127.0.0.1:18787/v1/chat/completions "$(peer_pid portkey)" AUTH=sk-fake HDRS="$PK/v1"
        bench s-portkey http://127.0.0.1:18787/v1/chat/completions "$(peer_pid portkey)" \
          STREAM=1 AUTH=sk-fake HDRS="$PK/stream/v1" ;;
      tensorzero)
        bench tensorzero "$TZ/chat/completions" "$(peer_pid tensorzero)" MODEL=tensorzero::model_name::fake
        bench s-tensorzero "$TZ/chat/completions" "$(peer_pid tensorzero)" \
          STREAM=1 MODEL=tensorzero::model_name::fake-stream ;;
    esac
  done
  # Time to the first SSE event at c1 (wrk only times whole responses): rounds that rotate the targets,
  # so that a burst of unrelated load hits all of them alike.
  for round in 1 2 3; do
    wait_quiet
    ${NICE:-} python3 "$HERE/ttfb.py" --n 1000 --url "http://$UP/stream/v1/chat/completions" \
      --out "$OUT/direct.r$RUN.$round.ttfb.json" >/dev/null
    ${NICE:-} python3 "$HERE/ttfb.py" --n 1000 --url "http://127.0.0.1:$FLOOR_PORT/stream/v1/chat/completions" \
      --out "$OUT/floor.r$RUN.$round.ttfb.json" >/dev/null
    ${NICE:-} python3 "$HERE/ttfb.py" --n 1000 --url "http://127.0.0.1:$SY_PORT/v1/chat/completions" --key "$KEY" \
      --model bench-stream/gpt-4o-mini --out "$OUT/switchyard.r$RUN.$round.ttfb.json" >/dev/null
    ${NICE:-} python3 "$HERE/ttfb.py" --n 1000 --url "http://127.0.0.1:$NL_PORT/v1/chat/completions" --key "$KEY" \
      --model bench-stream/gpt-4o-mini --out "$OUT/switchyard-nolog.r$RUN.$round.ttfb.json" >/dev/null
  done
  log "  time to first event p50 (last round): $(for f in direct floor switchyard switchyard-nolog; do
    python3 -c 'import json,sys; print(sys.argv[2], "%.3f ms" % json.load(open(sys.argv[1]))["p50_ms"], end="  ")' \
      "$OUT/$f.r$RUN.3.ttfb.json" "$f"; done)"
done
for x in "switchyard:$SY_PID" "switchyard-nolog:$NL_PID" "switchyard-policies:$PO_PID" "floor:$FLOOR_PID"; do
  awk -v n="${x%%:*}" '/VmHWM/{print n, $2}' "/proc/${x#*:}/status" >> "$OUT/peak-rss.txt"
done
stop_pid "$FLOOR_PID"; stop_pid "$SY_PID"; stop_pid "$NL_PID"; stop_pid "$PO_PID"

# 5. Memory with STREAMS concurrent open streams: a fresh gateway whose `slow` provider is a second
#    Switchyard process (its simulator streams 100 tokens at 5 tokens/s), so the upstream's memory is
#    not counted.
if [ "$STREAMS" -gt 0 ]; then
  log "memory with $STREAMS concurrent streams"
  start_gateway slow-upstream "$HERE/slow-upstream.yaml" "$SLOW_PORT" "$SLOW_ADMIN"; SLOW_PID=$PID
  start_gateway switchyard-streams "$HERE/gateway.yaml" "$ST_PORT" "$ST_ADMIN" \
    SWITCHYARD_SLOW_UPSTREAM="127.0.0.1:$SLOW_PORT"; ST_PID=$PID
  python3 "$HERE/streams.py" --url "http://127.0.0.1:$ST_PORT/v1/chat/completions" --key "$KEY" \
    --model slow/sim-slow --pid "$ST_PID" --n "$STREAMS" --out "$OUT/streams.json" >&2
  stop_pid "$ST_PID"
  # Reference: the floor (bare Pingora) in front of the same slow upstream.
  "$BIN/floor" --listen "127.0.0.1:$FLOOR_PORT" --upstream "127.0.0.1:$SLOW_PORT" </dev/null >/dev/null 2>>"$OUT/floor.stderr" &
  FLOOR_PID=$!; STARTED+=("$FLOOR_PID")
  wait_up "http://127.0.0.1:$FLOOR_PORT/healthz" "$FLOOR_PID" || die "floor did not start"
  python3 "$HERE/streams.py" --url "http://127.0.0.1:$FLOOR_PORT/v1/chat/completions" --key "$SLOW_KEY" \
    --model sim/slow --pid "$FLOOR_PID" --n "$STREAMS" --out "$OUT/streams-floor.json" >&2
  stop_pid "$FLOOR_PID"; stop_pid "$SLOW_PID"
fi

python3 "$HERE/report.py" "$OUT" | tee "$OUT/report.md"
log "results in $OUT"
