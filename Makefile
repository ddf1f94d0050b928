# vpc-failover — build, test, install.
#
#   make            build the product into build/: vpc-failoverd, vpc-failover
#                   (the lean front: keepalived's notify hook, docs/hook.md)
#                   and vpc-failover-cli (the full CLI it runs for the rest)
#   make tests      build the test programs: unit tests, the simulator, tools
#   make check      build everything and run tests/run.sh (no package installs)
#   make test       install missing Debian packages, build, run every test tier
#   make demo       the simulated-VPC failover demo (see README); SOURCE=patroni
#                   or SOURCE=sentinel: Patroni or Redis Sentinel decides
#                   (any tests/demo_SOURCE.sh works)
#   make bench      benchmarks (numbers go into the README)
#   make bench-az   an AZ outage: 50 pairs fail over at once (bench/az.sh)
#   make soak       24 simulated hours on the fake clock (about 90 s; results
#                   in build/soak/results.txt and the README)
#   make chaos      500 random fault schedules against two daemons (about
#                   80 min; build/chaos/summary.txt and the README)
#   make install    honours DESTDIR and PREFIX (and the *DIR variables below)
#   make deb        the Debian package, build/deb/vpc-failover_VERSION_ARCH.deb
#   make deb-root-test  install it into a debootstrapped minimal root and purge
#                   it (needs the network; a few minutes)

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# The Grafana dashboard (dashboards/): a directory Grafana's file
# provisioning can point at (hooks/examples/grafana-provisioning.yml).
GRAFANADIR ?= $(PREFIX)/share/vpc-failover/grafana
# The full CLI, which the front program vpc-failover runs for every command
# but notify (docs/hook.md): a private program, not on PATH.
CLIDIR  ?= $(PREFIX)/lib/vpc-failover
# systemd searches /usr/local/lib/systemd/system and /usr/local/lib/tmpfiles.d
# too; a Debian 12 package (PREFIX=/usr) puts units where its systemd.pc says,
# /lib/systemd/system, and tmpfiles.d files in /usr/lib/tmpfiles.d.
ifeq ($(PREFIX),/usr)
UNITDIR ?= /lib/systemd/system
else
UNITDIR ?= $(PREFIX)/lib/systemd/system
endif
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
B       := build

# The one version (VERSION): --version, the User-Agent, status, the
# build_info metric and debian/changelog (tests/integration/version.sh).
VERSION := $(shell cat VERSION)
VERSION_DEF := -DVPCF_VERSION='"$(VERSION)"'

PKG_CONFIG ?= pkg-config
PKGS     := libcurl libxml-2.0 jansson libnl-3.0 libnl-route-3.0 inih libsystemd \
            libmnl libnftnl libmicrohttpd libcrypt yaml-0.1 hiredis libpq libmariadb libbpf
SIMPKGS  := libmicrohttpd jansson libnl-3.0 libnl-route-3.0 libcrypto inih
# The Debian package of each pkg-config module: a missing library is named
# the way apt-get wants it (pkg-config's own error names a .pc file, and a
# compiler's names whichever header came first).
DEBPKG.libcurl         := libcurl4-openssl-dev
DEBPKG.libxml-2.0      := libxml2-dev
DEBPKG.jansson         := libjansson-dev
DEBPKG.libnl-3.0       := libnl-3-dev
DEBPKG.libnl-route-3.0 := libnl-route-3-dev
DEBPKG.inih            := libinih-dev
DEBPKG.libsystemd      := libsystemd-dev
DEBPKG.libmnl          := libmnl-dev
DEBPKG.libnftnl        := libnftnl-dev
DEBPKG.libmicrohttpd   := libmicrohttpd-dev
DEBPKG.libcrypto       := libssl-dev
DEBPKG.libcrypt        := libcrypt-dev
DEBPKG.yaml-0.1        := libyaml-dev
DEBPKG.hiredis         := libhiredis-dev
DEBPKG.libpq           := libpq-dev
DEBPKG.libmariadb      := libmariadb-dev
DEBPKG.cmocka          := libcmocka-dev
DEBPKG.libbpf          := libbpf-dev
pkgs_missing = $(strip $(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,$(p))))
need_pkgs = $(if $(call pkgs_missing,$(1)),$(error missing libraries:\
  $(foreach p,$(call pkgs_missing,$(1)),$(p) (Debian package $(DEBPKG.$(p))));\
  install them with scripts/deps.sh (as root) or apt-get install\
  $(foreach p,$(call pkgs_missing,$(1)),$(DEBPKG.$(p)))))
# Asked of pkg-config once, and only when something is compiled or linked
# (make clean, make deps and make test's first step need no library).
PKGCFLAGS = $(eval PKGCFLAGS := $(call need_pkgs,$(PKGS))$(shell $(PKG_CONFIG) --cflags $(PKGS)))$(PKGCFLAGS)
LIBS      = $(eval LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)))$(LIBS)
SIMLIBS   = $(eval SIMLIBS := $(call need_pkgs,$(SIMPKGS))$(shell $(PKG_CONFIG) --libs $(SIMPKGS)) -lpthread -lm)$(SIMLIBS)
CMOCKALIBS = $(eval CMOCKALIBS := $(call need_pkgs,cmocka)$(shell $(PKG_CONFIG) --libs cmocka))$(CMOCKALIBS)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wpointer-arith -Wno-unused-parameter -Werror \
           -Wno-format-truncation
CFLAGS  ?= -O2 -g
# Hardening, on whatever CFLAGS/LDFLAGS say (tests/integration/build.sh
# checks the binaries): position-independent executables, full RELRO (GOT
# read-only after start-up), fortified libc calls, stack protector. The
# -U first: dpkg-buildflags' CPPFLAGS may define _FORTIFY_SOURCE already.
HARDEN_CFLAGS  := -fPIE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
                  -fstack-clash-protection
HARDEN_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) -I. -I$(B) $(PKGCFLAGS) -MMD -MP \
             $(HARDEN_CFLAGS)
LDFLAGS ?=
ALL_LDFLAGS = $(HARDEN_LDFLAGS) $(LDFLAGS)

# One archive per layer, linked top first (docs/layers.md): lib/ is the base;
# vpc/ and netmon/ use lib/; daemon/ uses those; hooks/ (the CLI) uses all.
# An include that points the other way fails tests/integration/layers.sh.
LAYERS   := hooks daemon netmon vpc lib
# The programs' own files: the daemon's main.c; the lean front (front.c,
# docs/hook.md); the full CLI's main (cli.c) and its subcommand families
# (cli_*.c).
CLI_SRC  := hooks/cli.c $(wildcard hooks/cli_*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
LAYER_SRC = $(filter-out daemon/main.c hooks/front.c $(CLI_SRC),$(wildcard $(1)/*.c))
LIB_SRC  := $(foreach l,$(LAYERS),$(call LAYER_SRC,$(l)))
LAYER_AR := $(LAYERS:%=$(B)/libvpcf-%.a)
SIM_SRC := $(wildcard tests/vpcsim/*.c) lib/log.c lib/util.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
SIM_OBJ := $(SIM_SRC:%.c=$(B)/sim/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/%)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)

# vpc-failover: the lean front (docs/hook.md), which runs vpc-failover-cli
# here; install/vpc-failover: the same for make install, which runs it in
# CLIDIR.
BINS := $(B)/vpc-failoverd $(B)/vpc-failover $(B)/vpc-failover-cli $(B)/install/vpc-failover

# The product only: what make install and the Debian package ship.
all: $(BINS)

# What the tests run besides the product.
tests: $(BINS) $(B)/vpcsim $(UNIT_BIN) $(TOOL_BIN)

# Build everything and run the suite (make test also installs packages).
check: tests
	./tests/run.sh

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# eBPF programs (netmon/bpf/NAME.bpf.c, docs/netmon.md): compiled by clang
# for the bpf target and wrapped by bpftool into a libbpf skeleton,
# $(B)/netmon/bpf/NAME.skel.h, which the module loading it includes as
# "netmon/bpf/NAME.skel.h" (the object is embedded: nothing to install).
# Every object waits for the skeletons on its first build; -MMD's
# dependencies take over from then on.
BPF_CLANG ?= clang
BPFTOOL   ?= bpftool
BPF_SRC   := $(wildcard netmon/bpf/*.bpf.c)
BPF_SKEL  := $(BPF_SRC:netmon/bpf/%.bpf.c=$(B)/netmon/bpf/%.skel.h)
BPF_CFLAGS := -target bpf -mcpu=v3 -O2 -g -Wall -Werror -I. -idirafter /usr/include/$(shell $(CC) -dumpmachine) -D__TARGET_ARCH_$(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

$(B)/netmon/bpf/%.bpf.o: netmon/bpf/%.bpf.c $(wildcard netmon/bpf/*.h)
	@mkdir -p $(dir $@)
	$(BPF_CLANG) $(BPF_CFLAGS) -c -o $@ $<

$(B)/netmon/bpf/%.skel.h: $(B)/netmon/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< >$@.tmp && mv $@.tmp $@

bpf-skels: $(BPF_SKEL)

# lib/ini.c sets libinih's options at run time (ini_use_stack,
# ini_max_line, ...: globals that Debian's libinih adds by a patch; upstream
# inih fixes them when it is built). Checked once per build directory, so
# that another inih fails here, saying so, not in ini.c's compile.
$(B)/.inih-runtime-options:
	@mkdir -p $(B)
	@printf '#include <stdbool.h>\n#include <ini.h>\nint main(void) { ini_use_stack = false; ini_allow_realloc = false; ini_initial_alloc = 1; ini_stop_on_first_error = false; ini_allow_no_value = false; return (int)ini_allow_multiline; }\n' | \
	$(CC) -x c -o $@.probe - $(PKGCFLAGS) $(shell $(PKG_CONFIG) --libs inih) >$@.log 2>&1 || { \
		echo "libinih lacks the run-time options of Debian's build (ini_use_stack," \
		     "ini_allow_realloc, ini_initial_alloc, ...), which lib/ini.c sets:" \
		     "build against Debian's libinih-dev (bookworm or later); see $@.log" >&2; \
		exit 1; }
	@rm -f $@.probe $@.log
	@touch $@

$(B)/lib/ini.o: | $(B)/.inih-runtime-options
$(LIB_OBJ) $(CLI_OBJ) $(B)/daemon/main.o: | $(BPF_SKEL)

# Only version.c sees the version: a new one rebuilds one object.
$(B)/lib/version.o: VERSION
$(B)/lib/version.o: ALL_CFLAGS += $(VERSION_DEF)

$(B)/sim/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# An archive is made afresh: a file moved to another layer leaves nothing behind.
define LAYER_RULE
$(B)/libvpcf-$(1).a: $(patsubst %.c,$(B)/%.o,$(call LAYER_SRC,$(1)))
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach l,$(LAYERS),$(eval $(call LAYER_RULE,$(l))))

$(B)/vpc-failoverd: $(B)/daemon/main.o $(LAYER_AR)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LAYER_AR) $(LIBS)

$(B)/vpc-failover-cli: $(CLI_OBJ) $(LAYER_AR)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(LAYER_AR) $(LIBS)

# The lean front (hooks/front.c, docs/hook.md): keepalived's notify hook,
# which loads libc alone; it runs the full CLI for everything else. Its
# objects are compiled again into $(B)/front/ with a section per function,
# so that the linker keeps only what the hook reaches (cfg.c's reload
# helpers... go); jansson and libinih are linked statically. The
# configuration reader is the modules' own parsers (lib/ini.c, lib/url.c,
# *_cfg.c), which need nothing beyond libc and libinih.
FRONT_SRC := hooks/notify.c daemon/kaevent.c daemon/state.c daemon/ctlclient.c \
             daemon/cfg.c daemon/daemon_cfg.c daemon/group_cfg.c daemon/guard_cfg.c daemon/notify_cfg.c \
             vpc/aws_cfg.c netmon/nm_cfg.c \
             lib/ini.c lib/url.c lib/log.c lib/util.c lib/ev.c lib/cidr.c
FRONT_OBJ := $(FRONT_SRC:%.c=$(B)/front/%.o)
FRONT_CFLAGS = $(ALL_CFLAGS) -ffunction-sections -fdata-sections
FRONT_LIBS := -Wl,--gc-sections -Wl,--as-needed \
              -Wl,-Bstatic -ljansson -linih -Wl,-Bdynamic

$(B)/front/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FRONT_CFLAGS) -c -o $@ $<

$(B)/front/lib/ini.o: | $(B)/.inih-runtime-options

# Two fronts, differing in the full CLI's path, compiled in (no search
# path): the build tree's runs $(B)/vpc-failover-cli (the tests), the
# installed one $(CLIDIR)/vpc-failover-cli (make install, the package).
$(B)/front/hooks/front.o: hooks/front.c
	@mkdir -p $(dir $@)
	$(CC) $(FRONT_CFLAGS) -DVPCF_CLI_PATH='"$(abspath $(B))/vpc-failover-cli"' -c -o $@ $<

$(B)/front/hooks/front-install.o: hooks/front.c $(B)/front/clidir
	@mkdir -p $(dir $@)
	$(CC) $(FRONT_CFLAGS) -DVPCF_CLI_PATH='"$(CLIDIR)/vpc-failover-cli"' -c -o $@ $<

# CLIDIR as last built: a make install with another PREFIX rebuilds the
# installed front.
$(B)/front/clidir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CLIDIR)' | cmp -s - $@ || echo '$(CLIDIR)' >$@

$(B)/vpc-failover: $(B)/front/hooks/front.o $(FRONT_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FRONT_LIBS)

$(B)/install/vpc-failover: $(B)/front/hooks/front-install.o $(FRONT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(FRONT_LIBS)

$(B)/vpcsim: $(SIM_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(SIMLIBS)

# Unit tests may #include the module's .c (chrony style) to stub its I/O, so
# they link against the library with --allow-multiple-definition off: each
# test decides what it pulls in.
$(B)/test_%: tests/unit/test_%.c $(LAYER_AR)
	@mkdir -p $(B)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(ALL_LDFLAGS) -o $@ $< $(LAYER_AR) \
		$(LIBS) $(CMOCKALIBS)

# Test drivers: small programs that exercise one module for integration tests.
$(B)/tools/%: tests/tools/%.c $(LAYER_AR)
	@mkdir -p $(B)/tools
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(ALL_LDFLAGS) -o $@ $< $(LAYER_AR) \
		$(LIBS)

# bench/notify.sh's hook timer and minimal hook: libc alone, like the hook
# they are measured against.
$(B)/tools/min-notify $(B)/tools/hook-time: $(B)/tools/%: tests/tools/%.c
	@mkdir -p $(B)/tools
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes $(ALL_LDFLAGS) -o $@ $<

deps:
	./scripts/deps.sh

test: deps
	$(MAKE) check
	$(MAKE) test-unit-asan

# make demo SOURCE=...: keepalived (the default: tests/demo.sh) or a leader
# source with a tests/demo_SOURCE.sh. An unknown SOURCE stops make before
# anything is installed or built.
DEMO_SOURCES := $(patsubst tests/demo_%.sh,%,$(wildcard tests/demo_*.sh))
DEMO_SCRIPT = $(if $(filter-out keepalived,$(SOURCE)),./tests/demo_$(SOURCE).sh,./tests/demo.sh)
ifneq ($(filter demo,$(MAKECMDGOALS)),)
ifeq ($(filter $(SOURCE),keepalived $(DEMO_SOURCES)),)
ifneq ($(SOURCE),)
$(error make demo: no demo for SOURCE=$(SOURCE): use SOURCE=keepalived (the default) or one of: $(DEMO_SOURCES))
endif
endif
endif

demo: deps
	$(MAKE) tests
	$(DEMO_SCRIPT)

bench: deps
	$(MAKE) tests
	./bench/run.sh

# An AZ outage: AZ_PAIRS survivors (50) of AZ_TABLES route tables (4) each
# fail over at once against EC2's account buckets (bench/az.sh). AZ_BASE: a
# build directory of another version to run beside this one. AZ_ANCHOR=N:
# then the anchor, the shell hook of an awscli call per table, at N pairs
# (AZ_HOOK=awscli; bench/az.sh says why N = 50 measures this host's cores).
AZ_PAIRS  ?= 50
AZ_TABLES ?= 4
bench-az: tests
	./bench/az.sh $(AZ_PAIRS) $(AZ_TABLES)
	@if [ -n "$(AZ_BASE)" ]; then AZ_NOHEAD=1 AZ_BUILD=$(AZ_BASE) AZ_LABEL=base ./bench/az.sh $(AZ_PAIRS) $(AZ_TABLES); fi
	@if [ -n "$(AZ_ANCHOR)" ]; then AZ_NOHEAD=1 AZ_HOOK=awscli ./bench/az.sh $(AZ_ANCHOR) $(AZ_TABLES); fi

# CHAOS_RUNS (500) schedules from seed CHAOS_FIRST (1), about 9 s each;
# results in build/chaos/ (docs/chaos.md).
CHAOS_RUNS  ?= 500
CHAOS_FIRST ?= 1
chaos: tests
	@mkdir -p $(B)/chaos
	./tests/chaos/chaos.py --build $(B) --runs $(CHAOS_RUNS) --first $(CHAOS_FIRST) \
		--summary $(B)/chaos/summary.txt --out $(B)/chaos/results.txt

# The fault runs at full size (make test runs 40 storms and 20 kills).
FAULT_RUNS      ?= 100
FAULT_KILL_RUNS ?= 50
faults: tests
	FAULT_RUNS=$(FAULT_RUNS) FAULT_KILL_RUNS=$(FAULT_KILL_RUNS) ./tests/run.sh faults

# SOAK_HOURS (24) simulated hours at SOAK_SCALE (1000) times real time.
soak: tests
	./tests/soak/soak.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

install: $(B)/vpc-failoverd $(B)/install/vpc-failover $(B)/vpc-failover-cli
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(CLIDIR)
	install -m 0755 $(B)/vpc-failoverd $(B)/install/vpc-failover $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(B)/vpc-failover-cli $(DESTDIR)$(CLIDIR)/
	install -d $(DESTDIR)/etc/vpc-failover
	install -m 0644 hooks/vpc-failover.conf.example $(DESTDIR)/etc/vpc-failover/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR)
	sed 's|/usr/sbin/vpc-failoverd|$(SBINDIR)/vpc-failoverd|g' \
		systemd/vpc-failoverd.service >$(DESTDIR)$(UNITDIR)/vpc-failoverd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vpc-failoverd.service
	install -m 0644 systemd/vpc-failover.tmpfiles $(DESTDIR)$(TMPFILESDIR)/vpc-failover.conf
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 docs/man/vpc-failover.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/vpc-failover.8 docs/man/vpc-failoverd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 hooks/vpc-failover.bash-completion $(DESTDIR)$(BASHCOMPDIR)/vpc-failover
	ln -sf vpc-failover $(DESTDIR)$(BASHCOMPDIR)/vpc-failoverd
	install -d $(DESTDIR)$(GRAFANADIR)
	install -m 0644 dashboards/vpc-failover.json $(DESTDIR)$(GRAFANADIR)/

# The Debian package (debian/), built with dpkg-buildpackage from a copy of
# the tree's files (tracked and new, not ignored) in $(B)/deb/, so that it
# builds from what a clone has and leaves the tree and its parent alone.
# The .deb and the lintian report land in $(B)/deb/.
DEB_DIR := $(B)/deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/vpc-failover-$(VERSION)
	git ls-files -co --exclude-standard -z | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/vpc-failover-$(VERSION)
	# The package's own make must not inherit this one's variables (B=...).
	cd $(DEB_DIR)/vpc-failover-$(VERSION) && \
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning,info,pedantic --pedantic --display-info \
		$(DEB_DIR)/vpc-failover_$(VERSION)_*.changes >$(DEB_DIR)/lintian.txt; \
		rc=$$?; cat $(DEB_DIR)/lintian.txt; exit $$rc

# The package installed from a minimal debootstrapped root, its Depends
# fetched from the Debian archive, then purged (tests/deb_root.sh; needs
# root and the network; a few minutes, so not in make test).
deb-root-test: deb
	./tests/deb_root.sh $(DEB_DIR)/vpc-failover_$(VERSION)_*.deb

clean:
	rm -rf $(B)

.PHONY: all tests bpf-skels check deps test demo bench bench-az faults soak chaos format install deb deb-root-test clean FORCE

-include $(LIB_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(B)/daemon/main.d $(CLI_OBJ:.o=.d) \
	$(FRONT_OBJ:.o=.d) $(B)/front/hooks/front.d $(B)/front/hooks/front-install.d \
	$(UNIT_BIN:=.d) $(TOOL_BIN:=.d)

# ---- Sanitizers and leaks ---------------------------------------------------
# SAN=1 builds with ASan+UBSan; use it with its own build directory:
#   make B=build/asan SAN=1
#   make check-asan       the whole suite (unit + integration) against build/asan
#   make check-valgrind   the whole suite with the unit tests, daemon and CLI
#                         under valgrind memcheck
#   make test-unit-asan   the unit tier only under ASan+UBSan (part of make test)
# tests/check.sh sets the options, runs tests/run.sh against that build
# directory (VPCF_BUILD) and fails on any sanitizer or valgrind report found in
# the per-process logs, even ones from daemons whose exit status nobody reads.
ASAN_B   ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
ifeq ($(SAN),1)
# -O1: usable stack traces at a fraction of -O0's slowdown.
CFLAGS  := -O1 -g
ALL_CFLAGS += $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
endif

unit: $(UNIT_BIN)

check-asan: deps
	$(MAKE) B=$(ASAN_B) SAN=1 tests
	./tests/check.sh asan $(ASAN_B)

test-unit-asan:
	$(MAKE) B=$(ASAN_B) SAN=1 unit
	VPCF_TIER=unit ./tests/check.sh asan $(ASAN_B)

check-valgrind: deps
	$(MAKE) tests
	./tests/check.sh valgrind $(B)

.PHONY: unit check-asan test-unit-asan check-valgrind

# ---- fuzzing (libFuzzer; docs/fuzzing.md) ------------------------------------
# The library's sources again, built with clang and the sanitizers into
# build/fuzz/, apart from the gcc build; each tests/fuzz/fuzz_NAME.c becomes
# build/fuzz/fuzz_NAME. `make fuzz` runs every target for FUZZ_TIME seconds
# (or FUZZ_RUNS inputs, whichever ends first) on a copy of its corpus
# (tests/fuzz/corpus/NAME/ is never grown) and writes build/fuzz/summary.txt.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_JOBS   ?= 2
FUZZ_RUNS   ?=
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
               -I. -I$(B) $(PKGCFLAGS) -MMD -MP
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIBOBJ := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o)

$(B)/fuzz/obj/%.o: %.c | $(BPF_SKEL)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/fuzz/obj/lib/version.o: VERSION
$(B)/fuzz/obj/lib/version.o: FUZZ_CFLAGS += $(VERSION_DEF)

$(B)/fuzz/libvpcf.a: $(FUZZ_LIBOBJ)
	$(AR) rcs $@ $^

# Targets may #include a module's .c (as the unit tests do) to reach static
# functions or stub its I/O; the archive supplies the rest.
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(B)/fuzz/libvpcf.a
	@mkdir -p $(B)/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/fuzz/libvpcf.a $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_JOBS=$(FUZZ_JOBS) ./tests/fuzz/run.sh

.PHONY: fuzz fuzz-build
-include $(FUZZ_LIBOBJ:.o=.d) $(FUZZ_BIN:=.d)
# ---- end of fuzzing -----------------------------------------------------------
