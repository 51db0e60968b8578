# cxl-tagmem: tagged dynamic capacity for emulated CXL Type 3 devices,
# as a patch series on QEMU v10.2.2.  See README.md.

SHELL := /bin/bash
S := scripts

.PHONY: all build deps base tree export check check-bisect check-sanitize \
        check-stable check-guest check-docs fuzz run run-shared interactive bench distclean-tree clean help

all: build

help:
	@echo "make            deps, base, tree and build"
	@echo "make check      build; qtests (meson), checkpatch, repo tests"
	@echo "make run        the demo: DC-only CXL device, tagged extent, guest"
	@echo "make run-shared one tagged allocation in two VMs: A writes, B reads"
	@echo "make bench      guest load/store throughput and control-path cost"
	@echo "make tree       create build/qemu (tag 'base' + patches/)"
	@echo "make export     write build/qemu's commits back to patches/"
	@echo "make check-bisect  build and test after each patch in turn"
	@echo "make check-stable  the fixes for stable: first, tested, each alone on base (STABLE_BUILD=1: build each)"
	@echo "make check-sanitize  the qtests under an ASan/UBSan build"
	@echo "make check-guest  a Debian kernel probes a DC-only device"
	@echo "make check-docs   build the QEMU manual with the series (Sphinx -W)"
	@echo "make fuzz         a bounded libFuzzer campaign (FUZZ_SECONDS=300)"
	@echo "make interactive  QEMU + serving guest in the background, for qmp-shell"

deps:
	@$(S)/deps.sh

base: deps
	@$(S)/fetch-base.sh

# The tree is created once; recreate it with 'make distclean-tree tree'.
build/qemu/.git:
	@$(MAKE) --no-print-directory deps
	@$(S)/mktree.sh

tree: deps
	@$(S)/mktree.sh

build: deps build/qemu/.git
	@$(S)/build.sh

export:
	@$(S)/export.sh

check: build
	@$(S)/check.sh

check-bisect: deps build/qemu/.git
	@$(S)/check-bisect.sh

check-stable: deps build/qemu/.git
	@$(S)/check-stable.sh

check-sanitize: build
	@$(S)/check-sanitize.sh

check-guest: build
	@$(S)/check-guest.sh

check-docs: deps build/qemu/.git
	@$(S)/check-docs.sh

fuzz: deps build/qemu/.git
	@$(S)/fuzz.sh

run: build
	@$(S)/run.sh

run-shared: build
	@$(S)/run-shared.sh

interactive: build
	@$(S)/interactive.sh

bench: build
	@$(S)/bench-all.sh

distclean-tree:
	rm -rf build/qemu build/bisect

clean:
	rm -rf build
