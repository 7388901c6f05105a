# shellcheck shell=bash
# Shared by up.sh, down.sh and build.sh (sourced). Set LOG_NAME (up, down,
# build) before sourcing; pid_of and the api helpers need $STATE at call time.

# log <text>, die <text>: progress and fatal errors to stderr, prefixed with
# the script's name; die exits 1.
log() { printf '[control-plane/%s] %s\n' "${LOG_NAME:-lib}" "$*" >&2; }
die() { printf '[control-plane/%s] ERROR: %s\n' "${LOG_NAME:-lib}" "$*" >&2; exit 1; }

# pid_of <component>: the recorded pid if that process is still alive and is
# still the component we started (argv[0] ends in /<component>).
pid_of() {
  local f="$STATE/pids/$1.pid" pid argv0
  [[ -r $f ]] || return 1
  pid="$(<"$f")"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # argv[0]: /proc/<pid>/cmdline up to the first NUL.
  IFS= read -r -d '' argv0 2>/dev/null <"/proc/$pid/cmdline" || [[ -n ${argv0:-} ]] || return 1
  [[ ${argv0##*/} == "$1" ]] || return 1
  echo "$pid"
}

# api <curl args...>: curl the apiserver as the admin user; prints the body,
# fails on HTTP >= 400.
api() {
  curl -sS --fail-with-body --max-time 10 \
    --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
    "$@"
}

# api_code <curl args...>: the HTTP status only (000 if unreachable).
api_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" --key "$STATE/pki/admin.key" \
    "$@" || true
}

# http_ok <url>: the URL answers 200 (TLS not verified: health endpoints only).
http_ok() { [[ $(curl -sk -o /dev/null -w '%{http_code}' --max-time 3 "$1" || true) == 200 ]]; }

# render <template> <NAME...>: prints the template with each ${NAME} replaced by
# the value of the shell variable NAME (like envsubst, limited to the names
# given). Fails if a ${UPPER_CASE} placeholder is left unfilled.
render() {
  local text name value left
  text="$(<"$1")" || die "cannot read template $1"
  shift
  for name in "$@"; do
    value="${!name?render: $name is not set}"
    text="${text//"\${$name}"/"$value"}"
  done
  if [[ $text =~ \$\{[A-Z_][A-Z0-9_]*\} ]]; then
    left="${BASH_REMATCH[0]}"
    die "template left $left unfilled"
  fi
  printf '%s\n' "$text"
}
