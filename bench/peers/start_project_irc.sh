#!/usr/bin/env bash
# Start the project's server.ts with its IRC listener on 127.0.0.1:PORT, in the foreground (exec: $!
# is deno), for ../shared/bench/run_bench.sh driving it with `loadgen --proto irc`. The line port
# takes any free port (--port 0) and the browser page is off. PROJECT_DIR defaults to this checkout;
# SERVER_ARGS adds flags (bench/irc_bench.sh passes "--quiet --rate 0").
#
# The console sets a message of the day: without one the server answers registration with 422
# ("MOTD File is missing"), which the load generator, having sent JOIN right after 001, reads as the
# JOIN failing. ngIRCd's benchmark config has a MOTD, so this makes the two alike.
set -euo pipefail
PORT=${1:?usage: start_project_irc.sh PORT}
DIR=${PROJECT_DIR:-$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)}
MOTD=$(mktemp /tmp/chat-bench-motd.XXXXXX)
printf '/motd benchmark\n' >"$MOTD"
exec <"$MOTD"
rm -f "$MOTD"
# shellcheck disable=SC2086
exec deno run --allow-net "$DIR/server.ts" --host 127.0.0.1 --port 0 --irc-port "$PORT" \
  --irc-server-name bench.local --irc-no-autojoin --no-web --max-clients 20000 ${SERVER_ARGS:-}
