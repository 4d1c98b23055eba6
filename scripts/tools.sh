#!/usr/bin/env bash
# Installs the project's pinned developer tools into a cache directory when
# they are missing, and prints where they are.
#
#   scripts/tools.sh install            install every pinned tool (default)
#   scripts/tools.sh path TOOL          install TOOL if needed and print its path
#
# Each binary is installed into a directory named for its version, so bumping
# a pin below makes the next run build the new version instead of reusing the
# old one. Override the cache location with BDC_TOOLS_DIR.
set -euo pipefail

GOLANGCI_LINT_VERSION=v2.15.0

TOOLS_DIR="${BDC_TOOLS_DIR:-$HOME/.cache/bdc-tools}"

# module_for TOOL prints the Go package that builds TOOL.
module_for() {
	case "$1" in
	golangci-lint) echo "github.com/golangci/golangci-lint/v2/cmd/golangci-lint" ;;
	*) echo "tools.sh: unknown tool '$1' (known: golangci-lint)" >&2; return 1 ;;
	esac
}

# version_for TOOL prints the pinned version of TOOL.
version_for() {
	case "$1" in
	golangci-lint) echo "$GOLANGCI_LINT_VERSION" ;;
	*) echo "tools.sh: unknown tool '$1' (known: golangci-lint)" >&2; return 1 ;;
	esac
}

# ensure TOOL installs TOOL unless the pinned version is already cached, then
# prints its path.
ensure() {
	local tool="$1" module version bindir
	module="$(module_for "$tool")"
	version="$(version_for "$tool")"
	bindir="$TOOLS_DIR/bin/$tool-$version"
	if [[ ! -x "$bindir/$tool" ]]; then
		echo "tools.sh: installing $tool $version into $bindir (this can take a few minutes)" >&2
		mkdir -p "$bindir"
		# Build into a scratch directory and move the binary in place, so an
		# interrupted build never leaves a half-written tool that looks installed.
		scratch="$(mktemp -d "$TOOLS_DIR/bin/.install.XXXXXX")"
		trap 'rm -rf "$scratch"' EXIT
		GOBIN="$scratch" go install "$module@$version"
		mv "$scratch/$tool" "$bindir/$tool"
	fi
	echo "$bindir/$tool"
}

# Tools from Debian's packages: TOOL PACKAGE. Prometheus' own binaries are not on the Go module
# proxy in a form that builds quickly (promtool takes minutes, alertmanager does not build at
# all), so the machine's package manager provides them.
apt_package_for() {
	case "$1" in
	promtool | prometheus) echo prometheus ;;
	amtool) echo prometheus-alertmanager ;;
	alertmanager) echo prometheus-alertmanager ;;
	pdftotext | pdftoppm) echo poppler-utils ;;
	soffice) echo libreoffice-calc ;;
	prometheus-postgres-exporter) echo prometheus-postgres-exporter ;;
	prometheus-sql-exporter) echo prometheus-sql-exporter ;;
	wrk) echo wrk ;;
	*) return 1 ;;
	esac
}

# ensure_apt TOOL installs TOOL's Debian package when TOOL is missing, then prints its path.
ensure_apt() {
	local tool="$1" pkg bin
	pkg="$(apt_package_for "$tool")"
	bin="$tool"
	[[ "$tool" == alertmanager ]] && bin=prometheus-alertmanager
	if ! command -v "$bin" >/dev/null 2>&1; then
		if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
			echo "tools.sh: $tool is missing: install the Debian/Ubuntu package $pkg (apt-get install $pkg) or put $tool on PATH" >&2
			return 1
		fi
		echo "tools.sh: installing $pkg for $tool" >&2
		# A failed update (a stale mirror) still leaves the cached lists usable.
		apt-get update -qq >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
	fi
	command -v "$bin"
}

cmd="${1:-install}"
case "$cmd" in
install)
	ensure golangci-lint >/dev/null
	ensure_apt promtool >/dev/null
	;;
path)
	[[ $# -eq 2 ]] || { echo "usage: $0 path TOOL" >&2; exit 2; }
	if apt_package_for "$2" >/dev/null; then
		ensure_apt "$2"
	else
		ensure "$2"
	fi
	;;
*)
	echo "usage: $0 [install | path TOOL]" >&2
	exit 2
	;;
esac
