#!/bin/sh
# mkseeds.sh --- raw seed inputs of every fuzz target from the golden images and
# the corruption suite (tests/fsck/CASE/recipe applied to the golden image's
# metadata), into OUTDIR/<target>/. Run from the top of the tree after `make`;
# then minimize into tests/fuzz/corpus/<target> with -merge=1 (tests/fuzz/README).
#
#   tests/fuzz/mkseeds.sh OUTDIR
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/fsck_n" "$out/fsck_y"
meta() {	# golden case -> $tmp/$1.raw: its metadata only, restored sparse
	[ -f "$tmp/$1.raw" ] && return
	zstd -q -d -f --long=31 "images/$1/cache.img.zst" -o "$tmp/full.img"
	build/bcache-tool image --force "$tmp/full.img" -o "$tmp/$1.meta" >/dev/null
	truncate -s "$(stat -c %s "$tmp/full.img")" "$tmp/$1.raw"
	build/bcache-tool image --restore --force "$tmp/$1.meta" "$tmp/$1.raw" >/dev/null
	rm -f "$tmp/full.img"
}
for d in images/*/; do
	g=$(basename "$d")
	[ -f "images/$g/cache.img.zst" ] || continue
	meta "$g"
	build/tests/tools/fuzz-seeds "$tmp/$g.raw" "$out" "$g"
	tests/fuzz/img2fuzz.py "$tmp/$g.raw" "$out/fsck_n/$g" || continue
	cp "$out/fsck_n/$g" "$out/fsck_y/$g"
done
for r in tests/fsck/*/recipe; do
	c=$(basename "$(dirname "$r")")
	g=$(sed -n 's|^image images/\([^/]*\)/cache.img.zst|\1|p' "$r")
	[ -n "$g" ] || continue
	meta "$g"
	cp --sparse=always "$tmp/$g.raw" "$tmp/case.raw"
	grep -v '^image \|^#\|^$' "$r" | while read -r line; do
		# shellcheck disable=SC2086
		build/tests/tools/corrupt "$tmp/case.raw" $line >/dev/null
	done
	build/tests/tools/fuzz-seeds "$tmp/case.raw" "$out" "$c"
	tests/fuzz/img2fuzz.py "$tmp/case.raw" "$out/fsck_n/$c" || continue
	cp "$out/fsck_n/$c" "$out/fsck_y/$c"
done
