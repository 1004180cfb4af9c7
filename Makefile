# Makefile --- bcache-tool
#
#   make            build $(BUILD)/bcache-tool
#   make run        install dependencies, build, run the main job on a bundled real image
#   make check      install dependencies, build, check the layers, run the tests
#   make layers     refuse an #include or a call against scripts/layers
#   make asan       the same tests under AddressSanitizer + UBSan (in build-asan/)
#   make bench      benchmarks
#   make fuzz       libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each (in build-fuzz/)
#   make fuzz-regress  every fuzz corpus and regression input run once
#   make install    PREFIX=/usr/local DESTDIR=

VERSION	:= 0.1
PREFIX	?= /usr/local
BUILD	?= build
PKGS	:= blkid uuid popt libzstd libisal jansson

# pkg-config is asked lazily so that 'make check' can install the packages first
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

CFLAGS	?= -O2 -g
BT_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	    -D_GNU_SOURCE -DBT_VERSION='"$(VERSION)"' -I. $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm

# One archive per layer (scripts/layers, libcore/README), linked top first:
# a call that goes up a layer finds its archive already passed and fails
# to link; `make layers` refuses what the link order cannot see (includes,
# sideways calls).
LAYERS	  := recovery fsck format libcore/write libcore/scan libcore/read \
	     libcore/ondisk libcore/dev libcore/base
layer_lib  = $(BUILD)/lib/lib$(notdir $(1)).a
LIB_SRCS  := $(sort $(foreach l,$(LAYERS),$(wildcard $(l)/*.c)))
CMD_SRCS  := $(sort $(wildcard cmd/*.c))
TEST_SRCS := $(sort $(wildcard tests/*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
GEN_CACHE_SRCS := $(sort $(wildcard tests/tools/gen_cache/*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS  := $(CMD_SRCS:%.c=$(BUILD)/%.o)
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/%.o)

BIN	:= $(BUILD)/bcache-tool
LIB	:= $(foreach l,$(LAYERS),$(call layer_lib,$(l)))
TESTBIN	:= $(BUILD)/tests/run-tests
TOOLS	:= $(TOOL_SRCS:%.c=$(BUILD)/%) $(BUILD)/tests/tools/gen-cache
GEN_CACHE_OBJS := $(GEN_CACHE_SRCS:%.c=$(BUILD)/%.o)
BENCHES	:= $(BENCH_SRCS:%.c=$(BUILD)/%)

MANS	:= $(wildcard man/*.8)
RUN_IMAGE := images/s04-writeback-dirty-crash/cache.img.zst

all: $(BIN) $(TOOLS)

deps:
	@scripts/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BT_CFLAGS) -MMD -MP -c -o $@ $<

define layer_rule
$(call layer_lib,$(1)): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call layer_rule,$(l))))

$(BIN): $(CMD_OBJS) $(LIB)
	$(CC) $(BT_CFLAGS) -o $@ $(CMD_OBJS) $(LIB) $(LDLIBS_ALL)

$(TESTBIN): $(TEST_OBJS) $(LIB)
	$(CC) $(BT_CFLAGS) -o $@ $(TEST_OBJS) $(LIB) $(LDLIBS_ALL) $(shell pkg-config --libs criterion)

$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BT_CFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

# gen-cache is the one tool of several files (tests/tools/gen_cache/).
$(BUILD)/tests/tools/gen-cache: $(GEN_CACHE_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BT_CFLAGS) -o $@ $(GEN_CACHE_OBJS) $(LIB) $(LDLIBS_ALL)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BT_CFLAGS) -o $@ $< $(LIB) $(LDLIBS_ALL)

# The tests find the binary, the images and the sources through these.
TEST_ENV = BT_BIN=$(abspath $(BIN)) BT_SRCDIR=$(CURDIR) BT_BUILD=$(abspath $(BUILD))

check: deps
	$(MAKE) --no-print-directory $(BIN) $(TESTBIN) $(TOOLS)
	scripts/check-layers --objects $(BUILD)
	$(TEST_ENV) $(TESTBIN) $(CRITERION_ARGS)

layers: $(BIN)
	scripts/check-layers --objects $(BUILD)

asan: deps
	$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		build-asan/bcache-tool build-asan/tests/run-tests
	$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		tools-only
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 UBSAN_OPTIONS=print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		BT_BIN=$(abspath build-asan/bcache-tool) BT_SRCDIR=$(CURDIR) BT_BUILD=$(abspath build-asan) \
		build-asan/tests/run-tests $(CRITERION_ARGS)

tools-only: $(TOOLS)

libs: $(LIB)

run: deps
	$(MAKE) --no-print-directory $(BIN)
	@mkdir -p $(BUILD)/run
	zstd -q -d -f --long=31 $(RUN_IMAGE) -o $(BUILD)/run/cache.img
	@echo "== check only: a cache the kernel crashed with, its writes only in the journal"
	$(BIN) fsck -n -v $(BUILD)/run/cache.img
	@echo "== repair: replay the journal into the btree (exit 1: device modified)"
	$(BIN) fsck -y $(BUILD)/run/cache.img || [ $$? -eq 1 ]
	@echo "== check again: clean, nothing left to replay"
	$(BIN) fsck -n $(BUILD)/run/cache.img

bench: deps
	$(MAKE) --no-print-directory $(BIN) $(BENCHES) $(TOOLS)
	@for b in $(BENCHES); do echo "== $$b"; BT_SRCDIR=$(CURDIR) BT_BUILD=$(abspath $(BUILD)) $$b || exit 1; done

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/bcache-tool
	install -m 644 $(MANS) $(DESTDIR)$(PREFIX)/share/man/man8/

# ---- fuzzing (tests/fuzz/README): clang, libFuzzer + ASan + UBSan ----------
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := $(notdir $(basename $(wildcard tests/fuzz/*.c)))
FUZZ_BINS := $(FUZZ_TARGETS:%=build-fuzz/fuzz/%)
FUZZ_SAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_BASE_ZST := images/s03-writeback-dirty-clean-stop/cache.img.zst
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	BT_FUZZ_BASE=$(CURDIR)/build-fuzz/base.img

build-fuzz/base.img: $(FUZZ_BASE_ZST)
	@mkdir -p $(dir $@)
	zstd -q -d -f --long=31 $< -o $@

build-fuzz/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/common/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BT_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS_ALL)

fuzz-build: deps
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" libs
	$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
		CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" $(FUZZ_BINS) build-fuzz/base.img

# New inputs go to build-fuzz/corpus/T (tests/fuzz/corpus/C is only read; C is
# T, or fsck for the whole-image targets, which share one corpus); crashes to
# build-fuzz/artifacts/T/. -merge=1 them into the tree by hand (tests/fuzz/README).
fuzz_corpus = $$(case $$t in fsck_*) echo fsck;; *) echo $$t;; esac)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		c=$(fuzz_corpus); \
		mkdir -p build-fuzz/corpus/$$t build-fuzz/artifacts/$$t tests/fuzz/corpus/$$c; \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_ENV) build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=25 \
			-rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1 \
			-dict=tests/fuzz/bcache.dict -artifact_prefix=build-fuzz/artifacts/$$t/ \
			build-fuzz/corpus/$$t tests/fuzz/corpus/$$c 2>build-fuzz/$$t.log || \
			{ tail -60 build-fuzz/$$t.log; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)' build-fuzz/$$t.log; \
	done

fuzz-regress: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		c=$(fuzz_corpus); \
		mkdir -p tests/fuzz/corpus/$$c tests/fuzz/regress/$$t; \
		echo "== fuzz-regress $$t"; \
		$(FUZZ_ENV) build-fuzz/fuzz/$$t -runs=0 -timeout=25 -rss_limit_mb=4096 \
			-max_len=1048576 tests/fuzz/corpus/$$c tests/fuzz/regress/$$t \
			2>build-fuzz/$$t.regress.log || { tail -60 build-fuzz/$$t.regress.log; exit 1; }; \
	done

.PHONY: fuzz fuzz-build fuzz-regress

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all deps check layers asan run bench install clean tools-only libs

-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(GEN_CACHE_OBJS:.o=.d)
