#!/usr/bin/env bash
# Build (once) and cache the local control-plane binaries used by Ottoscaler's
# tests and benchmarks: kube-apiserver, kube-scheduler, etcd and kwok; with the
# argument kube-controller-manager, that one instead.
#
#   tasks/control_plane/build.sh [kube-controller-manager]
#
# Everything is built from the Go module proxy; nothing is written into the
# repository. The result lives in a version-keyed cache directory:
#   ${OTTOSCALER_CACHE:-$HOME/.cache/ottoscaler}/bin/k8s-<kube>-etcd-<etcd>-kwok-<kwok>/
#   ${OTTOSCALER_CACHE:-$HOME/.cache/ottoscaler}/bin/kube-controller-manager-<kube>/
# (kube-controller-manager has an entry of its own, keyed by KUBE_VERSION only,
# so adding it did not invalidate the cached set of four.) Progress goes to
# stderr; the only thing printed on stdout is that directory.
#
# Environment:
#   KUBE_VERSION, ETCD_VERSION, KWOK_VERSION  override the pinned versions below
#   OTTOSCALER_CACHE     cache root (default $HOME/.cache/ottoscaler)
#   OTTOSCALER_GO_JOBS   go build -p value (default 2; set 1 to save memory)
#   KUBEBUILDER_ASSETS   if it holds kube-apiserver and etcd (optionally
#                        kube-scheduler, kwok) of the pinned versions, those are
#                        copied instead of built
#
# Safe to re-run: a complete cache entry is reused; builds happen in a temp dir
# under the cache root and are renamed into place only when all four binaries
# exist and answer --version, so an interrupted run never leaves a half cache.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
GO_JOBS="${OTTOSCALER_GO_JOBS:-2}"

case "${1:-}" in
"") BINARIES=(kube-apiserver kube-scheduler etcd kwok) ;;
kube-controller-manager) BINARIES=(kube-controller-manager) ;;
*) printf 'usage: %s [kube-controller-manager]\n' "$0" >&2; exit 2 ;;
esac

LOG_NAME=build
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[[ $KUBE_VERSION =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] ||
  die "KUBE_VERSION must be a release like v1.36.3 (got '$KUBE_VERSION')"
KUBE_MINOR="${BASH_REMATCH[1]}"
STAGING_VERSION="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}" # v1.36.3 -> v0.36.3
[[ $ETCD_VERSION =~ ^v3\.[0-9]+\.[0-9]+$ ]] ||
  die "ETCD_VERSION must be a release like v3.6.16 (got '$ETCD_VERSION')"
[[ $KWOK_VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "KWOK_VERSION must be a release like v0.8.0 (got '$KWOK_VERSION')"
[[ $GO_JOBS =~ ^[1-9][0-9]*$ ]] || die "OTTOSCALER_GO_JOBS must be a positive integer"

CACHE_ROOT="${OTTOSCALER_CACHE:-$HOME/.cache/ottoscaler}"
BIN_ROOT="$CACHE_ROOT/bin"
if [[ ${BINARIES[0]} == kube-controller-manager ]]; then
  BIN_DIR="$BIN_ROOT/kube-controller-manager-${KUBE_VERSION}"
else
  BIN_DIR="$BIN_ROOT/k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}"
fi

is_complete() {
  local dir=$1 b
  for b in "${BINARIES[@]}"; do [[ -x $dir/$b ]] || return 1; done
}

if is_complete "$BIN_DIR"; then
  log "cached: $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "'go' not found in PATH (Go >= 1.26 is needed to build)"

mkdir -p "$BIN_ROOT"
# One build at a time per cache root; a second caller waits, then reuses.
exec 9>"$BIN_ROOT/.build.lock"
if ! flock -n 9; then
  log "another build holds $BIN_ROOT/.build.lock; waiting for it"
  flock 9
fi
if is_complete "$BIN_DIR"; then
  log "cached (built by a concurrent run): $BIN_DIR"
  echo "$BIN_DIR"
  exit 0
fi

# We hold the lock, so any leftover build dir is from a killed run.
for stale in "$BIN_ROOT"/.build-*; do
  [[ -e $stale ]] || continue
  log "removing stale build dir $stale"
  rm -rf -- "$stale"
done

# Same filesystem as BIN_DIR so the final rename is atomic.
WORK="$(mktemp -d "$BIN_ROOT/.build-XXXXXX")"
trap 'rm -rf -- "$WORK"' EXIT
OUT="$WORK/out"
mkdir -p "$OUT"

NICE=()
command -v nice >/dev/null 2>&1 && NICE=(nice -n 19)

# Helper modules live in $WORK, never in a repo or workspace.
export GOWORK=off CGO_ENABLED=0
BUILD_GOFLAGS="-buildvcs=false -p=$GO_JOBS"

# run <cmd...>: log the command and send its stdout to stderr (stdout is
# reserved for the final path).
run() {
  log "+ $*"
  "$@" >&2
}

# gomod_field <module@version> <Field>: download the module's metadata and
# print one string field (GoMod, Info, Dir) from `go mod download -json`.
gomod_field() {
  local json
  json="$(GOFLAGS="$BUILD_GOFLAGS" go mod download -json "$1")" ||
    die "go mod download $1 failed (is the version served by \$GOPROXY=$(go env GOPROXY)?)"
  if grep -q '"Error"' <<<"$json"; then
    die "go mod download $1: $(sed -n 's/.*"Error": "\(.*\)".*/\1/p' <<<"$json")"
  fi
  sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" <<<"$json" | head -n1
}

# local_replaces <go.mod> <module-regex>: modules matching the regex whose
# replace target is a local path (./... or ../...), both single-line and block
# forms.
local_replaces() {
  awk -v want="$2" '
    { sub(/\/\/.*/, "") }
    /^replace[ \t]*\(/ { inblk = 1; next }
    inblk && /^[ \t]*\)/ { inblk = 0; next }
    !inblk && !/^replace[ \t]/ { next }
    {
      if (!inblk) sub(/^replace[ \t]+/, "")
      target = ($2 == "=>") ? $3 : (($3 == "=>") ? $4 : "")
      if (target ~ /^\.\.?\// && $1 ~ want && target !~ /FORBIDDEN/) print $1
    }' "$1" | sort -u
}

# go_line <go.mod>: the module's `go` directive version.
go_line() { sed -n 's/^go[[:space:]]\{1,\}\([0-9.]*\).*/\1/p' "$1" | head -n1; }

declare -A SECONDS_FOR=()
declare -A FROM=()

timed() {
  local name=$1 start
  shift
  start=$(date +%s)
  "$@"
  SECONDS_FOR[$name]=$(($(date +%s) - start))
  log "$name: done in ${SECONDS_FOR[$name]}s"
}

# version_ok <name> <binary>: does the binary report the pinned version?
version_ok() {
  local name=$1 bin=$2 out
  out="$("$bin" --version 2>&1)" || return 1
  case $name in
  kube-*) grep -qx "Kubernetes ${KUBE_VERSION}" <<<"$out" ;;
  etcd) grep -q "^etcd Version: ${ETCD_VERSION#v}\$" <<<"$out" ;;
  kwok) grep -qE "(^|[^0-9])v?${KWOK_VERSION#v}([^0-9]|\$)" <<<"$out" ;;
  esac
}

# --- optional: reuse binaries from KUBEBUILDER_ASSETS -------------------------
if [[ -n ${KUBEBUILDER_ASSETS:-} && ${BINARIES[0]} != kube-controller-manager ]]; then
  if [[ -x $KUBEBUILDER_ASSETS/kube-apiserver && -x $KUBEBUILDER_ASSETS/etcd ]]; then
    for b in "${BINARIES[@]}"; do
      src="$KUBEBUILDER_ASSETS/$b"
      [[ -x $src ]] || continue
      if version_ok "$b" "$src"; then
        log "using $src from KUBEBUILDER_ASSETS"
        cp -L -- "$src" "$OUT/$b"
        FROM[$b]="KUBEBUILDER_ASSETS"
      else
        log "ignoring $src: its --version is not the pinned one ($("$src" --version 2>&1 | head -n1))"
      fi
    done
  else
    log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver and/or etcd; building everything"
  fi
fi

# wanted <binary>: it is in BINARIES and not taken from KUBEBUILDER_ASSETS.
wanted() {
  local b
  [[ -z ${FROM[$1]:-} ]] || return 1
  for b in "${BINARIES[@]}"; do [[ $b == "$1" ]] && return 0; done
  return 1
}

# --- kube-apiserver, kube-scheduler, kube-controller-manager ----------------------
build_kube() {
  local kmod kinfo mod_dir build_date ld pkg mods b
  local -a cmds=()
  for b in kube-apiserver kube-scheduler kube-controller-manager; do
    wanted "$b" && cmds+=("$b")
  done
  log "reading k8s.io/kubernetes@$KUBE_VERSION go.mod from the module proxy"
  kmod="$(gomod_field "k8s.io/kubernetes@$KUBE_VERSION" GoMod)"
  [[ -f $kmod ]] || die "no go.mod for k8s.io/kubernetes@$KUBE_VERSION"
  kinfo="$(gomod_field "k8s.io/kubernetes@$KUBE_VERSION" Info)"
  mods="$(local_replaces "$kmod" '^k8s[.]io/')"
  [[ -n $mods ]] || die "found no ./staging replace directives in $kmod"
  log "staging modules ($(wc -l <<<"$mods")) pinned to $STAGING_VERSION"

  mod_dir="$WORK/kube-helper"
  mkdir -p "$mod_dir"
  {
    echo "module ottoscaler.local/kube-build"
    echo
    echo "go $(go_line "$kmod")"
    grep '^godebug[[:space:]]' "$kmod" || true
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"; done <<<"$mods"
    echo ")"
  } >"$mod_dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in "${cmds[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    printf ')\n'
  } >"$mod_dir/tools.go"

  build_date="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$kinfo" 2>/dev/null || true)"
  [[ -n $build_date ]] || build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$KUBE_MINOR"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done

  (
    cd "$mod_dir"
    export GOFLAGS="-mod=mod $BUILD_GOFLAGS"
    run go mod tidy
    for b in "${cmds[@]}"; do
      timed "$b" run "${NICE[@]}" go build -trimpath -ldflags "$ld" -o "$OUT/$b" "k8s.io/kubernetes/cmd/$b"
      echo "$b=${SECONDS_FOR[$b]}" >>"$WORK/times"
    done
  )
}

# --- etcd ---------------------------------------------------------------------
build_etcd() {
  local emod mod_dir mods
  log "reading go.etcd.io/etcd/server/v3@$ETCD_VERSION go.mod from the module proxy"
  emod="$(gomod_field "go.etcd.io/etcd/server/v3@$ETCD_VERSION" GoMod)"
  [[ -f $emod ]] || die "no go.mod for go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  mods="$(local_replaces "$emod" '^go[.]etcd[.]io/etcd/')"
  log "etcd sibling modules pinned to $ETCD_VERSION: $(tr '\n' ' ' <<<"$mods")"

  mod_dir="$WORK/etcd-helper"
  mkdir -p "$mod_dir"
  {
    echo "module ottoscaler.local/etcd-build"
    echo
    echo "go $(go_line "$emod")"
    echo
    echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    if [[ -n $mods ]]; then
      echo
      echo "replace ("
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$ETCD_VERSION"; done <<<"$mods"
      echo ")"
    fi
  } >"$mod_dir/go.mod"
  cat >"$mod_dir/tools.go" <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  (
    cd "$mod_dir"
    export GOFLAGS="-mod=mod $BUILD_GOFLAGS"
    run go mod tidy
    timed etcd run "${NICE[@]}" go build -trimpath \
      -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-proxy-$ETCD_VERSION" \
      -o "$OUT/etcd" go.etcd.io/etcd/server/v3
    echo "etcd=${SECONDS_FOR[etcd]}" >>"$WORK/times"
  )
}

# --- kwok ---------------------------------------------------------------------
build_kwok() {
  # kwok's go.mod has no replace directives, so `go install pkg@version` works.
  timed kwok run env GOBIN="$OUT" GOFLAGS="$BUILD_GOFLAGS" "${NICE[@]}" \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  echo "kwok=${SECONDS_FOR[kwok]}" >>"$WORK/times"
}

log "building into $WORK (target $BIN_DIR); go $(go env GOVERSION), -p=$GO_JOBS, ${NICE[*]:-no nice}"
: >"$WORK/times"
if wanted kube-apiserver || wanted kube-scheduler || wanted kube-controller-manager; then build_kube; fi
if wanted etcd; then build_etcd; fi
if wanted kwok; then build_kwok; fi

# --- verify, then publish atomically ----------------------------------------
for b in "${BINARIES[@]}"; do
  [[ -x $OUT/$b ]] || die "$b was not produced"
  version_ok "$b" "$OUT/$b" ||
    die "$OUT/$b --version does not report the pinned version: $("$OUT/$b" --version 2>&1 | head -n3)"
  log "ok: $b $(du -h "$OUT/$b" | cut -f1) -- $("$OUT/$b" --version 2>&1 | head -n1)"
done

{
  echo "kube=$KUBE_VERSION staging=$STAGING_VERSION etcd=$ETCD_VERSION kwok=$KWOK_VERSION"
  echo "go=$(go env GOVERSION) built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for b in "${BINARIES[@]}"; do echo "$b: ${FROM[$b]:-built}"; done
  echo "build seconds:"
  cat "$WORK/times"
} >"$OUT/BUILD-INFO.txt"

if [[ -e $BIN_DIR ]]; then
  log "replacing incomplete cache dir $BIN_DIR"
  mv -T -- "$BIN_DIR" "$WORK/old"
fi
mv -T -- "$OUT" "$BIN_DIR"
log "cached: $BIN_DIR"
echo "$BIN_DIR"
