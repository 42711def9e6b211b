# SPDX-License-Identifier: GPL-3.0-or-later
# signer: build, test, fuzz, benchmark, demo and install.
#
#   make            build everything (warnings are errors)
#   make check      install missing packages, then unit + integration tests,
#                   the same under ASan+UBSan, and a short run of every fuzz target
#   make test       unit and integration tests only
#   make asan       the tests under -fsanitize=address,undefined
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each
#   make bench      benchmarks (reports numbers; never a test)
#   make demo       see it work
#   make install    PREFIX=/usr/local DESTDIR=
#   V=1             show full commands

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BUILD ?= build
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5

# Debian 12 packages the project needs to build, test and demo.
DEB_PKGS := build-essential pkg-config libssl-dev libmsgpack-dev libyaml-dev \
	liblmdb-dev libpkcs11-helper1-dev libp11-kit-dev softhsm2 opensc \
	libcmocka-dev zlib1g-dev lmdb-utils socat gnutls-bin libnss3-tools \
	clang libclang-rt-14-dev libsqlite3-dev sqlite3 libpq-dev postgresql openssl python3

PKGS := openssl msgpack yaml-0.1 lmdb libpkcs11-helper-1 zlib sqlite3 libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) p11-kit-1 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -I. \
	$(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Modules in link order: a module comes before the modules it uses.
# Program sources (PROGRAM_SRCS) are not part of their module's library.
MODULE_ORDER := client signer sync hsm config proto
MODULES := $(foreach m,$(MODULE_ORDER),$(if $(wildcard $(m)/*.c),$(m)))
PROGRAM_SRCS := signer/signerctl.c signer/signerd.c client/signer-client.c
PROGRAM_BINS := $(patsubst %.c,$(BUILD)/%,$(notdir $(PROGRAM_SRCS)))
MODULE_SRCS = $(filter-out $(PROGRAM_SRCS),$(wildcard $(1)/*.c))
MODULE_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(call MODULE_SRCS,$(1)))
MODULE_LIBS := $(foreach m,$(MODULES),$(BUILD)/lib$(m).a)

UNIT_SRCS := $(sort $(wildcard tests/unit/*/test_*.c))
UNIT_BINS := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst %.c,$(BUILD)/%,$(TOOL_SRCS))
BENCH_SRCS := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BINS := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRCS))
# Helpers for tests that must be shared objects (e.g. a fault-injecting PKCS#11 module).
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TESTLIB_SOS := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.so,$(TESTLIB_SRCS))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
INTEG_TESTS := $(sort $(wildcard tests/integration/test_*.sh))

.PHONY: all check check-run test unit integration asan fuzz fuzz-smoke \
	fuzz-build bench demo deps install clean

all: $(PROGRAM_BINS) $(MODULE_LIBS) $(TOOL_BINS) $(TESTLIB_SOS)

define module_rules
$(BUILD)/lib$(1).a: $(call MODULE_OBJS,$(1))
	@echo "  AR      $$@"
	$(Q)rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Programs: build/<name> from <module>/<name>.c and the module libraries.
define program_rule
$(BUILD)/$(basename $(notdir $(1))): $(BUILD)/$(1:.c=.o) $(MODULE_LIBS)
	@echo "  LD      $$@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $$@ $$< $(MODULE_LIBS) $(PKG_LIBS)
endef
$(foreach p,$(PROGRAM_SRCS),$(eval $(call program_rule,$(p))))

$(BUILD)/tests/lib/%.so: tests/lib/%.c
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -shared -o $@ $< $(ALL_LDFLAGS) -ldl

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(MODULE_LIBS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(MODULE_LIBS) $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(MODULE_LIBS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(MODULE_LIBS) $(PKG_LIBS)

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(MODULE_LIBS)
	@echo "  LD      $@"
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(MODULE_LIBS) $(PKG_LIBS)

# ---- tests ---------------------------------------------------------------

# Results of every suite go to $(RESULTS); check prints the total at the end.
RESULTS ?= $(BUILD)/results.txt

test: all $(UNIT_BINS)
	@BUILD="$(BUILD)" tests/run-tests.sh "$(RESULTS)" unit $(UNIT_BINS)
	@BUILD="$(BUILD)" tests/run-tests.sh "$(RESULTS)" integration $(INTEG_TESTS)

unit: all $(UNIT_BINS)
	@BUILD="$(BUILD)" tests/run-tests.sh "$(RESULTS)" unit $(UNIT_BINS)

integration: all
	@BUILD="$(BUILD)" tests/run-tests.sh "$(RESULTS)" integration $(INTEG_TESTS)

# The whole suite again with AddressSanitizer and UndefinedBehaviorSanitizer.
# A single allocation over 256 MiB is treated as a bug (msgpack bombs).
asan:
	@ASAN_OPTIONS=max_allocation_size_mb=256:allocator_may_return_null=0:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan RESULTS=$(RESULTS) \
		SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		test

# ---- fuzzing (libFuzzer, clang) ------------------------------------------

FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. $(PKG_CFLAGS) -MMD -MP \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_MODULE_SRCS := $(foreach m,$(MODULES),$(call MODULE_SRCS,$(m)))
FUZZ_MODULE_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_MODULE_SRCS))
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CLANG   $<"
	$(Q)clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_MODULE_OBJS)
	@echo "  LD      $@"
	$(Q)clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@tests/run-fuzz.sh "$(RESULTS)" $(FUZZ_SECONDS) $(FUZZ_BUILD) $(FUZZ_NAMES)

fuzz-smoke: fuzz-build
	@tests/run-fuzz.sh "$(RESULTS)" $(FUZZ_SMOKE_SECONDS) $(FUZZ_BUILD) $(FUZZ_NAMES)

# ---- the README's commands -----------------------------------------------

# check re-reads this Makefile after deps so that pkg-config sees new packages.
check: deps
	@rm -f $(RESULTS)
	@$(MAKE) --no-print-directory check-run

check-run: test asan fuzz-smoke
	@tests/run-tests.sh "$(RESULTS)" --total

bench: all $(BENCH_BINS)
	@for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	@for s in $(sort $(wildcard tests/bench/bench_*.sh)); do echo "== $$s"; \
		BUILD="$(BUILD)" sh $$s || exit 1; done

demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD="$(BUILD)" tests/demo.sh

# Install what is missing (as root), or print the exact command to run.
deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "  DEPS   $$missing"; \
		apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing >/dev/null || exit 1; \
	else \
		echo "missing packages; run:"; \
		echo "  sudo apt-get install$$missing"; \
		exit 1; \
	fi

install: all
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGRAM_BINS) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf $(BUILD)

.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
