#!/usr/bin/env bash
# Regenerates the built-in prompts, which media embeds from prompts/en/.
#
#   media/prompts/generate.sh            # English into media/prompts/en/
#   VOICE=fr OUT=/srv/prompts/fr TEXTS=fr.txt media/prompts/generate.sh
#
# Each prompt is spoken by espeak-ng, then sox makes it what media.LoadPrompts
# accepts: 8000 Hz, mono, 16-bit signed PCM WAV, with the leading and
# trailing silence trimmed and the peak normalised to -3 dBFS.
# Needs: apt-get install -y espeak-ng sox
#
# TEXTS names a file of "name<TAB>text" lines for another language; without
# it the English texts below are used. The names are the prompt files media
# knows: digit-0 .. digit-9, code_is, again, enter_code, verified,
# wrong_code, unidentified.
set -euo pipefail
cd "$(dirname "$0")"

VOICE=${VOICE:-en-us}
SPEED=${SPEED:-150}   # words per minute
OUT=${OUT:-en}

for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install -y espeak-ng sox)" >&2; exit 1; }
done

english() {
  printf '%s\t%s\n' \
    digit-0 zero digit-1 one digit-2 two digit-3 three digit-4 four \
    digit-5 five digit-6 six digit-7 seven digit-8 eight digit-9 nine \
    code_is "Your verification code is" \
    again "Again" \
    enter_code "Please enter the code shown on your screen, then press hash." \
    verified "Your number is verified." \
    wrong_code "That code is not correct." \
    unidentified "Sorry, we cannot identify your call."
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$OUT"

if [ -n "${TEXTS:-}" ]; then cat "$TEXTS"; else english; fi |
while IFS=$'\t' read -r name text; do
  [ -n "$name" ] || continue
  espeak-ng -v "$VOICE" -s "$SPEED" -w "$tmp/raw.wav" "$text"
  # Trim silence at both ends (reverse, trim the start, reverse back),
  # resample with a steep anti-alias filter, normalise the peak, no dither
  # so that the output is the same on every run.
  sox -D "$tmp/raw.wav" -b 16 -e signed-integer -c 1 "$OUT/$name.wav" \
    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
    rate -v 8000 norm -3
  echo "$OUT/$name.wav: $(soxi -D "$OUT/$name.wav") s"
done
