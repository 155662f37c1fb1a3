#!/usr/bin/env bash
# Builds a genuine Kubernetes API server (apiextensions-apiserver, the code that
# serves CRDs inside kube-apiserver) and etcd from Debian's packages, for the
# local test platform. No registry ships kube-apiserver, so this builds the
# Kubernetes staging sources that Debian sid ships, in a throw-away sid chroot.
#
# Usage: build-apiserver.sh OUTPUT_DIR
# Leaves OUTPUT_DIR/bin/{kube-apiextensions-apiserver,etcd} and OUTPUT_DIR/VERSIONS.
set -euo pipefail

out=${1:?usage: build-apiserver.sh OUTPUT_DIR}
# Pinned: the patches below are written against these sources.
GO_PKG="golang-go=2:1.27~1"
APISERVER_PKG="golang-k8s-apiextensions-apiserver-dev=0.36.4-1"
ETCD_PKG="etcd-server=3.5.30-2"
NEEDED_GB=8

say() { printf 'build-apiserver: %s\n' "$*" >&2; }
fail() { say "FAILED at step '$step': $*"; exit 1; }

step="checking the machine"
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap and chroot)"
mkdir -p "$out"
work="$out/build"
mkdir -p "$work"
free_kb=$(df -Pk "$work" | awk 'NR==2 {print $4}')
[ "$free_kb" -ge $((NEEDED_GB * 1024 * 1024)) ] \
  || fail "needs ${NEEDED_GB} GiB free under $work, has $((free_kb / 1024 / 1024)) GiB"

root="$work/sid"
cleanup() {
  if mountpoint -q "$root/proc" 2>/dev/null; then umount -l "$root/proc" || true; fi
  return 0
}
trap cleanup EXIT

step="installing debootstrap"
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null || fail "apt-get install debootstrap"
fi

step="bootstrapping a Debian sid chroot"
mirror=$( { cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null || true; } \
  | grep -oE '^(URIs:|deb) +https?://[^ ]+' | grep -v security | head -n1 | awk '{print $2}' || true)
[ -n "$mirror" ] || fail "no Debian mirror found in the apt sources"
if [ ! -x "$root/usr/bin/apt-get" ]; then
  rm -rf "$root"
  debootstrap --variant=minbase sid "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || fail "debootstrap (see $work/debootstrap.log)"
fi
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"

step="installing Go, the Kubernetes sources and etcd in the chroot"
apt_opts=(-o Acquire::Check-Valid-Until=false -qq)
chroot "$root" apt-get "${apt_opts[@]}" update >"$work/apt.log" 2>&1 || fail "apt-get update in the chroot (see $work/apt.log)"
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get "${apt_opts[@]}" install -y --no-install-recommends \
  "$GO_PKG" "$APISERVER_PKG" "$ETCD_PKG" ca-certificates >>"$work/apt.log" 2>&1 \
  || fail "installing $GO_PKG $APISERVER_PKG $ETCD_PKG (see $work/apt.log; the pinned versions may have left the mirror)"

step="patching the sources"
src_rel=build/gopath/src/k8s.io/apiextensions-apiserver
src="$root/$src_rel"
rm -rf "$root/build"
mkdir -p "$(dirname "$src")"
cp -r "$root/usr/share/gocode/src/k8s.io/apiextensions-apiserver" "$src"

# patch FILE DESCRIPTION OLD NEW: replace one exact line fragment, and verify.
patch_line() {
  local file=$1 what=$2 old=$3 new=$4
  grep -qF -- "$old" "$src/$file" || fail "$what: '$old' is not in $file (the sources moved)"
  OLD="$old" NEW="$new" perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$src/$file"
  grep -qF -- "$new" "$src/$file" || fail "$what: the change did not apply to $file"
}
# Standalone mode leaves /apis discovery to an aggregator that is not there.
patch_line pkg/apiserver/apiserver.go "enable discovery" \
  'c.GenericConfig.EnableDiscovery = false' 'c.GenericConfig.EnableDiscovery = true'
# Only OpenAPI v3 is configured, so the CRD OpenAPI controllers never start.
v3='serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions), openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))'
v2='serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions), openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))'
patch_line pkg/cmd/server/options/options.go "enable OpenAPI v2" "$v3" "$v3
	$v2"
# Built-in groups such as batch have no dot; allow them as CRD groups.
patch_line pkg/apis/apiextensions/validation/validation.go "allow dotless groups" \
  '} else if len(strings.Split(spec.Group, ".")) < 2 {' '} else if false && len(strings.Split(spec.Group, ".")) < 2 {'

step="building apiextensions-apiserver"
chroot "$root" env GO111MODULE=off GOPATH=/build/gopath:/usr/share/gocode GOFLAGS=-buildvcs=false \
  GOCACHE=/build/gocache HOME=/build \
  go build -trimpath -ldflags='-s -w' -o /build/kube-apiextensions-apiserver k8s.io/apiextensions-apiserver \
  >"$work/go-build.log" 2>&1 || fail "go build (see $work/go-build.log)"

step="collecting the binaries"
mkdir -p "$out/bin"
cp "$root/build/kube-apiextensions-apiserver" "$out/bin/"
cp "$root/usr/bin/etcd" "$out/bin/"
chroot "$root" dpkg-query -W golang-go golang-k8s-apiextensions-apiserver-dev etcd-server >"$out/VERSIONS"
"$out/bin/etcd" --version >/dev/null || fail "the built etcd does not run on this machine"
"$out/bin/kube-apiextensions-apiserver" --help >/dev/null 2>&1 || fail "the built API server does not run on this machine"

step="removing the chroot"
cleanup
rm -rf "$work"
say "done: $(tr '\n' ' ' <"$out/VERSIONS")"
