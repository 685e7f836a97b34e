#!/usr/bin/env bash
# build.sh: build, serve, test and benchmark apisign. Run from anywhere.
#   ./build.sh build    the browser module: web/apisign.wasm + web/wasm_exec.js
#   ./build.sh worker   the Cloudflare Worker broker: wasm/broker/build/
#   ./build.sh serve    build, then serve page + broker + provider emulators on localhost:${PORT:-8080}
#   ./build.sh test     every test: Go native, Go under GOOS=js (Node), Node and Chromium tests
#   ./build.sh bench    the benchmarks (prints a table, writes bench/results.md)
set -euo pipefail
cd "$(dirname "$0")"
GOROOT_WASM="$(go env GOROOT)/lib/wasm"
export PATH="$PATH:$GOROOT_WASM"

# ---- build: the browser module -------------------------------------------
build() {
	GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o web/apisign.wasm ./wasm/browser
	cp "$GOROOT_WASM/wasm_exec.js" web/wasm_exec.js
	local raw gz
	raw=$(wc -c <web/apisign.wasm)
	gz=$(gzip -9 -c web/apisign.wasm | wc -c)
	echo "web/apisign.wasm: $raw bytes raw, $gz bytes gzip -9"
}

# ---- worker: the broker as a Cloudflare Worker ----------------------------
worker() {
	echo "worker: not built yet (the broker issue adds it)"
}

# ---- serve: the demo ---------------------------------------------------------
serve() {
	build
	if [ ! -d cmd/devserver ]; then
		echo "serve: not built yet (the demo issue adds the dev server)"
		return 0
	fi
	go run ./cmd/devserver
}

# ---- test: everything ---------------------------------------------------------
tests() {
	echo "== go vet"
	go vet ./...
	echo "== go test (native)"
	go test -count=1 ./...
	echo "== go test (GOOS=js GOARCH=wasm, in Node)"
	GOOS=js GOARCH=wasm go test -count=1 $(GOOS=js GOARCH=wasm go list ./signers/... ./wasm/... 2>/dev/null)
	build
	worker
	local js
	js=$(git ls-files --cached --others --exclude-standard '*.test.mjs')
	if [ -n "$js" ]; then
		echo "== node --test"
		node --test --test-concurrency=1 $js
	fi
}

# ---- bench -----------------------------------------------------------------------
bench() {
	echo "bench: not built yet (the benchmark issue adds it)"
}

case "${1:-}" in
build) build ;;
worker) worker ;;
serve) serve ;;
test) tests ;;
bench) bench ;;
*)
	sed -n '2,7p' "$0"
	exit 2
	;;
esac
