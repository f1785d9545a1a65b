#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the project's corpus/: each field of corpus/valid becomes
# one seed (prefixed with a 0x00 mode byte: raw bytes), and each small malformed file too.
# Header-block seeds are whole header blocks built from the same fields; envelope seeds are
# router inputs around them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus="$here/../corpus"
al="$here/corpus/address_list"; hb="$here/corpus/header_block"; ev="$here/corpus/envelope"
ms="$here/corpus/message"; zm="$here/corpus/zmailer"; sp="$here/corpus/spool"
mkdir -p "$al" "$hb" "$ev" "$ms" "$zm" "$sp"
# The spool target starts from the sequences tests/spool_sequences.rs runs (its SPOOL_DUMP).
cp "$corpus"/spool/* "$sp/"
# ZMailer mode starts from what ZMailer's writers put into router/, and from every router
# input (its envelope keywords are ZMailer's too).
for f in "$corpus"/zmailer/* "$corpus"/messages/*.eml; do cp "$f" "$zm/$(basename "$f")"; done
# The message target starts from every complete router input of corpus/messages.
for f in "$corpus"/messages/*.eml; do cp "$f" "$ms/$(basename "$f")"; done
n=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue;; esac
  value=${line#*$'\t'}
  n=$((n+1))
  printf '\0%s' "$value" > "$al/valid-$n"
  printf '\0%s\r\n\r\nbody\r\n' "$line" | sed 's/\t/: /' > "$hb/valid-$n"
  printf 'from <a@example.org>\nto <b@example.net>\nx-seed %s\nenv-end\n%s\n\nbody\n' "$n" "$line" | sed 's/\t/: /' > "$ev/valid-$n"
done < <(cat "$corpus"/valid/*.txt)
printf 'from <>\r\nto <d@example.net>\r\nenv-end\r\nmsg' > "$ev/crlf-null-sender"
for f in "$corpus"/malformed/*-64b.txt "$corpus"/malformed/*-1k.txt; do
  b=$(basename "$f" .txt)
  { printf '\0'; cat "$f"; } > "$al/$b"
  { printf '\0To: '; cat "$f"; printf '\n\nbody\n'; } > "$hb/$b"
done
for f in "$ev"/valid-*; do cp "$f" "$ms/$(basename "$f")"; done
echo "seeded $(ls "$al" | wc -l) address_list, $(ls "$hb" | wc -l) header_block, $(ls "$ev" | wc -l) envelope $(ls "$ms" | wc -l) message, $(ls "$zm" | wc -l) zmailer and $(ls "$sp" | wc -l) spool inputs"
