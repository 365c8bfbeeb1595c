#!/bin/sh
# Install mmdx into a temporary prefix; build the example plugin out of tree
# with pkg-config only; check that the installed host lists its own plugins
# without any environment and the example plugin through MMDX_PLUGIN_PATH.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=$1 src=$2 fixtures=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# In the build tree the host finds the built-in plugins without any environment.
out=$(cd "$tmp" && env -u MMDX_PLUGIN_PATH MMDX_CONFIG= "$build/bin/mmdx" plugins --json)
for name in imaging genomics records early late; do
    echo "$out" | grep -q "\"name\": \"$name\"" || fail "build-tree mmdx does not list plugin $name: $out"
done

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
p=$tmp/prefix
for f in bin/mmdx include/mmdx/plugin.h include/mmdx/common.h lib/pkgconfig/mmdx.pc; do
    [ -f "$p/$f" ] || fail "$f not installed"
done
[ -d "$p/lib/mmdx/plugins" ] || mkdir -p "$p/lib/mmdx/plugins"

# Host finds plugins relative to its executable (no MMDX_PLUGIN_PATH, no config):
# the installed ones, and a fixture dropped into the same folder.
out=$(cd "$tmp" && env -u MMDX_PLUGIN_PATH MMDX_CONFIG= "$p/bin/mmdx" plugins --json)
for name in imaging genomics records early late; do
    echo "$out" | grep -q "\"name\": \"$name\"" || fail "installed mmdx does not list plugin $name: $out"
done
cp "$fixtures/good.so" "$p/lib/mmdx/plugins/mmdx_testenc.so"
out=$(cd "$tmp" && env -u MMDX_PLUGIN_PATH MMDX_CONFIG= "$p/bin/mmdx" plugins --json)
echo "$out" | grep -q '"name": "testenc"' || fail "installed mmdx does not list its installed plugin: $out"
echo "$out" | grep -q "\"path\": \"$p/lib/mmdx/plugins/mmdx_testenc.so\"" || fail "wrong plugin path: $out"
"$p/bin/mmdx" --help | grep -q "Usage: mmdx" || fail "mmdx --help"

# The example plugin builds out of tree against the installed SDK, by pkg-config alone.
cp -r "$src/examples/lab-panel" "$tmp/lab-panel"
PKG_CONFIG_PATH="$p/lib/pkgconfig" make -s -C "$tmp/lab-panel" >/dev/null || fail "example plugin does not build"
mkdir -m 0755 "$tmp/site-plugins"
install -m 0644 "$tmp/lab-panel/mmdx_labpanel.so" "$tmp/site-plugins/"
out=$(cd "$tmp" && MMDX_CONFIG= MMDX_PLUGIN_PATH="$tmp/site-plugins" "$p/bin/mmdx" plugins --json)
echo "$out" | grep -q '"name": "labpanel"' || fail "example plugin not listed: $out"

# ... and it encodes a cohort with its configuration.
mkdir "$tmp/cohort"
printf 'ldl_cholesterol,3.4\nhba1c,48\n' > "$tmp/cohort/a.csv"
printf 'patient_id,lab_panel\nA,a.csv\nB,\n' > "$tmp/cohort/cohort.csv"
printf '[labpanel]\nanalyte = hba1c\nanalyte = ldl_cholesterol\nanalyte = egfr\n' > "$tmp/site.conf"
(cd "$tmp" && MMDX_PLUGIN_PATH="$tmp/site-plugins" "$p/bin/mmdx" encode --only labpanel \
    --cohort cohort/cohort.csv --out f.csv --config site.conf 2>/dev/null) || fail "encode with the example plugin"
expected='patient_id,labpanel.present,labpanel.hba1c,labpanel.ldl_cholesterol,labpanel.egfr
A,1,48,3.4,
B,0,,,'
[ "$(cat "$tmp/f.csv")" = "$expected" ] || fail "unexpected table: $(cat "$tmp/f.csv")"
echo "install and example plugin: ok"
