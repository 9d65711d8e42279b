#!/usr/bin/env bash
# The dashboard's end-to-end tests drive Debian's Chromium with playwright-core. Install it when missing
# (CI machines start without it); needs root or passwordless sudo.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
echo "installing Debian's chromium for the dashboard's browser tests…" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
