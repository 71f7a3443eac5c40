#!/usr/bin/env bash
# `make dist`: release binaries with the Swift runtime linked statically, packed with the
# example files and docs into dist/lv-<version>-linux-<arch>.tar.gz (and a copy named
# dist/lv-linux-<arch>.tar.gz, which deploy/container/ builds from). The binaries need only
# what Debian's libsqlite3-0, libprotobuf-c1 and (registration, engagement, assessment) libpq5 bring (and libc/libstdc++/libgcc-s, present on
# every Debian host); Tests/python/test_dist.py checks that with ldd.
#
# The version is BuildInfo.version; the commit is `git rev-parse` (+ "-dirty" with uncommitted
# changes); the build date is the commit's date (SOURCE_DATE_EPOCH style, so rebuilding the
# same commit is incremental and gives the same answer to --version).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

version=$(sed -n 's/.*public static let version = "\(.*\)".*/\1/p' Shared/LVRPC/BuildInfo.swift)
[[ -n $version ]] || { echo "dist: cannot read BuildInfo.version" >&2; exit 2; }
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown ]] && ! git diff --quiet HEAD -- Package.swift Shared Services 2>/dev/null; then commit="$commit-dirty"; fi
date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
arch=$(uname -m)
name="lv-$version-linux-$arch"
scratch=${LV_DIST_SCRATCH:-$root/.build-dist}
products=(lv-registration lv-engagement lv-assessment lv-gateway lv-load lvctl lv-web)

echo "dist: building $name (commit $commit, date $date) in $scratch"
start=$(date +%s)
swift build -c release --static-swift-stdlib --scratch-path "$scratch" \
  -Xcc "-DLV_GIT_COMMIT=\"$commit\"" -Xcc "-DLV_BUILD_DATE=\"$date\""
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path \
  -Xcc "-DLV_GIT_COMMIT=\"$commit\"" -Xcc "-DLV_BUILD_DATE=\"$date\"")
echo "dist: release build took $(( $(date +%s) - start )) s"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top="$stage/$name"
mkdir -p "$top/bin" "$top/docs" "$top/deploy" "$top/examples"
for p in "${products[@]}"; do
  install -m 0755 "$bin/$p" "$top/bin/$p"
  strip --strip-debug "$top/bin/$p"
done
cp README.md "$top/"
cp docs/*.md docs/protocol-vectors.json "$top/docs/"
cp -r deploy/systemd deploy/config deploy/container deploy/kubernetes deploy/compose.yaml "$top/deploy/"
cp deploy/local/examples/* "$top/examples/"
cp proto/lv.protoset "$top/"
printf '%s\ncommit %s\nbuilt %s\n' "$version" "$commit" "$date" > "$top/VERSION"

mkdir -p dist
tarball="dist/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$(git log -1 --format=%ct 2>/dev/null || echo 0)" \
  -C "$stage" -czf "$tarball" "$name"
cp -f "$tarball" "dist/lv-linux-$arch.tar.gz"
echo "dist: $tarball ($(du -h "$tarball" | cut -f1)) in $(( $(date +%s) - start )) s"
