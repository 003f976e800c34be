#!/usr/bin/env bash
# Debian packages of both programs, made with dpkg-deb from the static binaries:
#   artifacts/deb/tstun_VERSION_ARCH.deb      /usr/bin/tstun, its systemd unit, /etc/default/tstun
#                                             (a conffile), tstun(8), bash completion
#   artifacts/deb/punchhole_VERSION_ARCH.deb  /usr/bin/punchhole, punchhole(1), bash completion
# for ARCH amd64 and arm64 (default: both). VERSION is the one in Directory.Build.props.
# Usage: scripts/package-deb.sh [ARCH...]
# Needs the binaries first (scripts/publish.sh linux-x64 linux-arm64). The manual pages and the
# completions are made from the x64 binaries' -h (scripts/generate-docs.sh); the text is the
# same on every architecture. File dates are the last commit's (SOURCE_DATE_EPOCH wins).
set -euo pipefail
cd "$(dirname "$0")/.."
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
[ -n "$version" ] || { echo "package-deb.sh: no <Version> in Directory.Build.props" >&2; exit 1; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
maintainer="Punchhole developers <maintainers@punchhole.invalid>"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

for program in tstun punchhole; do
  built=$(artifacts/$program/$program --version) || { echo "package-deb.sh: run scripts/publish.sh first" >&2; exit 1; }
  [ "${built#"$program $version"}" != "$built" ] \
    || { echo "package-deb.sh: artifacts/$program/$program is '$built', not version $version: publish again" >&2; exit 1; }
done
scripts/generate-docs.sh "$work/docs"
mkdir -p artifacts/deb

binary() { # program arch
  case $2 in
    amd64) echo "artifacts/$1/$1" ;;
    arm64) echo "artifacts/linux-arm64/$1/$1" ;;
    *) echo "package-deb.sh: unsupported architecture '$2' (amd64 or arm64)" >&2; exit 2 ;;
  esac
}

package() { # program arch section summary, then the long description on stdin
  local program=$1 arch=$2 section=$3 summary=$4 tree=$work/$1_$2 bin
  bin=$(binary "$program" "$arch")
  [ -x "$bin" ] || { echo "package-deb.sh: $bin is missing: run scripts/publish.sh ${arch/amd64/linux-x64}" >&2; exit 1; }
  [ "$arch" = arm64 ] && bin_arch="ARM aarch64" || bin_arch="x86-64"
  file -b "$bin" | grep -q "$bin_arch" || { echo "package-deb.sh: $bin is not an $arch binary" >&2; exit 1; }

  install -D -m 755 "$bin" "$tree/usr/bin/$program"
  mkdir -p "$tree/usr/share/man/man$section"
  gzip -9n < "$work/docs/man/$program.$section" > "$tree/usr/share/man/man$section/$program.$section.gz"
  install -D -m 644 "$work/docs/bash-completion/$program" "$tree/usr/share/bash-completion/completions/$program"
  install -D -m 644 deploy/debian/copyright "$tree/usr/share/doc/$program/copyright"
  if [ "$program" = tstun ]; then
    install -D -m 644 deploy/tstun.service "$tree/usr/lib/systemd/system/tstun.service"
    install -D -m 644 deploy/tstun.default "$tree/etc/default/tstun"
  fi
  chmod 644 "$tree/usr/share/man/man$section/$program.$section.gz"
  find "$tree" -type d -exec chmod 755 {} +
  local size; size=$(du -sk --apparent-size "$tree" | cut -f1)

  mkdir -p "$tree/DEBIAN"
  {
    echo "Package: $program"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maintainer"
    echo "Installed-Size: $size"
    echo "Section: net"
    echo "Priority: optional"
    echo "Description: $summary"
    sed 's/^$/./; s/^/ /'
  } > "$tree/DEBIAN/control"
  (cd "$tree" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$tree/DEBIAN/md5sums"
  if [ "$program" = tstun ]; then
    echo /etc/default/tstun > "$tree/DEBIAN/conffiles"
    for script in postinst prerm postrm; do
      install -m 755 "deploy/debian/tstun.$script" "$tree/DEBIAN/$script"
    done
  fi
  dpkg-deb --root-owner-group -Zxz --build "$tree" "artifacts/deb/${program}_${version}_${arch}.deb" >/dev/null
  ls -l "artifacts/deb/${program}_${version}_${arch}.deb"
}

for arch in "${archs[@]}"; do
  package tstun "$arch" 8 "T-STUN rendezvous server for TCP hole punching" <<'EOF'
tstun introduces hosts that want a direct TCP connection to each other:
two clients that send it the same 32-byte key each learn the address and
port the other was seen from, then connect to each other directly through
their NATs or firewalls, as punchhole does.

One static binary with no dependencies. The package runs it with systemd
under a dynamic user; its settings are in /etc/default/tstun.
EOF
  package punchhole "$arch" 1 "connect two hosts behind NATs or firewalls over TCP" <<'EOF'
punchhole gives two hosts a direct TCP connection without port forwarding:
both meet at a T-STUN server (such as tstun), then open a TCP connection to
each other at the same moment. It relays stdin and stdout, like nc, or
forwards a port, for example to reach sshd on a host behind a NAT.
Compatible with the clients and servers of the Python punchhole 0.0.2.

One static binary with no dependencies.
EOF
done
