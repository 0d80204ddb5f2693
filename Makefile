# Motive — build, test and run. `make deps` installs what the build needs on Debian.
SHELL := /bin/bash
SWIFT ?= swift
DEB_PACKAGES := libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libopenblas-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Numeric code is far too slow unoptimised, so tests run as an optimised build with testing enabled.
TEST_FLAGS := -c release -Xswiftc -enable-testing

.PHONY: deps build release test bench clean

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	else echo "deps: all Debian packages present"; fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) test $(TEST_FLAGS)

bench: deps
	$(SWIFT) run -c release motive-bench kernels

clean:
	rm -rf .build
