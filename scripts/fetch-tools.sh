#!/usr/bin/env bash
# Fetches the real programs the tests use into .tools/ (git-ignored), in two
# sets, so that the rules, the examples and the end-to-end test run on the
# oldest and on the current versions we support:
#
#   .tools/debian/bin   promtool, prometheus, alertmanager, amtool from
#                       Debian's packages (the oldest supported versions),
#                       unpacked with dpkg -x, never installed: no service
#                       starts; shellcheck likewise.
#   .tools/current/bin  promtool, prometheus, alertmanager, amtool built from
#                       their Go modules at the versions below.
#
# Nothing is written outside the checkout and nothing needs root. The one
# exception is a new machine: without Debian's package lists apt-get download
# finds nothing, and the tests need Debian's chromium, lintian, buildah and
# uidmap installed; as root this script runs `apt-get update` and installs
# them itself, otherwise it says what to run. Idempotent: what is already
# there is kept.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"

# The current releases, as Go module versions (Prometheus 3 is v0.3xx).
prometheus_module_version=v0.316.0
alertmanager_module_version=v0.35.0

# Debian's Alertmanager reads its notification templates from this fixed
# directory. The copy in .tools reads them from ./alertmanager-templates
# (a path of the same length, relative to its working directory), so that
# the tests keep the templates inside their own scratch directory.
debian_template_dir=/usr/share/prometheus/alertmanager
relative_template_dir=././././././alertmanager-templates

fetch_debian() {
	local bin="$tools/debian/bin" want=(promtool prometheus alertmanager amtool shellcheck) t missing=0
	for t in "${want[@]}"; do
		[ -x "$bin/$t" ] || missing=1
	done
	[ -d "$tools/debian/alertmanager-templates" ] || missing=1
	if [ "$missing" = 0 ]; then
		return 0
	fi
	mkdir -p "$bin"
	local download
	download="$(mktemp -d)"
	# shellcheck disable=SC2064 # expand now: the variable is local
	trap "rm -rf '$download'" RETURN
	if ! (cd "$download" && apt-get download prometheus prometheus-alertmanager shellcheck >/dev/null 2>&1); then
		if [ "$(id -u)" = 0 ]; then
			echo "fetch-tools: updating Debian's package lists"
			apt-get update -qq
		else
			echo "fetch-tools: apt-get download failed; on a new machine run 'apt-get update' as root first" >&2
		fi
		(cd "$download" && apt-get download prometheus prometheus-alertmanager shellcheck)
	fi
	local deb
	for deb in "$download"/*.deb; do
		dpkg -x "$deb" "$tools/debian/root"
	done
	for t in "${want[@]}"; do
		local src="$tools/debian/root/usr/bin/$t"
		# Debian names the Alertmanager binary prometheus-alertmanager.
		[ "$t" = alertmanager ] && src="$tools/debian/root/usr/bin/prometheus-alertmanager"
		if [ ! -x "$src" ]; then
			echo "fetch-tools: $t not found in the unpacked packages" >&2
			exit 1
		fi
		ln -sf "$src" "$bin/$t"
	done
	# Alertmanager: a copy that reads its templates relative to its working
	# directory (see above). Both paths have the same length, so the binary's
	# string table keeps its layout.
	rm -f "$bin/alertmanager"
	DEBIAN_DIR="$debian_template_dir" RELATIVE_DIR="$relative_template_dir" \
		perl -0777 -pe 'BEGIN { $from = $ENV{DEBIAN_DIR}; $to = $ENV{RELATIVE_DIR}; die "lengths differ\n" if length($from) != length($to) } s/\Q$from\E/$to/g' \
		"$tools/debian/root/usr/bin/prometheus-alertmanager" >"$bin/alertmanager"
	chmod 0755 "$bin/alertmanager"
	rm -rf "$tools/debian/alertmanager-templates"
	cp -r "$tools/debian/root$debian_template_dir" "$tools/debian/alertmanager-templates"
}

fetch_current() {
	local bin="$tools/current/bin"
	mkdir -p "$bin"
	if [ ! -x "$bin/promtool" ] || [ ! -x "$bin/prometheus" ]; then
		echo "fetch-tools: building promtool and prometheus $prometheus_module_version"
		# remove_all_sd leaves out the cloud service discoveries (static and
		# file discovery stay): the tests need none, and the build is much
		# shorter without their SDKs.
		# Prometheus 3.X.Y is the Go module v0.3XX.Y; --version shows 3.X.Y.
		local release="${prometheus_module_version#v0.}" minor
		minor="${release:1}"
		minor="${minor%%.*}"
		release="${release:0:1}.$((10#$minor)).${release#*.}"
		GOBIN="$bin" GOFLAGS=-mod=mod go install -tags remove_all_sd \
			-ldflags "-X github.com/prometheus/common/version.Version=$release" \
			"github.com/prometheus/prometheus/cmd/promtool@$prometheus_module_version" \
			"github.com/prometheus/prometheus/cmd/prometheus@$prometheus_module_version"
	fi
	if [ ! -x "$bin/alertmanager" ] || [ ! -x "$bin/amtool" ]; then
		echo "fetch-tools: building alertmanager and amtool $alertmanager_module_version"
		local mod src
		mod="$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/alertmanager@$alertmanager_module_version" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
		if [ -z "$mod" ] || [ ! -d "$mod" ]; then
			echo "fetch-tools: the alertmanager module did not download" >&2
			exit 1
		fi
		# The command embeds ui/app/dist, the built web UI, which the module
		# does not ship: build from a copy with a placeholder page there.
		src="$tools/current/src/alertmanager"
		rm -rf "$src"
		mkdir -p "$(dirname "$src")"
		cp -r "$mod" "$src"
		chmod -R u+w "$src"
		mkdir -p "$src/ui/app/dist"
		echo '<!doctype html><title>Alertmanager</title><p>Built without its web UI.</p>' >"$src/ui/app/dist/index.html"
		local ldflags="-X github.com/prometheus/common/version.Version=${alertmanager_module_version#v}"
		(cd "$src" && GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$bin/alertmanager" ./cmd/alertmanager &&
			GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$bin/amtool" ./cmd/amtool)
		rm -rf "$src"
	fi
}

# Debian's packages that the tests run installed: chromium (the status
# page), lintian (the Debian package), buildah and uidmap (the container
# image; uidmap's newuidmap lets buildah run as another user than root).
fetch_system() {
	local missing=() cmd
	for cmd in chromium:chromium lintian:lintian buildah:buildah newuidmap:uidmap; do
		command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "fetch-tools: the tests need Debian's ${missing[*]}: as root, apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "fetch-tools: installing Debian's ${missing[*]} for the tests"
	apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

fetch_debian
fetch_current
fetch_system

for set in debian current; do
	echo "fetch-tools: $set: $("$tools/$set/bin/promtool" --version 2>&1 | head -n 1); $("$tools/$set/bin/alertmanager" --version 2>&1 | head -n 1)"
done
echo "fetch-tools: $("$tools/debian/bin/shellcheck" --version | sed -n 2p | tr -s ' ') (shellcheck)"
