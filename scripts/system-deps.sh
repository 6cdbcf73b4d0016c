#!/usr/bin/env bash
# Installs the Debian packages the README's two commands need, when they are missing.
#   scripts/system-deps.sh demo   bubblewrap (the sandbox for generated code)
#   scripts/system-deps.sh test   + postgresql (store tests start a throwaway server),
#                                 chromium and a font (report and viewer browser tests),
#                                 node and npm (the coding clients, `make clients`),
#                                 redis-server and nginx-light (warden's replicas tests),
#                                 Go, Rust and C++ toolchains (polyglot exercises)
# As root it runs apt-get; otherwise through sudo when there is one; else it prints the
# command to run and fails for the tests (nothing is silently skipped). The demo goes
# on without bubblewrap: the sandbox then records its weaker isolation as a warning.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v bwrap >/dev/null || missing+=(bubblewrap)
if [ "${1:-demo}" = "test" ]; then
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
    [ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
    command -v npm >/dev/null || missing+=(nodejs npm)
    # warden as replicas (tests/warden/scale): shared limits in Redis, nginx in front
    command -v redis-server >/dev/null || missing+=(redis-server)
    [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
    # polyglot Java exercises: a JDK and the jars their build.gradle files name
    command -v javac >/dev/null || missing+=(default-jdk-headless)
    for jar in junit-platform-console-standalone:junit5 assertj-core:libassertj-core-java \
        com.android.json:libandroid-json-java rxjava:librx-java \
        reactive-streams:libreactive-streams-java; do
        [ -f "/usr/share/java/${jar%%:*}.jar" ] || missing+=("${jar#*:}")
    done
    # polyglot Go, Rust and C++ exercises: Debian's toolchains in /usr/bin (the sandbox
    # sees nothing else: a rustup cargo elsewhere does not count), the crates some Rust
    # exercises use, Boost.Date_Time for two C++ ones
    for tool in go:golang-go cargo:cargo rustc:rustc cmake:cmake g++:g++ make:make; do
        [ -x "/usr/bin/${tool%%:*}" ] || missing+=("${tool#*:}")
    done
    for crate in anyhow rand thiserror time; do
        compgen -G "/usr/share/cargo/registry/$crate-[0-9]*" >/dev/null || missing+=("librust-$crate-dev")
    done
    [ -f /usr/include/boost/date_time.hpp ] || missing+=(libboost-date-time-dev)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "benchwarden needs these Debian packages: ${missing[*]}" >&2
    echo "install them as root:  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    if [ "${1:-demo}" = "demo" ]; then
        echo "going on without them: generated code gets a weaker sandbox, with a warning" >&2
        exit 0
    fi
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
"${as_root[@]}" apt-get update -q </dev/null
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
