#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the project's corpus/: each field of corpus/valid becomes
# one seed (prefixed with a 0x00 mode byte: raw bytes), and each small malformed file too.
# Header-block seeds are whole header blocks built from the same fields.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../corpus"
al="$here/corpus/address_list"; hb="$here/corpus/header_block"
mkdir -p "$al" "$hb"
n=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue;; esac
  value=${line#*$'\t'}
  n=$((n+1))
  printf '\0%s' "$value" > "$al/valid-$n"
  printf '\0%s\r\n\r\nbody\r\n' "$line" | sed 's/\t/: /' > "$hb/valid-$n"
done < <(cat "$corpus"/valid/*.txt)
for f in "$corpus"/malformed/*-64b.txt "$corpus"/malformed/*-1k.txt; do
  b=$(basename "$f" .txt)
  { printf '\0'; cat "$f"; } > "$al/$b"
  { printf '\0To: '; cat "$f"; printf '\n\nbody\n'; } > "$hb/$b"
done
echo "seeded $(ls "$al" | wc -l) address_list and $(ls "$hb" | wc -l) header_block inputs"
