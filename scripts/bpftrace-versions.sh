#!/usr/bin/env bash
# Runs the end-to-end suite against every bpftrace version users run
# (docs/compatibility.md): the host's own (Debian 12: 0.17), Debian 13's
# (trixie: 0.23) and Debian unstable's (sid: the newest). Run as root from
# anywhere:
#
#   scripts/bpftrace-versions.sh                   # host trixie sid, e2e suite
#   scripts/bpftrace-versions.sh --suites "sid" -- -R Privilege
#   scripts/bpftrace-versions.sh --ci              # CI: trixie sid, the version-sensitive e2e tests
#   scripts/bpftrace-versions.sh --prepare         # only build the roots and wrappers
#   PATH=$(scripts/bpftrace-versions.sh --wrapper sid):$PATH bpftrace --version
#
# Each newer bpftrace comes from a minimal Debian root (debootstrap minbase +
# `apt-get install bpftrace`, ~40 s and ~700 MB each on a quiet machine), built
# once and cached outside the repository (default /var/cache/bpftrace-otel/roots,
# re-used while present; --refresh rebuilds). The host's apt sources are never
# touched.
#
# The root's bpftrace runs through a wrapper named `bpftrace` that execs it
# with the root's own dynamic loader and libraries, at the host's paths, not in
# a chroot: chroot(2) needs uid 0 and CAP_SYS_CHROOT, so the privilege matrix
# (reduced capability sets, uid 65534) could not run through it, and the traced
# paths would differ on the two sides (uprobe:libssl would resolve the root's
# libssl, `-c` commands would run with the root's libraries). With the loader,
# bpftrace sees the host's /proc, /sys, tracefs, /dev, /tmp and build tree as
# they are, and its capabilities are exactly the caller's. The wrapper
# directory goes first on PATH, so every e2e test (they all find bpftrace
# through PATH) joins the matrix without change.
#
# Options:
#   --suites "LIST"   which to run, in order (default "host trixie sid"; env BTO_BPFTRACE_SUITES)
#   --roots DIR       where roots are cached (env BTO_ROOTS_DIR)
#   --build-dir DIR   the build tree whose e2e tests run (default build; env BUILD_DIR)
#   --mirror URL      Debian mirror (default http://deb.debian.org/debian; env BTO_DEBIAN_MIRROR)
#   --ci              trixie and sid, only the e2e tests whose results depend on the
#                     version ($CI_TESTS below); the host's bpftrace runs the whole
#                     suite in CI's first stage
#   --prepare         build the roots and wrappers, print each version, run nothing
#   --refresh         rebuild the roots even when cached (sid moves: picks up its newest bpftrace)
#   --wrapper SUITE   prepare SUITE and print its wrapper directory (for PATH=...)
#   -- ARGS           passed to ctest instead of the default "-L e2e"
#
# Exit status: 0 when every suite passed, 1 when a suite failed, 2 on a set-up problem.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITES=${BTO_BPFTRACE_SUITES:-host trixie sid}
ROOTS_DIR=${BTO_ROOTS_DIR:-/var/cache/bpftrace-otel/roots}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
MIRROR=${BTO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PREPARE_ONLY=0
REFRESH=0
WRAPPER_ONLY=""
CTEST_ARGS=(-L e2e)
# What differs by version: every example script (one span per request, however
# the binary is passed), shapes/losses/UTF-8/ids/records, the diagnoses, the
# real programs (CPython, curl, OpenSSL, SQLite) and the privilege matrix.
CI_TESTS='E2eScripts|E2eVersions|E2eDiagnosis|E2eRealPrograms|E2ePython|Privilege\.|E2e\.http_spans_match_requests'

die() { echo "bpftrace-versions: $*" >&2; exit 2; }
say() { echo "bpftrace-versions: $*" >&2; }

while (($#)); do
  case $1 in
    --suites) SUITES=$2; shift 2 ;;
    --roots) ROOTS_DIR=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --ci) SUITES="trixie sid"; CTEST_ARGS=(-L e2e -R "$CI_TESTS"); shift ;;
    --prepare) PREPARE_ONLY=1; shift ;;
    --refresh) REFRESH=1; shift ;;
    --wrapper) WRAPPER_ONLY=$2; SUITES=$2; shift 2 ;;
    --) shift; CTEST_ARGS=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--help)" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "run as root: building roots and attaching probes need it"
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd) || BUILD_DIR=""
WRAPPERS_DIR=$(dirname "$ROOTS_DIR")/bin

# Every mount point at or below $1, deepest first (a crashed debootstrap leaves
# /proc and /sys mounted inside its target).
mounts_under() {
  local dir=$1
  awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

unmount_under() {
  local mnt
  for mnt in $(mounts_under "$1"); do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || die "cannot unmount $mnt"
  done
}

# Removes a root directory; never follows a mount into the host's /proc or /sys.
remove_root() {
  [[ -e $1 ]] || return 0
  unmount_under "$1"
  [[ -z $(mounts_under "$1") ]] || die "still mounted below $1"
  rm -rf --one-file-system "$1"
}

cleanup() {
  local dir
  for dir in "$ROOTS_DIR"/*.tmp; do
    [[ -e $dir ]] && unmount_under "$dir"
  done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# build_root SUITE: debootstrap + bpftrace into $ROOTS_DIR/SUITE, atomically
# (built in SUITE.tmp, renamed when complete; a crashed run leaves only .tmp).
build_root() {
  local suite=$1 target=$ROOTS_DIR/$1 tmp=$ROOTS_DIR/$1.tmp started=$SECONDS
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
  mkdir -p "$ROOTS_DIR"
  remove_root "$tmp"
  say "building the $suite root in $target (debootstrap minbase + bpftrace)"
  if ! nice debootstrap --variant=minbase "$suite" "$tmp" "$MIRROR" >"$ROOTS_DIR/$suite.log" 2>&1; then
    unmount_under "$tmp"
    tail -n 20 "$ROOTS_DIR/$suite.log" >&2
    die "debootstrap $suite failed (log: $ROOTS_DIR/$suite.log)"
  fi
  unmount_under "$tmp"
  # The mirror's copy of unstable can carry a Release file past its validity date.
  local apt=(chroot "$tmp" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get -o Acquire::Check-Valid-Until=false -q)
  if ! { "${apt[@]}" update && nice "${apt[@]}" install -y --no-install-recommends bpftrace; } \
      >>"$ROOTS_DIR/$suite.log" 2>&1; then
    unmount_under "$tmp"
    tail -n 20 "$ROOTS_DIR/$suite.log" >&2
    die "installing bpftrace in the $suite root failed (log: $ROOTS_DIR/$suite.log)"
  fi
  unmount_under "$tmp"
  chroot "$tmp" apt-get clean
  remove_root "$target"
  mv "$tmp" "$target"
  say "built the $suite root in $((SECONDS - started)) s ($(du -sh --one-file-system "$target" | cut -f1))"
}

# write_wrapper SUITE: $WRAPPERS_DIR/SUITE/bpftrace, exec'ing the root's
# bpftrace with the root's loader and the directories of every library it
# links (as the root's own ldd resolves them).
write_wrapper() {
  local suite=$1 root=$ROOTS_DIR/$1 dir=$WRAPPERS_DIR/$1
  local loader libdirs
  loader=$(chroot "$root" readlink -f /lib64/ld-linux-x86-64.so.2) || die "no loader in $root"
  libdirs=$(chroot "$root" ldd /usr/bin/bpftrace |
    awk '$2 == "=>" && $3 ~ /^\// { sub(/\/[^\/]*$/, "", $3); print $3 }' | sort -u |
    sed "s|^|$root|" | paste -sd:)
  [[ -n $libdirs ]] || die "cannot list the libraries of $root/usr/bin/bpftrace"
  if chroot "$root" ldd /usr/bin/bpftrace | grep -q "not found"; then
    die "the $suite root's bpftrace misses libraries: $(chroot "$root" ldd /usr/bin/bpftrace | grep 'not found')"
  fi
  mkdir -p "$dir/loader"
  # The loader is started through a link named bpftrace: the kernel names the
  # process after the file exec'd, so `pgrep bpftrace` and /proc/PID/comm see
  # "bpftrace" as with an installed one.
  ln -sfn "$root$loader" "$dir/loader/bpftrace"
  cat >"$dir/bpftrace.tmp" <<EOF
#!/bin/sh
# bpftrace from the Debian $suite root $root, run with that root's loader
# and libraries at the host's paths (written by scripts/bpftrace-versions.sh).
exec $dir/loader/bpftrace --argv0 bpftrace --library-path $libdirs $root/usr/bin/bpftrace "\$@"
EOF
  chmod 755 "$dir/bpftrace.tmp"
  mv "$dir/bpftrace.tmp" "$dir/bpftrace"
}

# prepare SUITE: prints the directory to put first on PATH ("" for the host).
prepare() {
  local suite=$1
  [[ $suite == host ]] && return 0
  [[ $suite =~ ^[a-z0-9-]+$ ]] || die "bad suite name '$suite'"
  if ((REFRESH)) || [[ ! -x $ROOTS_DIR/$suite/usr/bin/bpftrace ]]; then
    build_root "$suite" >&2
  fi
  write_wrapper "$suite"
  echo "$WRAPPERS_DIR/$suite"
}

version_of() {  # version_of PATHDIR
  PATH=${1:+$1:}$PATH bpftrace --version 2>&1 | head -n 1
}

if [[ -n $WRAPPER_ONLY ]]; then
  prepare "$WRAPPER_ONLY"
  exit 0
fi

if ((!PREPARE_ONLY)); then
  [[ -n $BUILD_DIR && -f $BUILD_DIR/CMakeCache.txt ]] ||
    die "no build tree (BUILD_DIR or --build-dir; build first: scripts/test.sh)"
  if ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing || die "tracefs is not mounted"
  fi
fi

results=()
failed=0
for suite in $SUITES; do
  started=$SECONDS
  dir=$(prepare "$suite")
  version=$(version_of "$dir")
  [[ $version == bpftrace* ]] || die "$suite: bpftrace does not run: $version"
  prepared=$((SECONDS - started))
  if ((PREPARE_ONLY)); then
    echo "$suite: $version (wrapper: ${dir:-host PATH}, ready in ${prepared} s)"
    continue
  fi
  echo
  echo "==== $suite: $version (${dir:-host PATH}) ===="
  log=$(mktemp /tmp/bto-versions-"$suite".XXXXXX)
  status=0
  PATH=${dir:+$dir:}$PATH ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 "${CTEST_ARGS[@]}" \
    2>&1 | tee "$log" || status=$?
  ((status == 0)) || failed=1
  tally=$(grep -E "tests passed, [0-9]+ tests failed out of" "$log" | tail -n 1 || true)
  failures=$(sed -n '/The following tests FAILED/,$p' "$log" | grep -E '^\s+[0-9]+ - ' | sed 's/^ *//' || true)
  rm -f "$log"
  results+=("$suite | $version | ${tally:-no tests ran} | $((SECONDS - started)) s (root ready in ${prepared} s)")
  [[ -n $failures ]] && results+=("    failed: $(echo "$failures" | paste -sd, | sed 's/,/, /g')")
done

if ((!PREPARE_ONLY)); then
  echo
  echo "==== bpftrace version matrix ===="
  printf '%s\n' "${results[@]}"
  exit $failed
fi
