#!/usr/bin/env bash
# The README's two commands share one build of the dependencies (Burn above all) in the release
# folder: `cargo run --release --bin boundary-loss` (the demo) and `cargo test --release
# --workspace` (the tests). That holds only while every dependency gets the same features in
# both: cargo gives a dependency the union of the features that the packages being built ask
# for, and the tests' dev-dependencies ask for a few more. crates/cli/Cargo.toml asks for those
# too. This script fails, naming the dependency, when one appears in the demo's build with
# features the test build does not give it (a dev-dependency added or updated): add it there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every (package, features) pair of a build, workspace members left out (they are built anew
# for the tests anyway).
features_of() {
    cargo tree --locked "$@" -f '{p}|{f}' --prefix none --no-dedupe | grep -v ' (/.*/crates/[^)]*)' | sort -u
}

demo=$(mktemp) tests=$(mktemp)
trap 'rm -f "$demo" "$tests"' EXIT
features_of -p boundary-loss-cli -e normal,build >"$demo"
features_of --workspace -e normal,build,dev >"$tests"

only_in_demo=$(comm -23 "$demo" "$tests")
if [ -n "$only_in_demo" ]; then
    echo "error: these dependencies get other features in the demo's build than in the tests'," >&2
    echo "so the test command would rebuild them and everything above them (Burn):" >&2
    echo "$only_in_demo" | sed 's/^/  /' >&2
    echo "Give crates/cli/Cargo.toml a dependency on each with the test build's features:" >&2
    features_of --workspace -e normal,build,dev | grep -F -f <(echo "$only_in_demo" | cut -d'|' -f1) | sed 's/^/  /' >&2
    exit 1
fi
echo "the demo's dependencies are built exactly as the tests': one build serves both"
