#!/usr/bin/env bash
# Regenerate the voice prompts CooVox plays (coovox/sounds/<language>/<name>.wav) with
# Debian's espeak-ng and sox: 8 kHz mono 16-bit WAV, the format Asterisk's format_wav reads.
# The files are committed; run this only to change a text.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null && command -v sox >/dev/null || {
  echo "needs: apt-get install espeak-ng sox" >&2; exit 1; }
say() {  # say LANGUAGE VOICE NAME TEXT
  local dir=coovox/sounds/$1 tmp
  mkdir -p "$dir"
  tmp=$(mktemp --suffix=.wav)
  espeak-ng -v "$2" -s 150 -w "$tmp" "$4"
  sox "$tmp" -r 8000 -c 1 -b 16 -e signed-integer "$dir/$3.wav" norm -3
  rm -f "$tmp"
}
say en en-us pin-enter "Please enter your PIN, followed by the pound key."
say en en-us pin-wrong "That PIN is not valid."
say en en-us low-balance "Your balance is low. This call will end soon."
say zh cmn pin-enter "请输入密码，以井号键结束。"
say zh cmn pin-wrong "密码错误。"
say zh cmn low-balance "您的余额不足，本次通话即将结束。"
# the beep before the low-balance prompt: 1400 Hz, half a second, the same in every language
sox -n -r 8000 -c 1 -b 16 -e signed-integer coovox/sounds/beep.wav synth 0.5 sine 1400 \
  vol -6dB fade 0.01 0.5 0.01
echo "prompts written to coovox/sounds/"
