#!/usr/bin/env bash
# The edge-node tests run a real OpenSSH sshd on loopback: install it where it is missing (Debian).
set -euo pipefail
if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null 2>&1; then exit 0; fi
echo "kappa: installing openssh-server for the edge-node tests..." >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openssh-server openssh-client >&2
