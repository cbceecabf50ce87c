# Tessera — the two commands a newcomer needs:
#   make run    install what is missing, build, create var/tessera.db with demo data, serve
#   make test   install what is missing, build with ASan+UBSan, run every test (CTest)
# Other targets: make build, make bench, make fuzz, make clean.

DEB_PACKAGES := build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev \
	libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libcmocka-dev \
	libcurl4-openssl-dev libssl-dev libxgboost-dev python3 python3-cryptography curl sqlite3
BENCH_PACKAGES := wrk hyperfine nghttp2-client nginx-light time

DB ?= var/tessera.db
LISTEN ?= 127.0.0.1:8080
JOBS ?= 2

.PHONY: run test build deps sdk-deps bench-deps bench fuzz clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The gateways' official SDKs (tests/sdk/, pinned by package-lock.json) are the oracle of
# tests/api/test_pay_sdk.py: Node from Debian when it is missing, the SDKs from npm.
sdk-deps: tests/sdk/node_modules/.package-lock.json

tests/sdk/node_modules/.package-lock.json: tests/sdk/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error

bench-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

build/release/build.ninja:
	cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release

build/asan/build.ninja:
	cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=ON

build: deps build/release/build.ninja
	cmake --build build/release -j $(JOBS)

run: build
	@mkdir -p $(dir $(DB))
	@if [ ! -f $(DB) ]; then ./build/release/tessera init --db $(DB) --demo; fi
	./build/release/tessera serve --db $(DB) --listen $(LISTEN)

fuzz: deps
	CC=clang cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTESSERA_FUZZ=ON
	cmake --build build/fuzz -j $(JOBS)

test: deps sdk-deps build/asan/build.ninja
	cmake --build build/asan -j $(JOBS)
	@if command -v clang >/dev/null; then $(MAKE) --no-print-directory fuzz; fi
	cd build/asan && ctest --output-on-failure -j $(JOBS)

bench: bench-deps build
	bash bench/run.sh

clean:
	rm -rf build
