#!/usr/bin/env bash
# Boots the kernel under QEMU (TCG) and streams its serial output.
#
#   kernel/qemu.sh [--arch x86_64|i386] [--mem SIZE] [--machine pc|q35] [--cpu MODEL] [--smp N]
#                  [--append CMDLINE] [--log FILE] [--timeout SECONDS] [--no-build]
#
# --arch picks the kernel and the emulator: x86_64 (default, qemu-system-x86_64 loading
# build/x86_64/sharpmm.bin) or i386 (qemu-system-i386 loading build/i386/sharpmm.elf, or
# build/i386/sharpmm-low-2g.elf, linked at 0x80000000, when --append has layout=low-2g).
# --cpu passes a CPU model to QEMU (default: QEMU's, qemu64 or qemu32; qemu64 has no 1 GiB
# pages, "qemu64,+pdpe1gb" adds them). --smp N gives the guest N CPUs (1 to 16; the
# kernel starts them all, the i386 kernel at most 15).
#
# Run mode: kernel/qemu.sh [--arch x86_64|i386] [--mem SIZE] [--file HOST[:GUEST] ...] [--log PATH] --run PROGRAM [ARG...]
# boots the kernel with `run=1` and the program (a static ELF64 x86-64 executable, or ELF32 i386
# with --arch i386) as Multiboot modules (a manifest with argv and
# the files' guest paths, NUL-separated so every byte survives; the program; the files, each
# readable in the program at GUEST, by default "/" and its name). Everything after PROGRAM is
# argv verbatim (argv[0] is PROGRAM as given). The program's stdout and stderr (COM2, COM3)
# become this script's stdout and stderr byte for byte once QEMU has exited; the kernel log
# (COM1) goes to PATH (then stderr is the program's alone), or to a temporary file whose path is
# printed on stderr at the end. The exit status is the program's (128 + signal when it was
# killed), read from the kernel's SHARPMM-RUN line; 125 when the kernel did not finish the run (no such line: the log says why).
#
# When the kernel reports an exception (status 7) or panics (3), the faulting RIP/EIP and the
# report's backtrace (i386) are named on stderr with addr2line: "qemu.sh: EIP 0x... in FUNCTION",
# then "qemu.sh:   called from 0x... in FUNCTION" (file:line too where the image has DWARF).
#
# Builds first unless the image is newer than every source (or --no-build).
# Exit status: 0 when QEMU exits with 33 (the kernel wrote 0x10 to isa-debug-exit: all tests
# passed); otherwise QEMU's status (3 panic, 5 tests failed, 7 CPU exception, 9 boot failure;
# see src/ExitCode.cs), 124 on timeout, 1 for a usage or build error, and 1 when QEMU itself
# exits with 0: with -no-reboot that is what a triple fault looks like.
set -euo pipefail
KERNEL_DIR="$(cd "$(dirname "$0")" && pwd)"

ARCH=x86_64
MEM=512M
MACHINE=pc
CPU=""
SMP=1
APPEND=""
LOG=""
TIMEOUT=60
BUILD=1
RUN=""
FILES=()
RUN_ARGV=()
while [ $# -gt 0 ]; do
    case "$1" in
        --run) [ $# -ge 2 ] || { echo "qemu.sh: --run needs a PROGRAM" >&2; exit 1; }
               RUN="$2"; shift; RUN_ARGV=("$@"); RUN_ARGV[0]="$RUN"; break ;;
        --file) FILES+=("$2"); shift 2 ;;
        --arch) ARCH="$2"; shift 2 ;;
        --mem) MEM="$2"; shift 2 ;;
        --machine) MACHINE="$2"; shift 2 ;;
        --cpu) CPU="$2"; shift 2 ;;
        --smp) SMP="$2"; shift 2 ;;
        --append) APPEND="$2"; shift 2 ;;
        --log) LOG="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        *) echo "qemu.sh: unknown argument $1" >&2; exit 1 ;;
    esac
done
case "$MACHINE" in pc|q35) ;; *) echo "qemu.sh: --machine must be pc or q35" >&2; exit 1 ;; esac
case "$SMP" in
    [1-9]|1[0-6]) ;;
    *) echo "qemu.sh: --smp must be a number of CPUs from 1 to 16, not '$SMP'" >&2; exit 1 ;;
esac
case "$ARCH" in
    x86_64) QEMU=qemu-system-x86_64; IMAGE="$KERNEL_DIR/build/x86_64/sharpmm.bin" ;;
    i386)   QEMU=qemu-system-i386; IMAGE="$KERNEL_DIR/build/i386/sharpmm.elf" ;;
    *) echo "qemu.sh: --arch must be x86_64 or i386" >&2; exit 1 ;;
esac

if ! command -v "$QEMU" >/dev/null; then
    echo "qemu.sh: installing qemu-system-x86 (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-x86 >&2
fi

if [ "$BUILD" = 1 ]; then
    newest_src="$(find "$KERNEL_DIR/corelib" "$KERNEL_DIR/src" "$KERNEL_DIR/tests" "$KERNEL_DIR/arch/$ARCH" "$KERNEL_DIR/../src/SharpMM" \
        "$KERNEL_DIR/build.sh" "$KERNEL_DIR/tools.sh" "$KERNEL_DIR/tools" -type f -newer "$IMAGE" 2>/dev/null | head -n 1 || true)"
    if [ ! -f "$IMAGE" ] || [ -n "$newest_src" ]; then
        # The build takes a minute or more: say so on a terminal (pipes and logs stay quiet).
        [ -t 2 ] && echo "qemu.sh: building the $ARCH kernel (kernel/build.sh)..." >&2
        "$KERNEL_DIR/build.sh" --arch "$ARCH" --quiet || { echo "qemu.sh: build failed" >&2; exit 1; }
    fi
fi
# layout=low-2g on the command line: the image linked at 0x80000000 (build.sh links both).
if [ "$ARCH" = i386 ] && [[ " $APPEND " == *" layout=low-2g "* ]]; then
    IMAGE="$KERNEL_DIR/build/i386/sharpmm-low-2g.elf"
elif [ "$ARCH" = i386 ] && [[ " $APPEND " == *" layout=phantom "* ]]; then
    IMAGE="$KERNEL_DIR/build/i386/sharpmm-phantom.elf"
fi
[ -f "$IMAGE" ] || { echo "qemu.sh: $IMAGE missing (run kernel/build.sh --arch $ARCH)" >&2; exit 1; }

args=(-machine "$MACHINE" -m "$MEM" -kernel "$IMAGE"
      -display none -no-reboot -monitor none
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
[ "$SMP" = 1 ] || args+=(-smp "$SMP")
[ -n "$APPEND" ] && [ -z "$RUN" ] && args+=(-append "$APPEND")

if [ -n "$RUN" ]; then
    [ -f "$RUN" ] || { echo "qemu.sh: --run: $RUN: no such file" >&2; exit 1; }
    RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/sharpmm-run.XXXXXX")"
    trap 'rm -rf "$RUN_DIR"' EXIT
    # Modules by plain names in RUN_DIR: no comma or space of a host path reaches -initrd.
    cp "$RUN" "$RUN_DIR/program"
    guests=()
    i=0
    for spec in "${FILES[@]}"; do
        host="${spec%%:*}"
        if [ "$host" = "$spec" ]; then guest="/$(basename "$host")"; else guest="${spec#*:}"; fi
        [ -f "$host" ] || { echo "qemu.sh: --file: $host: no such file" >&2; exit 1; }
        [ -n "$guest" ] || { echo "qemu.sh: --file $spec: empty guest path" >&2; exit 1; }
        case "$guest" in /*) ;; *) guest="/$guest" ;; esac
        cp "$host" "$RUN_DIR/file$i"
        guests+=("$guest")
        i=$((i + 1))
    done
    {
        printf 'sharpmm-run\0%d\0' "${#RUN_ARGV[@]}"
        printf '%s\0' "${RUN_ARGV[@]}"
        printf '%d\0' "${#guests[@]}"
        [ "${#guests[@]}" -gt 0 ] && printf '%s\0' "${guests[@]}"
    } > "$RUN_DIR/manifest"
    initrd="$RUN_DIR/manifest,$RUN_DIR/program"
    for ((k = 0; k < i; k++)); do initrd+=",$RUN_DIR/file$k"; done
    LOG_NAMED=1
    [ -n "$LOG" ] || { LOG="$(mktemp "${TMPDIR:-/tmp}/sharpmm-run-log.XXXXXX")"; LOG_NAMED=0; }
    mkdir -p "$(dirname "$LOG")"
    [ -n "$CPU" ] || CPU=max
    # The backing store (x86-64): host memory outside the guest's RAM, as a PCI device (ivshmem)
    # the kernel uses as a RAM disk of page slots; four times the guest's RAM (host pages are only
    # taken when written). The i386 kernel has none (its BAR lies above 4 GiB: arch/i386/SwapDevice.cs).
    if [ "$ARCH" = x86_64 ]; then
        mem_mib="${MEM%[MmGg]}"
        case "$MEM" in *[Gg]) mem_mib=$((mem_mib * 1024)) ;; esac
        swap_mib=1
        while [ "$swap_mib" -lt $((mem_mib * 4)) ]; do swap_mib=$((swap_mib * 2)); done
        args+=(-object "memory-backend-ram,id=sharpmm-swap,size=${swap_mib}M" -device "ivshmem-plain,memdev=sharpmm-swap")
    fi
    args+=(-cpu "$CPU" -append "run=1 $APPEND" -initrd "$initrd"
           -serial "file:$LOG" -serial "file:$RUN_DIR/stdout" -serial "file:$RUN_DIR/stderr")
    set +e
    timeout --foreground "$TIMEOUT" "$QEMU" "${args[@]}" </dev/null
    status=$?
    set -e
    cat "$RUN_DIR/stdout"
    cat "$RUN_DIR/stderr" >&2
    result="$(grep -a '^SHARPMM-RUN ' "$LOG" | tail -n 1 || true)"
    # Named with --log, the path is the caller's own: stderr stays the program's alone.
    [ "$LOG_NAMED" = 1 ] || echo "qemu.sh: kernel log: $LOG" >&2
    if [ "$status" = 33 ] && [ -n "$result" ]; then
        code="$(printf '%s' "$result" | sed -n 's/.*"exit_status":\([0-9]*\).*/\1/p')"
        exit "${code:-125}"
    fi
    if [ "$status" = 124 ]; then echo "qemu.sh: timed out after ${TIMEOUT}s" >&2
    else
        # A run that could not start says why on the last `run: ...` line before its panic.
        why="$(awk '{sub(/\r$/, "")} /^run: /{last=$0} /^panic: /{if (last != "") print last; exit}' "$LOG" || true)"
        echo "qemu.sh: the kernel did not finish the run (QEMU status $status): ${why:-the log says why}" >&2
    fi
    exit 125
fi

args+=(-serial stdio)
[ -n "$CPU" ] && args+=(-cpu "$CPU")

# The serial output is kept (in --log FILE, or a temporary file) so that a report can be symbolised.
SERIAL="$LOG"
if [ -z "$SERIAL" ]; then
    SERIAL="$(mktemp "${TMPDIR:-/tmp}/sharpmm-serial.XXXXXX")"
    trap 'rm -f "$SERIAL"' EXIT
else
    mkdir -p "$(dirname "$SERIAL")"
fi
set +e
timeout --foreground "$TIMEOUT" "$QEMU" "${args[@]}" </dev/null | tee "$SERIAL"
status=${PIPESTATUS[0]}
set -e

# An exception report or a panic: the faulting RIP/EIP and the backtrace's return addresses
# (i386) named with addr2line from the image's symbols (function, and file:line where the image
# has DWARF: x86-64). A return address is looked up one byte back, inside its call.
where() { case "$2" in '??:'*) echo "$1" ;; *) echo "$1 ($2)" ;; esac; }
symbolise() {
    local elf="$1" ip addrs=() a names
    command -v addr2line >/dev/null && [ -f "$elf" ] || return 0
    ip="$(grep -aoE '^ +[RE]IP=0x[0-9a-f]+' "$SERIAL" | tail -n 1 | sed 's/.*=//' || true)"
    [ -n "$ip" ] && addrs+=("$ip")
    for a in $(grep -a '^backtrace: ' "$SERIAL" | tail -n 1 | sed 's/^backtrace: //' || true); do
        addrs+=("$(printf '0x%x' $((a - 1)))")
    done
    [ "${#addrs[@]}" -gt 0 ] || return 0
    mapfile -t names < <(addr2line -f -e "$elf" "${addrs[@]}" 2>/dev/null || true)
    local i=0 label=RIP
    [ "$ARCH" = i386 ] && label=EIP
    [ -n "$ip" ] && { echo "qemu.sh: $label $ip in $(where "${names[0]:-??}" "${names[1]:-??}")" >&2; i=1; }
    for ((; i < ${#addrs[@]}; i++)); do
        echo "qemu.sh:   called from ${addrs[$i]} in $(where "${names[$((2 * i))]:-??}" "${names[$((2 * i + 1))]:-??}")" >&2
    done
}
if [ "$status" = 7 ] || [ "$status" = 3 ]; then
    case "$ARCH" in x86_64) symbolise "$KERNEL_DIR/build/x86_64/sharpmm.elf" ;; i386) symbolise "$IMAGE" ;; esac
fi

if [ "$status" = 33 ]; then exit 0; fi
if [ "$status" = 124 ]; then echo "qemu.sh: timed out after ${TIMEOUT}s" >&2; exit 124; fi
if [ "$status" = 0 ]; then echo "qemu.sh: QEMU exited with 0 (triple fault or shutdown, not the exit device)" >&2; exit 1; fi
echo "qemu.sh: QEMU exited with status $status" >&2
exit "$status"
