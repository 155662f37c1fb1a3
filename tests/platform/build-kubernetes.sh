#!/usr/bin/env bash
# Builds the genuine Kubernetes control plane for the local test platform:
# kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from
# k8s.io/kubernetes at one pinned release, and etcd at the version that
# release pins, all from the Go module proxy by module name and version.
# Nothing built here is part of the product: it is the platform the tests run on.
#
# Usage: build-kubernetes.sh OUTPUT_DIR
# Leaves OUTPUT_DIR/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl,etcd}
# and OUTPUT_DIR/VERSIONS (the build's inputs). Go's module cache stays in its
# usual place; the build cache (4 GiB, useless once the binaries exist) lives in
# the build folder and goes with it.
set -euo pipefail

out=${1:?usage: build-kubernetes.sh OUTPUT_DIR}
# The releases whose every staging module the proxy serves: v1.37.2 and v1.36.3.
K8S_VERSION=${KRATIX_TESTENV_K8S_VERSION:-v1.37.2}
NEEDED_GB=10

say() { printf 'build-kubernetes: %s\n' "$*" >&2; }
fail() { say "FAILED at step '$step': $*"; exit 1; }

step="checking the machine"
command -v go >/dev/null || fail "no 'go' on PATH: the Go toolchain builds Kubernetes' components"
go_version=$(go env GOVERSION)
mkdir -p "$out"
work="$out/build"
rm -rf "$work"
mkdir -p "$work" "$out/bin"
check_free() {
  local dir=$1 free_kb
  mkdir -p "$dir"
  free_kb=$(df -Pk "$dir" | awk 'NR==2 {print $4}')
  [ "$free_kb" -ge $((NEEDED_GB * 1024 * 1024)) ] \
    || fail "needs ${NEEDED_GB} GiB free under $dir, has $((free_kb / 1024 / 1024)) GiB"
}
export GOCACHE="$work/go-build"
check_free "$work"
check_free "$(go env GOMODCACHE)"

minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
staging_version="v0.${K8S_VERSION#v1.}"

step="reading the staging modules of k8s.io/kubernetes $K8S_VERSION"
# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
# with directories inside its own repository; a module that depends on it must
# replace each with the release tagged for the same Kubernetes release.
cd "$work"
cat >go.mod <<EOF
module kratix-testenv/kubernetes-build

go 1.26
EOF
GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >download.json 2>download.log \
  || fail "go mod download k8s.io/kubernetes@$K8S_VERSION (see $work/download.log)"
gomod=$(sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p' download.json)
[ -f "$gomod" ] || fail "the module proxy gave no go.mod for k8s.io/kubernetes@$K8S_VERSION"
staging=$(awk '/^require \(/ {r=1; next} r && /^\)/ {r=0} r && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod")
[ -n "$staging" ] || fail "no staging modules found in $gomod"

step="writing the build module"
{
  echo "module kratix-testenv/kubernetes-build"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  for m in $staging; do echo "replace $m => $m $staging_version"; done
} >go.mod
# The import paths of the programs, so 'go mod tidy' resolves every module they need.
cat >tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF

step="resolving the modules (go mod tidy)"
go mod tidy >tidy.log 2>&1 || fail "go mod tidy (see $work/tidy.log)"
etcd_version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3) \
  || fail "go list go.etcd.io/etcd/server/v3"

# Stamped as Kubernetes' own release build stamps it, so 'kubectl version'
# and /version report the release.
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

build() {
  local name=$1 pkg=$2
  step="building $name ($pkg)"
  say "$step"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $ldflags" -o "$out/bin/$name.new" "$pkg" >"$work/build-$name.log" 2>&1 \
    || fail "go build (see $work/build-$name.log)"
  mv "$out/bin/$name.new" "$out/bin/$name"
}
build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
build kubectl k8s.io/kubernetes/cmd/kubectl

step="checking the binaries"
"$out/bin/kubectl" version --client 2>&1 | grep -qF "$K8S_VERSION" \
  || fail "kubectl does not report $K8S_VERSION"
"$out/bin/kube-apiserver" --version 2>&1 | grep -qF "$K8S_VERSION" \
  || fail "kube-apiserver does not report $K8S_VERSION"

cat >"$out/VERSIONS" <<EOF
kubernetes=$K8S_VERSION
etcd=$etcd_version
go=$go_version
EOF
rm -rf "$work"
say "done: $(tr '\n' ' ' <"$out/VERSIONS")"
