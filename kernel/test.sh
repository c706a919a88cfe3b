#!/usr/bin/env bash
# Builds the kernels, then boots them in every configuration and checks each run:
#
#   machines pc and q35  x  memory 32M, 512M, 3G, 6G
#       QEMU exit status 33, a serial line "N passed, 0 failed" with N > 0, the kernel's
#       "page tables: N table pages ..." line (it switched to its own tables), and `sharpmm
#       check-kernel-log --require-locks`: present frames and zones equal what the hosted library
#       computes from the map the kernel printed, and the line's "locks" (lock statistics) is
#       there, no kind contended more often than acquired, some lock acquired
#   q35, 6G, --cpu qemu64,+pdpe1gb
#       as above, and the direct map uses 1 GiB pages (a "1G" page-size column in the ptdump)
#   pc, 4M (the least the kernel boots in)
#       the suite runs with no failure; tests that need more RAM say "skipped: needs ..." and the
#       summary counts them ("N passed, 0 failed, K skipped")
#   pc, 512M, -append debug=heap
#       as the suite above with the kernel heap in debug mode: the heap says so at boot, the
#       in-kernel heap tests pass with it on, and the leak report and the heap's findings (the
#       suite's deliberate double free among them) print before the summary
#   pc, 512M, -append test=nullderef
#       QEMU exit status 7 (CPU exception) and a page-fault report naming CR2=0x0000000000000000;
#       qemu.sh names the faulting method (addr2line: "qemu.sh: RIP 0x... in ...NullDereference")
#   pc, 512M, -append test=stackoverflow
#       status 7 and a double-fault report that names the kernel stack guard page
#   pc, 512M, -append test=guardpage
#       status 7 and a #PF [not-present write] report with CR2 in the kernel stack guard page
#   pc, 512M, -append test=writetext
#       status 7 and a #PF [protection write] report with CR2 at the text address the kernel named
#   pc, 512M, -append test=execdata
#       status 7 and a #PF [protection fetch] report with RIP and CR2 at the .bss address named
#   pc, 512M, -append test=userfault
#       status 7 and a #PF [not-present read] report with CR2 at the address named, outside every
#       region of a loaded user space, and the note "user memory refused it: no-region"
#   pc, 512M, -append test=panic
#       status 3 and the library panic line "panic: test=panic: deliberate library panic (0x2a)"
#   several CPUs: pc 512M --smp 2, q35 512M --smp 3, pc 3G --smp 4
#       the suite as above, the MADT lists N processors, each AP says it is online, "smp: N of N
#       CPUs online", "cpus":N on the SHARPMM-JSON line, and the SMP tests ran (each CPU's own
#       index, GS area, stack and guard page; Cpu.Kick of each CPU; the LAPIC timer on every
#       CPU; atomic adds from all CPUs at once; Cpu.CurrentWithoutCall answers on every CPU's
#       kernel stack and page and kmalloc pairs run there; drains asked while the other CPUs
#       run order-0 pairs with interrupts on lose nothing; buddy and kmalloc storms on all CPUs
#       with frees on another CPU, then the validators; a page unmapped on cpu 0 faults on cpu 1)
#   pc, 512M, --smp 3, -append "test=apstartfail test=apstackoverflow"
#       the first AP gets no start-up IPI: reported after its timeout, the kernel goes on with the
#       third CPU as cpu 1 ("2 of 3 CPUs online", "cpus":2); then status 7 and a double-fault
#       report whose note names cpu 1's kernel stack guard page
#   programs in ring 3 (kernel/tests/run/*.c, musl-gcc -static; qemu.sh --run, SMEP/SMAP on)
#       hello with arguments that hold spaces, quotes, an empty one, an option-like one and
#       commas: stdout and stderr byte for byte as a native run's; exit3: status 3, output as
#       native; nullderef: status 139, the kernel log's kill report (pid, address, rip, why);
#       forkwait: fork, copy-on-write and wait4, output as native; pageout: 96 MiB touched in a
#       64 MiB guest, output as native, pages out to the swap device and back; filemap: a --file read,
#       pread, seeked and mapped MAP_PRIVATE, output as native. Each run ends with a
#       SHARPMM-RUN line that says every frame came back.
#   the same programs in ring 3 on the i386 kernel (gcc -m32 -static; native runs as under
#       setarch i386 -3 -L -R, by tests/linux/i386-native): hello (also as a static PIE), exit3, nullderef, forkwait, filemap as above (no pageout:
#       no backing store there), forkwait again on a 2G guest (HighMem user pages), on low-2g and
#       with PAE; an ELF64 program refused with the kernel's reason (status 125)
#   i386 (qemu-system-i386), pc, 32M, 512M, 2G and 3G (HighMem above 896 MiB)
#       QEMU exit status 33, a serial line "N passed, 0 failed" with N > 0, the boot stub's
#       steps (temporary page directory, paging on, higher half), a SHARPMM-JSON line whose
#       zones are DMA, Normal and HighMem, the final directory's "page tables:" line,
#       "identity map dropped: ... faults", `sharpmm check-kernel-log` (the hosted library
#       with the i386 zones counts the same present frames and zones), and its boot-sequence
#       lines match `sharpmm boot --layout i386-higher-half` on the same map (check_steps_i386);
#       the user-memory suite on the live MMU ran (demand zero, paging to a RAM disk, fork and
#       copy-on-write, stack growth); on 2G and 3G (HighMem) its HighMem test says all 24 of its
#       user pages were HighMem frames, with pages out and in, contents right
#   i386, q35, 6G, legacy paging (no `pae`): the checks of 2G and 3G (HighMem), and the 4 GiB of
#       RAM above 4 GiB left out of every zone, as the kernel's line says (it names `pae`)
#   i386, q35, 6G, --cpu max, -append pae (PAE paging, NX, RAM above 4 GiB)
#       as above but for the hosted boot-sequence comparison (the hosted layout draws legacy
#       paging), and: the boot stub turned on CR4.PAE, the ptdump is of PAE tables with the direct
#       map in 2 MiB no-execute pages and the text executable, the NX test passed, and a frame
#       above 4 GiB was zeroed through kmap; the user-memory suite and its HighMem line as on 2G
#   i386 with layout=low-2g (pc 2G; q35 6G with pae) and layout=phantom (pc 2G; q35 512M with pae)
#       the checks above with the layout's base (0x80000000, 0), zones (DMA, Low, HighMem for
#       low-2g) and hosted layout (i386-low-2g, phantom-ia32); low-2g runs the user-memory suite
#       (user space below 0x80000000) with its HighMem line on both; phantom keeps its identity map and
#       reads the local APIC's version register and writes the VGA text buffer through MapDevice
#       in its device pool, and its object space (the whole window 0x80000000-0xC0000000, a RAM
#       disk of an eighth of RAM) survives a snapshot and a drop of its pages with objects at the
#       window's start, middle and end, and refuses a snapshot larger than its store
#   i386, pc, 32M, -append test=nullderef / test=stackoverflow / test=guardpage / test=writetext
#   / test=panic, and q35 512M -cpu max with `pae test=execdata`
#       status 7 and a #PF report with CR2=0x00000000 (null pointer dereference), its backtrace
#       line and qemu.sh naming the method and its caller (KernelMain.Stage2); status 7 and a
#       #DF report (the double-fault task) naming the kernel stack's guard page; status 7 and a
#       #PF [not-present write] in the guard page; status 7 and a #PF [protection write] at the
#       announced text address; status 3 and the library panic line with a backtrace that
#       qemu.sh names (the kernel's panic hook, called from Stage2); status 7 and a #PF
#       [protection fetch] with EIP and CR2 at the announced .bss address (NX under PAE)
#   i386 on several CPUs: pc 2G --smp 2 (legacy paging; the ACPI tables lie above the direct
#       map), q35 512M -cpu max --smp 3 `pae`
#       the checks of the one-CPU boots of that paging mode (the user-memory suite with HighMem;
#       PAE and its NX test), and the x86-64 SMP checks: the MADT lists N processors, each AP says it is
#       online with its FS area, "smp: N of N CPUs online", "cpus":N, the same SMP tests ran;
#       the kmap test ran on the N CPUs at once, each in its own slots
#   i386, pc, 512M, --smp 3, -append "test=apstartfail test=apstackoverflow"
#       as on x86-64: the CPU without a start-up IPI reported, the next one comes up as cpu 1;
#       status 7 and a #DF report from cpu 1's own double-fault task naming its stack guard page
#   i386, pc, 32M, --smp 2, -append test=kmapoverflow
#       status 3 and kmap's panic naming cpu 1, which asked for a 17th slot
#
# Serial logs go to kernel/build/logs/<machine>-<mem>.log (and nullderef.log, ...). Prints one line
# per configuration, then exactly "N passed, M failed" (N, M count configurations). Exits non-zero
# when any configuration failed.
#
# Usage: kernel/test.sh [--no-build] [--timeout SECONDS]
# (The x86-64 kernel's logs are kernel/build/logs/NAME.log, the i386 kernel's i386-NAME.log.)
set -uo pipefail
KERNEL_DIR="$(cd "$(dirname "$0")" && pwd)"
LOG_DIR="$KERNEL_DIR/build/logs"
TIMEOUT=120
BUILD=1
while [ $# -gt 0 ]; do
    case "$1" in
        --no-build) BUILD=0; shift ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        *) echo "test.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done

if [ "$BUILD" = 1 ]; then
    for arch in x86_64 i386; do
        if ! "$KERNEL_DIR/build.sh" --arch "$arch" --quiet; then
            echo "test.sh: kernel build failed ($arch)" >&2
            echo "0 passed, 1 failed"
            exit 1
        fi
    done
fi
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"

passed=0
failed=0

# run NAME EXPECTED_STATUS CHECK_FN -- qemu.sh args...
run() {
    local name="$1" expected="$2" check="$3"
    shift 4
    local log="$LOG_DIR/$name.log" start end status why=""
    start=$(date +%s%N)
    "$KERNEL_DIR/qemu.sh" --no-build --timeout "$TIMEOUT" "$@" >"$log" 2>&1
    status=$?
    end=$(date +%s%N)
    # qemu.sh maps QEMU's 33 to 0 and passes other statuses through.
    [ "$status" = 0 ] && status=33
    if [ "$status" != "$expected" ]; then
        why="QEMU status $status, expected $expected"
    else
        why="$($check "$log")"
    fi
    local ms=$(( (end - start) / 1000000 ))
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        printf 'config %-14s ... ok (%d ms)\n' "$name" "$ms"
    else
        failed=$((failed + 1))
        printf 'config %-14s ... FAILED: %s (log: %s)\n' "$name" "$why" "${log#$KERNEL_DIR/../}"
    fi
}

# The in-kernel suite ran and reported no failure, and the hosted library, booted on the map the
# kernel printed, counts the same present frames and zones as the kernel (sharpmm check-kernel-log).
check_suite() {
    local line
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)"
    [ -n "$line" ] || { echo "no 'N passed, M failed' line"; return; }
    local n="${line%% passed*}" m
    m="${line#*passed, }"; m="${m%% failed}"
    [ "$m" = 0 ] || { echo "in-kernel suite: $line"; return; }
    [ "$n" -gt 0 ] || { echo "in-kernel suite ran no test"; return; }
    grep -qE '^page tables: [0-9]+ table pages ' "$1" || { echo "no 'page tables:' line (kernel tables not built)"; return; }
    local cmp
    if ! cmp="$("$KERNEL_DIR/../sharpmm" check-kernel-log --require-locks "$1" 2>&1)"; then
        echo "kernel and hosted counts differ: $(grep -v '^ok' <<<"$cmp" | tr '\n' ' ')"
        return
    fi
}

# The i386 layout the next runs boot (i386_layout higher-half|low-2g|phantom): the kernel's
# base, the name of the zone below the direct-map limit, the hosted layout's name, the boot
# stub's jump line and the line that says what became of the boot identity map.
i386_layout() {
    I386_JUMP='jumped to the higher half' I386_IDENTITY='paging: identity map dropped: 0x[0-9a-f]{8} faults$'
    case $1 in
        higher-half) I386_BASE=c0 I386_LOW_ZONE=Normal I386_LAYOUT=i386-higher-half ;;
        low-2g)      I386_BASE=80 I386_LOW_ZONE=Low    I386_LAYOUT=i386-low-2g ;;
        phantom)     I386_BASE=00 I386_LOW_ZONE=Normal I386_LAYOUT=phantom-ia32
                     I386_JUMP='jumped to the linked address \(identity layout\)'
                     I386_IDENTITY='paging: identity layout: low memory stays at its physical address' ;;
    esac
}
i386_layout higher-half

# The i386 kernel: the boot stub printed its steps, the in-kernel suite ran and reported no
# failure, and the library's report names the 32-bit zones.
check_suite_i386() {
    local line
    for step in "boot: temporary page directory at 0x[0-9a-f]{8}: \\[0, 4 MiB\\) identity and 0x${I386_BASE}000000 -> " \
                'boot: paging on' "boot: $I386_JUMP, running at 0x${I386_BASE}[0-9a-f]{6}\$" \
                "layout: $I386_LAYOUT, kernel at 0x${I386_BASE}000000, "; do
        grep -qE "^$step" "$1" || { echo "no boot stub line matching '$step'"; return; }
    done
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1)"
    [ -n "$line" ] || { echo "no 'N passed, M failed' line"; return; }
    local n="${line%% passed*}" m
    m="${line#*passed, }"; m="${m%% failed}"
    [ "$m" = 0 ] || { echo "in-kernel suite: $line"; return; }
    [ "$n" -gt 0 ] || { echo "in-kernel suite ran no test"; return; }
    grep -qE '^SHARPMM-JSON .*"zones":\[\{"name":"DMA".*\{"name":"'"$I386_LOW_ZONE"'".*\{"name":"HighMem"' "$1" \
        || { echo "no SHARPMM-JSON line with zones DMA, $I386_LOW_ZONE, HighMem"; return; }
    grep -qE '^page tables: [0-9]+ table pages ' "$1" || { echo "no 'page tables:' line (final directory not built)"; return; }
    grep -qE "^$I386_IDENTITY" "$1" || { echo "no line matching '$I386_IDENTITY' (the boot identity map)"; return; }
    local cmp
    if ! cmp="$("$KERNEL_DIR/../sharpmm" check-kernel-log --require-locks "$1" 2>&1)"; then
        echo "kernel and hosted counts differ: $(grep -v '^ok' <<<"$cmp" | tr '\n' ' ')"
        return
    fi
}

# The i386 kernel with legacy paging: the checks above and the boot sequence of the hosted layout.
check_suite_i386_legacy() {
    local why
    why="$(check_suite_i386 "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    check_steps_i386 "$1"
}

# The user-memory suite on the live MMU (tests/UserTests.cs), which the i386 kernel runs on the
# higher-half and low-2g layouts: each of its tests ran and passed.
check_user_suite_i386() {
    local name
    for name in 'demand-zero region on the real MMU, frames from the buddy allocator' \
                'a region over a frame budget pages out to a RAM disk and back' \
                'fork, copy-on-write from ring 0 \(CR0.WP\), fault results' \
                'copy-on-write of 32 pages, cost per fault' \
                'the stack grows down on faults, to its limit and no further'; do
        grep -qE "^test user memory: $name \.\.\. " "$1" || { echo "the user-memory test '$name' did not run"; return; }
    done
}

# The i386 higher half with legacy paging: the checks above and the user-memory suite.
check_suite_i386_user() {
    local why
    why="$(check_suite_i386_legacy "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    check_user_suite_i386 "$1"
}

# Legacy paging on a guest with RAM above 4 GiB (q35 6G: 4 GiB of it there): the checks of the
# higher half with its user-memory suite, and the kernel left that RAM out and said so (how much,
# and that `pae` would manage it); no zone reaches past 4 GiB (check-kernel-log with the limit,
# and the in-kernel test's line).
check_suite_i386_beyond_4g() {
    local why
    why="$(check_suite_i386_highmem "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -qE '^physical memory: 4 GiB of RAM above 4 GiB ignored: legacy 32-bit paging reaches 32-bit physical addresses only; boot with `pae` on the command line to manage it$' "$1" \
        || { echo "no line saying the RAM above 4 GiB is ignored"; return; }
    grep -qE "^test i386: RAM beyond the tables' reach is in no zone \(above 4 GiB without PAE\) \.\.\.   4 GiB of RAM above 4 GiB left out; the last zone ends at pfn 0x000[0-9a-f]{5}\$" "$1" \
        || { echo "the in-kernel test of the RAM above 4 GiB did not pass"; return; }
}

# `pae` (higher half or low-2g): the PAE checks and the user-memory suite with its HighMem test
# (user spaces share the kernel's PDPT entries from its base up: 3, or 2 and 3).
check_suite_i386_pae_user() {
    local why
    why="$(check_suite_i386_pae "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    why="$(check_user_suite_i386 "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    check_highmem_line "$1"
}

# On a guest with HighMem: the HighMem test's line.
check_highmem_line() {
    grep -qE '^test user memory: user pages from HighMem frames, through kmap, right after copy-on-write and page-out/page-in \.\.\.   highmem: 24 of 24 user pages in HighMem frames \(pfn >= 0x[0-9a-f]+\), 12 copied on write, [1-9][0-9]* pages out, [1-9][0-9]* page-in faults; contents right$' "$1" \
        || { echo "no HighMem user-page line (24 of 24 pages in HighMem, pages out and in)"; return; }
}

# The same on a guest with HighMem (2 GiB, 3 GiB): user pages were served from HighMem frames
# (all 24 of the test's pages, counted in its line) and read back right after copy-on-write and
# a page-out/page-in through kmap.
check_suite_i386_highmem() {
    local why
    why="$(check_suite_i386_user "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    check_highmem_line "$1"
}

# The i386 kernel with `pae`: the checks above (no comparison with the hosted layout's steps,
# which draw the legacy recursive slot), PAE paging from the boot stub on, the library's PAE
# tables with the direct map in 2 MiB no-execute pages, the NX test and a frame above 4 GiB
# (nine hex digits) zeroed through kmap.
check_suite_i386_pae() {
    local why
    why="$(check_suite_i386 "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -q '^boot: paging on (CR4.PAE' "$1" || { echo "the boot stub did not turn on PAE"; return; }
    grep -qE '^x86 PAE, root 0x[0-9a-f]{16}$' "$1" || { echo "no ptdump of PAE tables"; return; }
    grep -qE "^0x${I386_BASE}[0-9a-f]{6}-0x[0-9a-f]{8} +[0-9]+[KMG] +2M +RW NX *\$" "$1" || { echo "no 2 MiB no-execute direct-map run in the ptdump"; return; }
    grep -qE "^0x${I386_BASE}1[0-9a-f]{5}-0x[0-9a-f]{8} +[0-9]+[KMG] +4K +ro x *\$" "$1" || { echo "no executable read-only text run in the ptdump"; return; }
    grep -q '^test i386 PAE: an NX page faults on execution, text is executable \.\.\. ok$' "$1" || { echo "the NX test did not pass"; return; }
    grep -qE ' frame 0x[1-9a-f][0-9a-f]{8} zeroed through kmap' "$1" || { echo "no frame above 4 GiB zeroed through kmap"; return; }
}

# The kernel's boot-sequence lines against the hosted run of the same layout on the map the kernel
# printed (sharpmm boot --layout i386-higher-half --map LOG): the same seven steps in order, the
# same sanitized map, zones, recursive slot, identity drop and stack top. (Step 1 and the table
# addresses differ by design: the stub uses 4 MiB pages; the hosted image is a 2 MiB stand-in.)
check_steps_i386() {
    local hosted kernel h k
    hosted="$("$KERNEL_DIR/../sharpmm" boot --layout "$I386_LAYOUT" --map "$1" 2>&1)" || { echo "hosted boot of the kernel's map failed"; return; }
    grep -qx 'all checks passed' <<<"$hosted" || { echo "hosted boot sequence: checks failed"; return; }
    hosted="$(grep -E '^  [1-7]\. |^     directory entry ' <<<"$hosted")"
    kernel="$(grep -E '^  [1-7]\. |^     directory entry ' "$1")"
    h="$(awk '{print $1, $2, $3}' <<<"$hosted")"; k="$(awk '{print $1, $2, $3}' <<<"$kernel")"
    [ "$h" = "$k" ] || { echo "boot steps differ from the hosted run: $(tr '\n' '|' <<<"$k") vs $(tr '\n' '|' <<<"$h")"; return; }
    for step in '  2\. ' '     directory entry ' '  6\. ' '  7\. '; do
        h="$(grep -E "^$step" <<<"$hosted")"; k="$(grep -E "^$step" <<<"$kernel")"
        [ "$h" = "$k" ] || { echo "boot step differs from the hosted run: '$k' vs '$h'"; return; }
    done
    h="$(sed -n 's/^  3\. .*(zones \(.*\))$/\1/p' <<<"$hosted")"; k="$(sed -n 's/^  3\. .*(zones \(.*\))$/\1/p' <<<"$kernel")"
    [ -n "$k" ] && [ "$h" = "$k" ] || { echo "zones differ from the hosted run: '$k' vs '$h'"; return; }
}

# The i386 kernel with layout=phantom: the checks above (with legacy paging the hosted boot
# steps too), the two device-pool tests passed (the local APIC's version register and the VGA
# text buffer through MapDevice), and the object space was set up on its RAM disk and its test
# (objects written, snapshot, resident pages dropped, read back) passed.
check_suite_i386_phantom() {
    local why
    why="$(check_suite_i386 "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    if ! grep -q '^boot: paging on (CR4.PAE' "$1"; then
        why="$(check_steps_i386 "$1")"
        [ -z "$why" ] || { echo "$why"; return; }
    fi
    grep -qE '^test i386 phantom: the local APIC.s version register through MapDevice in the device pool \.\.\. .*mapped at 0x[4-7][0-9a-f]{7}: version register 0x[0-9a-f]{8}$' "$1" \
        || { echo "no APIC version read through the device pool"; return; }
    grep -q '^test i386 phantom: the VGA text buffer written through MapDevice in the device pool \.\.\. ok$' "$1" || { echo "the VGA test did not pass"; return; }
    grep -q '^object space: 0x80000000-0xc0000000, .* persistent region on a RAM disk' "$1" || { echo "no object space set up"; return; }
    grep -q '^test i386 phantom: object space: objects written, snapshot, resident pages dropped, read back from the RAM disk \.\.\. ok$' "$1" \
        || { echo "the object-space test did not pass"; return; }
    grep -qE '^object space: 0x80000000-0xc0000000, 262144 pages, backed by a persistent region on a RAM disk of [0-9]+ pages .* room for [1-9][0-9]* saved pages' "$1" \
        || { echo "the object space does not span the window"; return; }
    grep -qE '^test i386 phantom: object space: a snapshot larger than the RAM disk is refused, the last one stays \.\.\.   ([0-9]+) changed pages for [0-9]+ left of [0-9]+: refused with NoSpace, the last snapshot intact$' "$1" \
        || { echo "the full object-space test did not pass"; return; }
}

# The suite as above on a CPU with 1 GiB pages: the direct map must use them.
check_suite_1g() {
    local why
    why="$(check_suite "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -qE '^0x[0-9a-f]{16}-0x[0-9a-f]{16} +[0-9]+[KMGT]  1G  ' "$1" || { echo "no 1 GiB pages in the ptdump"; return; }
}

# The smallest guest the kernel boots in (sharpmm qemu refuses less): the suite runs, the tests
# that need more RAM are skipped with their reason, none fails.
check_small_guest() {
    local line
    line="$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$1" | tail -n 1)"
    [ -n "$line" ] || { echo "no 'N passed, M failed, K skipped' line"; return; }
    grep -qE '^[0-9]+ passed, 0 failed, [1-9][0-9]* skipped$' <<<"$line" || { echo "in-kernel suite: $line"; return; }
    grep -qE '^test .* \.\.\. skipped: needs [0-9.]+ MiB of RAM, the guest has [0-9.]+ MiB$' "$1" || { echo "no skipped test names its reason"; return; }
}

# The suite as above with the heap in debug mode (debug=heap): announced at boot, a leak report
# and the deliberate double free of the heap tests recorded.
check_heap_debug() {
    local why
    why="$(check_suite "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -q '^kernel heap: debug mode (debug=heap)' "$1" || { echo "the heap did not start in debug mode"; return; }
    grep -qE '^leak report: [0-9]+ live allocations' "$1" || { echo "no leak report"; return; }
    grep -qE '^  double-free +[1-9]' "$1" || { echo "the heap tests' double free was not recorded"; return; }
}

# What the exception reports of architecture ARCH print (report_format ARCH): the instruction
# pointer's name, a register's width in hex digits, and the kernel stack guard page's address
# without its last three digits. The checks below read these, so one check serves both kernels.
report_format() {
    case $1 in
        x86_64) IP=RIP W=16 GUARD=0xfffffffffffbe ;;
        i386)   IP=EIP W=8  GUARD=0xffbbf ;;
    esac
}
hex() { printf "0x%0${W}x" "$1"; }

# The page-fault report for a read of address 0, and qemu.sh named the faulting method.
check_nullderef() {
    grep -qF "cpu exception: vector 14 #PF page fault, error=$(hex 0) [not-present read supervisor]" "$1" \
        || { echo "no #PF [not-present read] report"; return; }
    grep -qE "^ +$IP=0x[0-9a-f]{$W} CR2=$(hex 0) note: null pointer dereference$" "$1" \
        || { echo "#PF report does not name CR2=$(hex 0)"; return; }
    grep -qE "^qemu.sh: $IP 0x[0-9a-f]+ in [A-Za-z_]*DeliberateFaults__NullDereference" "$1" \
        || { echo "qemu.sh did not name the faulting method (addr2line)"; return; }
}

# i386: the report's backtrace, named by qemu.sh: the deliberate fault was called from Stage2.
check_nullderef_i386() {
    local why
    why="$(check_nullderef "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -qE '^backtrace: 0x[0-9a-f]{8}( 0x[0-9a-f]{8})*$' "$1" || { echo "no backtrace line in the report"; return; }
    # (Stage2 has two symbols at one address, its managed name and its export kmain_stage2;
    # addr2line names either, depending on the symbol table's order.)
    grep -qE '^qemu.sh:   called from 0x[0-9a-f]+ in ([A-Za-z_]*KernelMain__Stage2|kmain_stage2)$' "$1" \
        || { echo "qemu.sh did not name the caller (KernelMain.Stage2)"; return; }
}

# A deliberate stack overflow: #DF on its own stack, CR2 in the kernel stack's guard page.
check_stackoverflow() {
    grep -q '^cpu exception: vector 8 #DF double fault' "$1" || { echo "no #DF report"; return; }
    grep -qE "^ +$IP=0x[0-9a-f]{$W} CR2=$GUARD[0-9a-f]{3} note: kernel stack overflow \(guard page\)$" "$1" \
        || { echo "#DF report does not name the kernel stack guard page"; return; }
}

# One write to the kernel stack's guard page: a plain #PF, not present, write.
check_guardpage() {
    grep -qF "cpu exception: vector 14 #PF page fault, error=$(hex 2) [not-present write supervisor]" "$1" \
        || { echo "no #PF [not-present write] report"; return; }
    grep -qE "^ +$IP=0x[0-9a-f]{$W} CR2=$GUARD[0-9a-f]{3} note: kernel stack guard page$" "$1" \
        || { echo "#PF report does not name the kernel stack guard page"; return; }
}

# The address the kernel announced on its "test=NAME: ... at 0x..." line.
announced() {
    local a
    a="$(sed -n "s/^test=$2: .* at 0x\([0-9a-f]\{16\}\), expecting.*/\1/p" "$1" | head -n 1)"
    [ -n "$a" ] && hex "$((16#$a))"
}

# A #PF at the address the kernel announced for test NAME: check_announced_pf LOG NAME ERROR LINE
# where ERROR is the report's "error=... [...]" text and LINE the regex of the RIP/CR2/note line,
# with ADDR standing for the announced address.
check_announced_pf() {
    local addr
    addr="$(announced "$1" "$2")"
    [ -n "$addr" ] || { echo "no 'test=$2: ... at 0x...' line"; return; }
    grep -qF "cpu exception: vector 14 #PF page fault, error=$3" "$1" \
        || { echo "no #PF report with error=$3"; return; }
    grep -qE "${4//ADDR/$addr}" "$1" \
        || { echo "#PF report does not match ${4//ADDR/$addr}"; return; }
}

# A write to kernel text: #PF, protection violation on a write, CR2 = the announced address.
check_writetext() {
    check_announced_pf "$1" writetext "$(hex 3) [protection write supervisor]" \
        "^ +$IP=0x[0-9a-f]{$W} CR2=ADDR note: write to kernel text \\(read-only\\)\$"
}

# A call into .bss: #PF on the instruction fetch (NX), RIP = CR2 = the announced address.
check_execdata() {
    check_announced_pf "$1" execdata "$(hex 0x11) [protection fetch supervisor]" \
        "^ +$IP=ADDR CR2=ADDR note: instruction fetch from a no-execute page\$"
}

# A plain read outside every region of a loaded user space: the library's fault handler refuses
# it (no-region), no probe takes it, so it is reported, with the library's answer as the note.
check_userfault() {
    check_announced_pf "$1" userfault '0x0000000000000000 [not-present read supervisor]' \
        '^ +RIP=0x[0-9a-f]{16} CR2=ADDR note: user memory refused it: no-region$'
}

# The library's Panic.Fail through the kernel's hook.
check_panic() {
    grep -qx 'panic: test=panic: deliberate library panic (0x2a)' "$1" || { echo "no library panic line"; return; }
}

# Several CPUs (check_smp LOG N [SUITE REGISTER DIGITS]): the suite as above (or SUITE), every
# one of the N CPUs came online (a line from each AP naming its per-CPU area behind REGISTER, GS
# on x86-64 and FS on i386, and its stack, addresses of DIGITS hex digits; "smp: N of N CPUs
# online"), the SHARPMM-JSON line says "cpus":N, and the SMP tests ran (each CPU's own index,
# per-CPU area, stack and guard page; the IPI round trip; the timer; atomics from every CPU; the
# fast paths inline; drains asked during order-0 pairs; the storms; the shootdown).
check_smp() {
    local why n="$2" i suite="${3:-check_suite}" reg="${4:-GS}" w="${5:-16}"
    why="$($suite "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -qE "^acpi: RSDP at 0x[0-9a-f]{8}, MADT: $n processors \($n enabled" "$1" || { echo "the MADT did not list $n processors"; return; }
    for ((i = 1; i < n; i++)); do
        grep -qE "^smp: cpu $i online, APIC id [0-9]+, $reg area 0x[0-9a-f]{$w}, stack \[0x[0-9a-f]{$w}-0x[0-9a-f]{$w}\], guard page 0x[0-9a-f]{$w}$" "$1" \
            || { echo "cpu $i did not say it is online"; return; }
    done
    grep -qE "^smp: $n of $n CPUs online in [0-9]+ ms$" "$1" || { echo "no 'smp: $n of $n CPUs online' line"; return; }
    grep -qE '^SHARPMM-JSON .*"cpus":'"$n"'\}$' "$1" || { echo "the SHARPMM-JSON line does not say \"cpus\":$n"; return; }
    for name in 'the local APIC timer ticks on every CPU' 'every CPU online with its own index, per-CPU area, stack and guard page' \
                'Cpu.Kick of each CPU runs its request handler on that CPU' 'lock xadd from every CPU at once loses no increment' \
                'buddy storm on every CPU at once, frees on another CPU, then the validator' \
                'kmalloc storm on every CPU at once, frees on another CPU, then the validators' \
                'a page unmapped on cpu 0 faults when cpu 1 reads it \(TLB shootdown\)' \
                'on its kernel stack a CPU finds itself in line; page and kmalloc pairs there' \
                'page-cache drains asked of CPUs in the middle of their order-0 pairs, interrupts on: nothing lost'; do
        grep -qE "^test smp: $name \.\.\. " "$1" || { echo "the SMP test '$name' did not run"; return; }
    done
}
check_smp2() { check_smp "$1" 2; }
check_smp3() { check_smp "$1" 3; }
check_smp4() { check_smp "$1" 4; }
# i386: legacy paging on pc 2G (the ACPI tables above the direct map, HighMem) with the higher
# half's checks and user-memory suite; PAE on q35.
# Both: the kmap test ran on all N CPUs at once (each in its own slots, 64 KiB apart).
check_smp2_i386() { check_smp_i386 "$1" 2 check_suite_i386_highmem; }
check_smp3_i386_pae() { check_smp_i386 "$1" 3 check_suite_i386_pae_smp; }
check_smp_i386() {
    local why
    why="$(check_smp "$1" "$2" "$3" FS 8)"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -qE "^test i386: every CPU at once kmaps 16 frames of its own, .* \.\.\.   $2 CPUs at once, 32 rounds .* slots from 0xff001000 \(cpu 0\), 0xff011000 \(cpu 1\)" "$1" \
        || { echo "the kmap test did not run on $2 CPUs at once"; return; }
}

# The i386 kernel with `pae` on a guest without RAM above 4 GiB: the common checks, PAE paging
# from the boot stub on, the NX test, the user-memory suite.
check_suite_i386_pae_smp() {
    local why
    why="$(check_suite_i386 "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -q '^boot: paging on (CR4.PAE' "$1" || { echo "the boot stub did not turn on PAE"; return; }
    grep -q '^test i386 PAE: an NX page faults on execution, text is executable \.\.\. ok$' "$1" || { echo "the NX test did not pass"; return; }
    check_user_suite_i386 "$1"
}

# Three CPUs, the first AP sent no start-up IPI (test=apstartfail): reported after its timeout,
# the third CPU comes up as cpu 1 (the online CPUs stay numbered 0..N-1), "smp: 2 of 3 CPUs
# online ..., 1 did not start", "cpus":2. Then a deliberate overflow of CPU 1's stack
# (test=apstackoverflow): #DF on that CPU's IST stack, the note names the CPU.
check_apstackoverflow() {
    local ip="${2:-RIP}" w="${3:-16}"
    grep -qE '^smp: cpu 1 \(APIC id 1\) did not come up within [0-9]+ ms; going on without it$' "$1" || { echo "the CPU that got no SIPI was not reported"; return; }
    grep -qE '^smp: cpu 1 online, APIC id 2, ' "$1" || { echo "the next CPU did not come up as cpu 1"; return; }
    grep -qE '^smp: 2 of 3 CPUs online in [0-9]+ ms, 1 did not start$' "$1" || { echo "no 'smp: 2 of 3 CPUs online ..., 1 did not start' line"; return; }
    grep -qE '^SHARPMM-JSON .*"cpus":2\}$' "$1" || { echo "the SHARPMM-JSON line does not say \"cpus\":2"; return; }
    grep -q '^cpu exception: vector 8 #DF double fault' "$1" || { echo "no #DF report"; return; }
    grep -qE "^ +$ip=0x[0-9a-f]{$w} CR2=0x[0-9a-f]{$w} note: cpu 1 kernel stack overflow \(guard page\)$" "$1" \
        || { echo "#DF report does not name cpu 1's stack guard page"; return; }
    grep -qx '  on cpu 1 of 2' "$1" || { echo "the report does not say it was taken on cpu 1"; return; }
}
# i386: the same, the #DF taken by cpu 1's own double-fault task (EIP, 8 digits).
check_apstackoverflow_i386() { check_apstackoverflow "$1" EIP 8; }

# i386, two CPUs, test=kmapoverflow: cpu 1 holds all 16 of its kmap slots and asks for one more;
# the panic names cpu 1 (the slots are per CPU).
check_kmapoverflow_i386() {
    grep -qx 'test=kmapoverflow: cpu 1 kmaps one frame 17 times without ending a mapping, expecting a panic' "$1" \
        || { echo "no 'test=kmapoverflow: cpu 1 ...' line"; return; }
    grep -qx 'panic: kmap: every slot of this cpu taken (16 kmaps not ended: one missing, or too many at once); cpu (0x1)' "$1" \
        || { echo "no kmap panic naming cpu 1"; return; }
}

# i386: the panic's backtrace, named by qemu.sh (the kernel's hook, called from Stage2).
check_panic_i386() {
    local why
    why="$(check_panic "$1")"
    [ -z "$why" ] || { echo "$why"; return; }
    grep -qE '^qemu.sh:   called from 0x[0-9a-f]+ in [A-Za-z_]*KernelPanic__LibraryHook$' "$1" \
        || { echo "qemu.sh did not name the panic's callers"; return; }
    grep -qE '^qemu.sh:   called from 0x[0-9a-f]+ in ([A-Za-z_]*KernelMain__Stage2|kmain_stage2)$' "$1" \
        || { echo "qemu.sh did not name Stage2 in the panic's backtrace"; return; }
}

report_format x86_64
for machine in pc q35; do
    for mem in 32M 512M 3G 6G; do
        run "$machine-$mem" 33 check_suite -- --machine "$machine" --mem "$mem"
    done
done
run q35-6G-1G 33 check_suite_1g -- --machine q35 --mem 6G --cpu qemu64,+pdpe1gb
run pc-4M 33 check_small_guest -- --machine pc --mem 4M
run heap-debug 33 check_heap_debug -- --machine pc --mem 512M --append debug=heap
run nullderef 7 check_nullderef -- --machine pc --mem 512M --append test=nullderef
run stackoverflow 7 check_stackoverflow -- --machine pc --mem 512M --append test=stackoverflow
run guardpage 7 check_guardpage -- --machine pc --mem 512M --append test=guardpage
run writetext 7 check_writetext -- --machine pc --mem 512M --append test=writetext
run execdata 7 check_execdata -- --machine pc --mem 512M --append test=execdata
run userfault 7 check_userfault -- --machine pc --mem 512M --append test=userfault
run panic 3 check_panic -- --machine pc --mem 512M --append test=panic
run smp2-pc-512M 33 check_smp2 -- --machine pc --mem 512M --smp 2
run smp3-q35-512M 33 check_smp3 -- --machine q35 --mem 512M --smp 3
run smp4-pc-3G 33 check_smp4 -- --machine pc --mem 3G --smp 4
run apstartfail-overflow 7 check_apstackoverflow -- --machine pc --mem 512M --smp 3 --append "test=apstartfail test=apstackoverflow"
# Programs in ring 3 (kernel/tests/run/*.c, built static with musl-gcc, package musl-tools):
# run_program NAME EXPECTED_EXIT CHECK -- qemu.sh run args... runs `qemu.sh --run` with the
# program's stdout, stderr and the kernel log in NAME.out, NAME.err and NAME.log; the status must
# be the program's, and CHECK gets the three files.
RUN_BIN="$KERNEL_DIR/build/run"
run_program() {
    local name="$1" expected="$2" check="$3"
    shift 4
    local base="$LOG_DIR/$name" start end status why=""
    start=$(date +%s%N)
    "$KERNEL_DIR/qemu.sh" --no-build --timeout "$TIMEOUT" --log "$base.log" "$@" >"$base.out" 2>"$base.err"
    status=$?
    end=$(date +%s%N)
    if [ "$status" != "$expected" ]; then
        why="exit status $status, expected $expected"
    else
        why="$($check "$base")"
    fi
    [ -z "$why" ] && why="$(check_run_report "$base.log")"
    local ms=$(( (end - start) / 1000000 ))
    if [ -z "$why" ]; then
        passed=$((passed + 1))
        printf 'config %-14s ... ok (%d ms)\n' "$name" "$ms"
    else
        failed=$((failed + 1))
        printf 'config %-14s ... FAILED: %s (log: %s)\n' "$name" "$why" "${base#$KERNEL_DIR/../}.log"
    fi
}

# Every run ends with the kernel's SHARPMM-RUN line, every frame back.
check_run_report() {
    grep -qE '^SHARPMM-RUN \{"exit_status":[0-9]+,.*"frames_back":true\}$' "$1" \
        || echo "no SHARPMM-RUN line with frames_back true"
}

# The program's stdout and stderr equal a native run's of the same binary, byte for byte.
check_native() {
    local name
    name="$(basename "$1")"
    cmp -s "$1.out" "$LOG_DIR/$name.native.out" || { echo "stdout differs from the native run ($name.native.out)"; return; }
    cmp -s "$1.err" "$LOG_DIR/$name.native.err" || { echo "stderr differs from the native run ($name.native.err)"; return; }
}

# Killed by SIGSEGV for its NULL write: the kernel log names the process, the address and why.
check_run_nullderef() {
    check_native "$1"
    grep -qE '^user: pid 1 killed by SIGSEGV at 0x0000000000000000 \(rip 0x[0-9a-f]{16}\): page fault: no-region$' "$1.log" \
        || echo "no kill report for the NULL write"
    grep -q '^SHARPMM-RUN .*"no-region":1,' "$1.log" || echo "the fatal fault is not counted as no-region in SHARPMM-RUN"
}

# More memory than the guest has: output as native, and pages went out to the store and came back.
check_run_pageout() {
    check_native "$1"
    grep -qE '^SHARPMM-RUN .*"pages_in":[1-9][0-9]*,"pages_out":[1-9]' "$1.log" \
        || echo "no pages in and out in SHARPMM-RUN: the backing store was not used"
}

# native NAME ARGS...: the program's own run on this machine, for check_native.
native() {
    local name="$1"
    shift
    "$RUN_BIN/$name" "$@" >"$LOG_DIR/$name.native.out" 2>"$LOG_DIR/$name.native.err"
}

report_format x86_64
if command -v musl-gcc >/dev/null; then
    mkdir -p "$RUN_BIN"
    built=1
    for src in "$KERNEL_DIR"/tests/run/*.c; do
        musl-gcc -static -O2 -o "$RUN_BIN/$(basename "${src%.c}")" "$src" || built=0
    done
    if [ "$built" = 1 ]; then
        native hello 'two words' '"quoted"' "it's" '' '--mem' 'x,,y'
        run_program hello 0 check_native -- --run "$RUN_BIN/hello" 'two words' '"quoted"' "it's" '' '--mem' 'x,,y'
        native exit3
        run_program exit3 3 check_native -- --run "$RUN_BIN/exit3"
        native nullderef
        run_program nullderef 139 check_run_nullderef -- --run "$RUN_BIN/nullderef"
        native forkwait
        run_program forkwait 0 check_native -- --run "$RUN_BIN/forkwait"
        native pageout
        run_program pageout 0 check_run_pageout -- --mem 64M --run "$RUN_BIN/pageout"
        native filemap "$KERNEL_DIR/tests/run/filemap.txt"
        run_program filemap 0 check_native -- --file "$KERNEL_DIR/tests/run/filemap.txt:/data/filemap.txt" --run "$RUN_BIN/filemap" /data/filemap.txt
        # A file that is not a static ELF64 program: the run never starts, qemu.sh exits with 125
        # and names the kernel's reason on stderr.
        "$KERNEL_DIR/qemu.sh" --no-build --timeout "$TIMEOUT" --log "$LOG_DIR/notelf.log" \
            --run "$KERNEL_DIR/tests/run/filemap.txt" >"$LOG_DIR/notelf.out" 2>"$LOG_DIR/notelf.err"
        status=$?
        if [ "$status" = 125 ] && grep -q 'did not finish the run (QEMU status 3): run: the program is not a loadable static ELF64 x86-64 executable: not an ELF file' "$LOG_DIR/notelf.err"; then
            passed=$((passed + 1)); printf 'config %-14s ... ok\n' notelf
        else
            failed=$((failed + 1)); printf 'config %-14s ... FAILED: status %s, stderr: %s\n' notelf "$status" "$(tr '\n' ' ' <"$LOG_DIR/notelf.err")"
        fi
    else
        failed=$((failed + 1))
        echo "config run-programs  ... FAILED: musl-gcc could not build kernel/tests/run/*.c"
    fi
else
    failed=$((failed + 1))
    echo "config run-programs  ... FAILED: musl-gcc not found (apt-get install musl-tools)"
fi

report_format i386
for mem in 32M 512M; do
    run "i386-pc-$mem" 33 check_suite_i386_user -- --arch i386 --machine pc --mem "$mem"
done
for mem in 2G 3G; do
    run "i386-pc-$mem" 33 check_suite_i386_highmem -- --arch i386 --machine pc --mem "$mem"
done
run i386-pae-q35-6G 33 check_suite_i386_pae_user -- --arch i386 --machine q35 --mem 6G --cpu max --append pae
run i386-q35-6G 33 check_suite_i386_beyond_4g -- --arch i386 --machine q35 --mem 6G
i386_layout low-2g
run i386-low-2g-pc-2G 33 check_suite_i386_highmem -- --arch i386 --machine pc --mem 2G --append layout=low-2g
run i386-low-2g-pae-q35-6G 33 check_suite_i386_pae_user -- --arch i386 --machine q35 --mem 6G --cpu max --append "layout=low-2g pae"
i386_layout phantom
run i386-phantom-pc-2G 33 check_suite_i386_phantom -- --arch i386 --machine pc --mem 2G --append layout=phantom
run i386-phantom-pae-q35-512M 33 check_suite_i386_phantom -- --arch i386 --machine q35 --mem 512M --cpu max --append "layout=phantom pae"
i386_layout higher-half
run i386-nullderef 7 check_nullderef_i386 -- --arch i386 --machine pc --mem 32M --append test=nullderef
run i386-stackoverflow 7 check_stackoverflow -- --arch i386 --machine pc --mem 32M --append test=stackoverflow
run i386-guardpage 7 check_guardpage -- --arch i386 --machine pc --mem 32M --append test=guardpage
run i386-writetext 7 check_writetext -- --arch i386 --machine pc --mem 32M --append test=writetext
run i386-panic 3 check_panic_i386 -- --arch i386 --machine pc --mem 32M --append test=panic
run i386-pae-execdata 7 check_execdata -- --arch i386 --machine q35 --mem 512M --cpu max --append "pae test=execdata"
# Several CPUs (every other i386 boot runs on one).
run i386-smp2-pc-2G 33 check_smp2_i386 -- --arch i386 --machine pc --mem 2G --smp 2
run i386-smp3-pae-q35-512M 33 check_smp3_i386_pae -- --arch i386 --machine q35 --mem 512M --cpu max --smp 3 --append pae
run i386-apstartfail-overflow 7 check_apstackoverflow_i386 -- --arch i386 --machine pc --mem 512M --smp 3 --append "test=apstartfail test=apstackoverflow"
run i386-kmapoverflow 3 check_kmapoverflow_i386 -- --arch i386 --machine pc --mem 32M --smp 2 --append test=kmapoverflow

# Programs in ring 3 on the i386 kernel: the same sources built with gcc -m32 -static (glibc;
# gcc-multilib), compared with a native run as under `setarch i386 -3 -L -R` (the 3G/1G split's
# user space and the classic bottom-up mmap layout; tests/linux/i386-native, which boots Debian's
# Linux in QEMU for it where this machine's kernel cannot run i386 programs). No pageout: this kernel has no backing store.
# forkwait also runs on a 2 GiB guest (user pages from HighMem, through kmap), on low-2g and
# with PAE; an ELF64 program is refused with the kernel's reason.
RUN_BIN_I386="$KERNEL_DIR/build/run-i386"
native_i386() {
    local name="$1" program="$2"
    shift 2
    "$KERNEL_DIR/../tests/linux/i386-native" "$RUN_BIN_I386/$program" "$@" >"$LOG_DIR/$name.native.out" 2>"$LOG_DIR/$name.native.err"
}
mkdir -p "$RUN_BIN_I386"
built=1
for src in "$KERNEL_DIR"/tests/run/*.c; do
    gcc -m32 -static -O2 -o "$RUN_BIN_I386/$(basename "${src%.c}")" "$src" 2>/dev/null || built=0
done
gcc -m32 -static-pie -O2 -o "$RUN_BIN_I386/hello-pie" "$KERNEL_DIR/tests/run/hello.c" 2>/dev/null || built=0
if [ "$built" = 1 ] && command -v setarch >/dev/null; then
    native_i386 i386-run-hello hello 'two words' '"quoted"' "it's" '' '--mem' 'x,,y'
    run_program i386-run-hello 0 check_native -- --arch i386 --run "$RUN_BIN_I386/hello" 'two words' '"quoted"' "it's" '' '--mem' 'x,,y'
    native_i386 i386-run-hello-pie hello-pie static PIE
    run_program i386-run-hello-pie 0 check_native -- --arch i386 --run "$RUN_BIN_I386/hello-pie" static PIE
    native_i386 i386-run-exit3 exit3
    run_program i386-run-exit3 3 check_native -- --arch i386 --run "$RUN_BIN_I386/exit3"
    native_i386 i386-run-nullderef nullderef
    run_program i386-run-nullderef 139 check_run_nullderef -- --arch i386 --run "$RUN_BIN_I386/nullderef"
    native_i386 i386-run-forkwait forkwait
    run_program i386-run-forkwait 0 check_native -- --arch i386 --run "$RUN_BIN_I386/forkwait"
    native_i386 i386-run-filemap filemap "$KERNEL_DIR/tests/run/filemap.txt"
    run_program i386-run-filemap 0 check_native -- --arch i386 --file "$KERNEL_DIR/tests/run/filemap.txt:/data/filemap.txt" --run "$RUN_BIN_I386/filemap" /data/filemap.txt
    for variant in "highmem-2G|--mem 2G" "low-2g|--mem 2G --append layout=low-2g" "pae|--machine q35 --mem 512M --append pae"; do
        IFS='|' read -r tag options <<<"$variant"
        cp "$LOG_DIR/i386-run-forkwait.native.out" "$LOG_DIR/i386-run-forkwait-$tag.native.out"
        cp "$LOG_DIR/i386-run-forkwait.native.err" "$LOG_DIR/i386-run-forkwait-$tag.native.err"
        read -r -a opts <<<"$options"
        run_program "i386-run-forkwait-$tag" 0 check_native -- --arch i386 "${opts[@]}" --run "$RUN_BIN_I386/forkwait"
    done
    # An ELF64 program on the i386 kernel: the run never starts, with the kernel's reason.
    if [ -x "$RUN_BIN/hello" ]; then
        "$KERNEL_DIR/qemu.sh" --no-build --arch i386 --timeout "$TIMEOUT" --log "$LOG_DIR/i386-run-elf64.log" \
            --run "$RUN_BIN/hello" >"$LOG_DIR/i386-run-elf64.out" 2>"$LOG_DIR/i386-run-elf64.err"
        status=$?
        if [ "$status" = 125 ] && grep -q 'run: the program is not a loadable static ELF32 i386 executable: ELF64 (this kernel runs ELF32 i386 programs)' "$LOG_DIR/i386-run-elf64.err"; then
            passed=$((passed + 1)); printf 'config %-14s ... ok\n' i386-run-elf64
        else
            failed=$((failed + 1)); printf 'config %-14s ... FAILED: status %s, stderr: %s\n' i386-run-elf64 "$status" "$(tr '\n' ' ' <"$LOG_DIR/i386-run-elf64.err")"
        fi
    fi
else
    failed=$((failed + 1))
    echo "config i386-run-programs ... FAILED: gcc -m32 -static could not build kernel/tests/run/*.c (apt-get install gcc-multilib), or no setarch"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
