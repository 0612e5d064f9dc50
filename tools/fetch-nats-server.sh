#!/usr/bin/env bash
# Puts a current nats-server in .featx/tools/nats-server (prints its path), for the multi-host
# suite's JetStream cluster: bookworm's 2.9.10 can leave a restarted node's stream copies diverged
# (README, "Running on several machines"). Takes Debian stable's package, checked the way apt
# checks it (InRelease signed by the archive keyring → Packages.xz digest → .deb digest), and only
# unpacks it: nothing is installed system-wide. Exits 1 with the reason when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=${NATS_SERVER_SUITE:-trixie}
ARCH=$(dpkg --print-architecture)
DEST=.featx/tools/nats-server
BIN=$DEST/usr/sbin/nats-server
if [ -x "$BIN" ]; then echo "$PWD/$BIN"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsS --max-time 60 -o "$work/InRelease" "$MIRROR/dists/$SUITE/InRelease"
gpgv --quiet --keyring /usr/share/keyrings/debian-archive-keyring.gpg --output "$work/Release" "$work/InRelease" 2>/dev/null \
  || { echo "fetch-nats-server: $SUITE's InRelease is not signed by a Debian archive key" >&2; exit 1; }
index_sha=$(awk -v f="main/binary-$ARCH/Packages.xz" '/^SHA256:/{s=1;next} /^[^ ]/{s=0} s && $3==f {print $1}' "$work/Release")
curl -fsS --max-time 120 -o "$work/Packages.xz" "$MIRROR/dists/$SUITE/main/binary-$ARCH/Packages.xz"
echo "$index_sha  $work/Packages.xz" | sha256sum -c --quiet
entry=$(xz -dc "$work/Packages.xz" | awk '/^Package: nats-server$/,/^$/')
file=$(sed -n 's/^Filename: //p' <<<"$entry")
deb_sha=$(sed -n 's/^SHA256: //p' <<<"$entry")
[ -n "$file" ] || { echo "fetch-nats-server: no nats-server in $SUITE" >&2; exit 1; }
curl -fsS --max-time 300 -o "$work/nats-server.deb" "$MIRROR/$file"
echo "$deb_sha  $work/nats-server.deb" | sha256sum -c --quiet
mkdir -p "$DEST"
dpkg-deb -x "$work/nats-server.deb" "$DEST"
"$BIN" --version >&2
echo "$PWD/$BIN"
