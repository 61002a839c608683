#!/usr/bin/env bash
# Installs the mail servers smtpdesk is measured against, outside the project's dependencies:
#   postfix   Debian's Postfix (also brings smtp-sink) + Cyrus SASL (sasldb) for AUTH on submission
#   haraka    Haraka from npm, into <scratch>/haraka (not into package.json)
# Usage: install-peers.sh SCRATCH_DIR [postfix] [haraka]   (default: both)
# Prints progress; exits non-zero naming every peer that could not be installed.
set -uo pipefail
scratch="${1:?usage: install-peers.sh SCRATCH_DIR [postfix] [haraka]}"
shift
mkdir -p "$scratch" && scratch="$(cd "$scratch" && pwd)"
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(postfix haraka)
mkdir -p "$scratch"
failed=()

say() { printf '[peers] %s\n' "$*" >&2; }

install_postfix() {
  if command -v postfix >/dev/null 2>&1 && [ -x /usr/sbin/smtp-sink ] && command -v saslpasswd2 >/dev/null 2>&1 \
     && ls /usr/lib/*/sasl2/libsasldb.so* >/dev/null 2>&1; then
    say "postfix: already installed ($(postconf -d -h mail_version 2>/dev/null))"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "postfix: apt-get not found: this script installs Postfix from Debian packages only"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "postfix: apt-get update…"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || { say "postfix: apt-get update failed"; return 1; }
  # "No configuration": the package must not set up (or start) a system-wide Postfix on port 25;
  # the benchmark runs its own instance with its own config and queue directories.
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections 2>/dev/null || true
  say "postfix: apt-get install postfix sasl2-bin libsasl2-modules…"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    postfix sasl2-bin libsasl2-modules libsasl2-modules-db >&2 || { say "postfix: apt-get install failed"; return 1; }
  command -v postfix >/dev/null 2>&1 && [ -x /usr/sbin/smtp-sink ] || { say "postfix: installed but postfix/smtp-sink not found"; return 1; }
  say "postfix: ready ($(postconf -d -h mail_version 2>/dev/null))"
}

install_haraka() {
  local dir="$scratch/haraka"
  if [ -x "$dir/node_modules/.bin/haraka" ]; then
    say "haraka: already installed ($(node -p "require('$dir/node_modules/Haraka/package.json').version" 2>/dev/null))"
    return 0
  fi
  command -v npm >/dev/null 2>&1 || { say "haraka: npm not found"; return 1; }
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || printf '{ "name": "smtpdesk-bench-haraka", "private": true }\n' >"$dir/package.json"
  say "haraka: npm install --prefix $dir Haraka (a minute or two)…"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error Haraka >&2 || { say "haraka: npm install failed"; return 1; }
  [ -x "$dir/node_modules/.bin/haraka" ] || { say "haraka: installed but bin/haraka not found"; return 1; }
  say "haraka: ready ($(node -p "require('$dir/node_modules/Haraka/package.json').version" 2>/dev/null))"
}

for peer in "${want[@]}"; do
  case "$peer" in
    postfix) install_postfix || failed+=(postfix) ;;
    haraka) install_haraka || failed+=(haraka) ;;
    *) say "unknown peer $peer"; failed+=("$peer") ;;
  esac
done
if [ ${#failed[@]} -gt 0 ]; then
  say "could not install: ${failed[*]}"
  echo "${failed[*]}"
  exit 1
fi
exit 0
