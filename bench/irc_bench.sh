#!/usr/bin/env bash
# bench/irc_bench.sh [REPS] [SCENARIO...]: the IRC door beside ngIRCd and beside the line port, in one
# run, with the team's C load generator (../shared/bench, read-only here).
#
#   bench/irc_bench.sh                    # 2 rounds of fanout-1000 and saturate-50-w64
#   bench/irc_bench.sh 3 fanout-1000      # 3 rounds of one scenario
#   PEERS="project_irc ngircd" bench/irc_bench.sh
#
# Peers, interleaved in every round: project (server.ts, line port), project_irc (server.ts, IRC
# port: bench/peers/start_project_irc.sh) and ngircd (Debian's ngIRCd with the harness's config;
# `apt-get install -y ngircd`). Each run is ../shared/bench/run_bench.sh on a free port; the harness
# is linked into a temporary folder beside this repository's peer script, since ../shared is
# read-only. Both server.ts peers run with "--quiet --rate 0" (SERVER_ARGS overrides), ngIRCd with
# the harness's config (its flood control is off there).
#
# Prints the harness's tables (summarize.py), then bench/irc_bench_summary.ts's side-by-side table
# with the server's CPU per delivery and the IRC/line ratio. Raw JSON lines: $OUT (default a new
# /tmp/chat-bench-irc-*.jsonl). SHARED_BENCH points at another copy of the harness.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED_BENCH:-$REPO/../shared/bench}
[ -x "$SHARED/run_bench.sh" ] || SHARED=/work/shared/bench
[ -x "$SHARED/run_bench.sh" ] || { echo "irc_bench: no run_bench.sh in $SHARED (set SHARED_BENCH)" >&2; exit 2; }
REPS=${1:-2}
shift || true
SCENARIOS=${*:-"fanout-1000 saturate-50-w64"}
PEERS=${PEERS:-"project project_irc ngircd"}
case " $PEERS " in *" ngircd "*)
  command -v ngircd >/dev/null || { echo "irc_bench: ngircd missing: apt-get install -y ngircd" >&2; exit 2; }
esac

# The harness, linked into a temporary folder with this repository's peer script beside its own.
H=$(mktemp -d /tmp/chat-bench-irc-harness.XXXXXX)
trap 'rm -rf "$H"' EXIT
mkdir "$H/peers"
for f in "$SHARED"/*; do [ "$(basename "$f")" = peers ] || ln -s "$f" "$H/"; done
for f in "$SHARED"/peers/*; do ln -s "$f" "$H/peers/"; done
ln -sf "$HERE/peers/start_project_irc.sh" "$H/peers/"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

OUT=${OUT:-$(mktemp /tmp/chat-bench-irc-XXXXXX.jsonl)}
export PROJECT_DIR=$REPO
export SERVER_ARGS=${SERVER_ARGS:-"--quiet --rate 0"}
for rep in $(seq "$REPS"); do
  for scenario in $SCENARIOS; do
    for peer in $PEERS; do
      proto=nick
      [ "$peer" = project ] || proto=irc
      echo "$(date -u +%T) $peer $scenario round $rep" >&2
      PORT=$(free_port) PEER_PROTO=$proto "$H/run_bench.sh" "$peer" "$scenario" "$rep" >>"$OUT" ||
        echo "  $peer $scenario failed" >&2
      sleep 2
    done
  done
done
python3 "$SHARED/summarize.py" "$OUT"
deno run --allow-read "$HERE/irc_bench_summary.ts" "$OUT"
echo "raw results: $OUT" >&2
