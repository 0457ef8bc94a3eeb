#!/usr/bin/env bash
# Builds the starting corpora of the fuzz targets in fuzz/corpus/<target>/ (not
# committed) from the third-party feed corpus and the repository's own configs.
#   fuzz/seed.sh [CORPUS]     CORPUS defaults to ../shared/corpus
# parse and charset read a first byte that picks the charset and limits: their
# seeds get a 0 byte in front (no HTTP charset, default limits).
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:-../shared/corpus}"
[ -d "$src" ] || { echo "seed.sh: no corpus at $src" >&2; exit 2; }
max=65536   # larger files only slow the fuzzer down; -max_len cuts inputs anyway

mkdir -p fuzz/corpus/{parse,pipeline,charset,config}
n=0
while IFS= read -r -d '' f; do
  name=$(printf '%s' "${f#"$src"/}" | tr '/' '_')
  cp "$f" "fuzz/corpus/pipeline/$name"
  { printf '\0'; cat "$f"; } > "fuzz/corpus/parse/$name"
  { printf '\0'; cat "$f"; } > "fuzz/corpus/charset/$name"
  n=$((n + 1))
done < <(find "$src" -type f -size -"$max"c ! -iname 'README*' ! -iname 'LICENSE*' ! -name '*.jsonl' -print0)
cp fuzz/seeds/pipeline/* fuzz/corpus/pipeline/
for f in config/*.toml systemd/*.toml; do
  cp "$f" "fuzz/corpus/config/$(echo "$f" | tr '/' '_')"
done
# The annotated example in README.md.
awk '/^```toml/{on=1; next} /^```/{on=0} on' README.md > fuzz/corpus/config/readme.toml
cp fuzz/seeds/config/* fuzz/corpus/config/
echo "seeded $n feed files and $(ls fuzz/corpus/config | wc -l) configs into fuzz/corpus/"
