#!/usr/bin/env bash
# `make deps` runs this first: Motive needs a Swift toolchain of at least MINIMUM (its dependencies
# do: swift-nio, Hummingbird). Without one, or with an older one, it says how to install one and
# exits 1 before anything is installed or built, so that a build never starts only to fail halfway.
# Usage: check-swift.sh SWIFT MINIMUM   (SWIFT: the swift command, as make's $(SWIFT))
set -u
swift=${1:-swift}
minimum=${2:-6.2}

install_hint() {
  cat >&2 <<HINT
Install Swift $minimum or newer (https://www.swift.org/install/linux/), with swiftly:
  curl -O "https://download.swift.org/swiftly/linux/swiftly-\$(uname -m).tar.gz"
  tar zxf "swiftly-\$(uname -m).tar.gz" && ./swiftly init --quiet-shell-followup
  . "\${SWIFTLY_HOME_DIR:-\$HOME/.local/share/swiftly}/env.sh" && hash -r
or unpack the Debian 12 toolchain tarball from https://www.swift.org/install/linux/ and put its
usr/bin on PATH. Then run make again (SWIFT=/path/to/swift make … picks another swift).
HINT
  exit 1
}

if ! command -v "$swift" >/dev/null 2>&1; then
  echo "deps: no Swift toolchain: '$swift' is not on PATH; Motive needs Swift $minimum or newer." >&2
  install_hint
fi
# "Swift version 6.3.1 (swift-6.3.1-RELEASE)", "Apple Swift version 6.2 (…)", "Swift version 6.3-dev (…)"
version=$("$swift" --version 2>/dev/null | sed -n 's/.*Swift version \([0-9][0-9]*\.[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}\).*/\1/p' | head -n 1)
if [ -z "$version" ]; then
  echo "deps: '$swift --version' names no Swift version; Motive needs Swift $minimum or newer." >&2
  install_hint
fi
# The lower of the two in version order is the minimum exactly when the toolchain is new enough.
if [ "$(printf '%s\n%s\n' "$minimum" "$version" | sort -V | head -n 1)" != "$minimum" ]; then
  echo "deps: Swift $version is too old; Motive needs Swift $minimum or newer (its dependencies do)." >&2
  install_hint
fi
echo "deps: Swift $version"
