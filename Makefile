# tsrun build. `make build` produces bin/tsrun; `make test` runs every test; `make demo` runs a container.
SHELL := /bin/bash
NODE ?= $(shell command -v node)
GEN := src/spec/generated
SRC := $(shell find src -name '*.ts' -not -path 'src/spec/generated/*')

.PHONY: all build test test-vm typecheck demo bench clean conformance

all: build

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(GEN)/.stamp: node_modules/.package-lock.json $(wildcard schemas/*.json) scripts/gen-spec.mjs
	$(NODE) scripts/gen-spec.mjs
	@touch $@

dist/tsrun-stage: native/stage.c
	@mkdir -p dist
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<

# dist/tsrun.js (the CLI) and dist/init.js (the container's init stage) are built together.
dist/tsrun.js: node_modules/.package-lock.json $(GEN)/.stamp $(SRC) scripts/build.mjs scripts/yargs-assert.cjs
	$(NODE) scripts/build.mjs cli

# The launcher has the absolute paths of node and of the CLI compiled in.
bin/tsrun: native/launcher.c dist/tsrun.js
	@mkdir -p bin
	$(CC) -O2 -Wall -Wextra -Werror -DTSRUN_NODE='"$(NODE)"' -DTSRUN_SCRIPT='"$(CURDIR)/dist/tsrun.js"' -o $@ $<

# V8 code caches of the two bundles (see scripts/loader.cjs), made with the flags they run with.
dist/.code-cache: bin/tsrun scripts/init-node-flags.json
	@tmp=$$(mktemp -d) && echo '{"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"cwd":"/","args":["true"]},"linux":{"resources":{"memory":{"limit":"x"}}}}' > $$tmp/config.json \
	  && { TSRUN_WRITE_CODE_CACHE=1 bin/tsrun --root $$tmp/root create --bundle $$tmp cache-warmup >/dev/null 2>&1 || true; } \
	  && rm -rf $$tmp && test -s dist/tsrun.bundle.js.cache && test -s dist/generated/validators.bundle.js.cache
	@TSRUN_WRITE_CODE_CACHE=1 $(NODE) $$($(NODE) -p "require('./scripts/init-node-flags.json').join(' ')") dist/init.js 2>/dev/null; test -s dist/init.bundle.js.cache
	@touch $@

build: bin/tsrun dist/tsrun-stage dist/.code-cache

typecheck: $(GEN)/.stamp
	npx tsc -p tsconfig.json --noEmit

build/test/.stamp: $(GEN)/.stamp $(SRC) $(shell find test -name '*.ts') scripts/build.mjs
	$(NODE) scripts/build.mjs tests
	@touch $@

test: build typecheck build/test/.stamp
	$(NODE) --test --test-concurrency=1 $$(find build/test -name '*.test.js' -not -path 'build/test/vm/*' | sort)

# The cgroup v2 lane alone (part of `make test`): test/vm/*.test.ts in a qemu VM, see scripts/vm/README.md.
test-vm: build build/test/.stamp
	$(NODE) --test --test-concurrency=1 build/test/integration/cgroup-v2-vm.test.js

clean:
	rm -rf build dist bin $(GEN)

bench: build bundles/busybox/rootfs
	$(NODE) bench/bench.mjs

bundles/busybox/rootfs: scripts/make-rootfs.sh
	scripts/make-rootfs.sh $@

# Builds tsrun and the example rootfs, then runs the example container in the foreground.
demo: build bundles/busybox/rootfs
	bin/tsrun --root /run/tsrun-demo run --bundle bundles/busybox demo-$$$$
