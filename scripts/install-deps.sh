#!/usr/bin/env bash
# Installs every Debian 12 package needed to build, test and run bpftrace-otel.
# Run as root (or with sudo). Safe to run again.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config file
  # libraries (why each one: docs/design.md, "Dependencies")
  libsimdjson-dev libcurl4-openssl-dev libdeflate-dev zlib1g-dev libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev
  libssl-dev systemtap-sdt-dev libgrpc++-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev protobuf-compiler python3 python3-protobuf openssl
  protobuf-compiler-grpc python3-grpcio
  time  # /usr/bin/time -v: peak RSS in scripts/adversarial.sh (ctest adversarial_memory_budget)
  # the real programs the ready scripts are tested against (tests/e2e/real_programs_e2e_test.cpp):
  # python3.11 (USDT probes), the curl CLI (libcurl4), openssl s_server, the sqlite3 shell (libsqlite3-0);
  # the curl CLI also scrapes /metrics in the soak scripts (scripts/soak.sh, scripts/spool-soak.sh)
  python3.11 curl libcurl4 libssl3 sqlite3 libsqlite3-0
  # fuzzing (scripts/fuzz.sh): libFuzzer and the sanitizer runtimes
  clang libclang-rt-14-dev llvm-14
  # the report page's browser test (tests/browser): headless chromium, about 40 s to install
  chromium
  # bpftrace version matrix (scripts/bpftrace-versions.sh): minimal roots of newer Debian suites
  debootstrap
  # deployment checks (scripts/verify-deploy.sh)
  python3-yaml systemd dpkg-dev
  # runtime
  bpftrace
)

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# npm fetches the official OTLP .proto files for the tests (never committed).
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends npm
fi
