using System.Runtime;
using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>
/// The CPU's side of ring 3: the GDT's user segments (boot.S), the `syscall` MSRs, the per-CPU
/// area behind GS, the TSS's RSP0, the user's FS base, and SMEP/SMAP.
/// <code>
///   GDT   0x08 kernel code   0x10 kernel data   0x18 user data (0x1b)   0x20 user code (0x23)   0x28 TSS
///   STAR  [47:32] = 0x08: syscall loads CS 0x08, SS 0x10
///         [63:48] = 0x10: sysretq loads SS 0x10+8 = 0x18|3, CS 0x10+16 = 0x20|3
///   LSTAR syscall_entry (syscall.S)        SFMASK IF DF TF AC NT IOPL cleared on entry
///   GS    ring 0: GS base = the per-CPU area, KERNEL_GS_BASE = the user's (0); swapgs on every
///         way in from ring 3 and out to it exchanges them
///   TSS   RSP0 = the running process's kernel stack top (a trap from ring 3 lands there)
/// </code>
/// User code runs with RFLAGS.IF clear: the kernel programs no interrupt controller, and the
/// BIOS's PIC would deliver the timer on vector 8 (#DF). A program therefore runs until it makes
/// a system call or faults; nothing preempts it.
///
/// SMAP: the kernel never touches user memory through user addresses (system calls copy with
/// the library's UserCopy, which resolves each page in the process's tables and copies through
/// the direct map), so it needs no stac/clac; SMAP and SMEP are there to catch a kernel bug that
/// does.
/// </summary>
internal static unsafe class UserMode
{
    public const ushort UserCodeSelector = 0x23;
    public const ushort UserDataSelector = 0x1b;

    /// <summary>Bytes of a user word (long, pointer, size_t): the system calls' structures.</summary>
    public static int WordBytes => 8;
    /// <summary>uname's machine.</summary>
    public const string MachineName = "x86_64";
    /// <summary>How a program enters the kernel (the run's log line).</summary>
    public const string EntryName = "syscall/sysret";
    /// <summary>The programs this kernel runs are ELF64.</summary>
    public static bool Elf64 => true;

    private const uint MsrStar = 0xC0000081, MsrLstar = 0xC0000082, MsrSfmask = 0xC0000084;
    private const uint MsrFsBase = 0xC0000100, MsrGsBase = 0xC0000101, MsrKernelGsBase = 0xC0000102;
    private const ulong EferSce = 1;
    private const ulong FlagsClearedOnSyscall = 0x47700; // AC, NT, IOPL, DF, IF, TF
    private const ulong Cr4Smep = 1UL << 20, Cr4Smap = 1UL << 21;
    private const int TssRsp0Offset = 4;

    private static bool s_ready;

    /// <summary>The CPU has SMEP / SMAP (CPUID leaf 7), and they are on.</summary>
    public static bool Smep { get; private set; }
    public static bool Smap { get; private set; }

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_syscall_entry_addr")] private static extern ulong SyscallEntry();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_percpu")] private static extern PerCpu* PerCpuArea();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_tss")] private static extern byte* Tss();

    /// <summary>Loads every register from <paramref name="frame"/> and returns to ring 3 (iretq).</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_enter_user")] public static extern void EnterUser(InterruptFrame* frame);

    /// <summary>Moves to <paramref name="top"/> and calls <paramref name="fn"/> there; never returns.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_run_on_scheduler_stack")] public static extern void RunOnStack(ulong top, delegate*<void> fn);

    /// <summary>setjmp/longjmp over 8 words (syscall.S): 0 when saved, 1 when resumed.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_save_context")] public static extern int SaveContext(ulong* context);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_restore_context")] public static extern void RestoreContext(ulong* context);

    /// <summary>The per-CPU area of this CPU.</summary>
    public static PerCpu* Cpu => PerCpuArea();

    /// <summary>Programs the syscall MSRs and GS, and turns SMEP/SMAP on when the CPU has them and
    /// <paramref name="protect"/> says so (the in-kernel user-memory tests touch user pages from
    /// ring 0 on purpose, so the test suite leaves SMAP off). Idempotent.</summary>
    public static void Init(bool protect)
    {
        if (!s_ready)
        {
            PerCpu* cpu = PerCpuArea();
            cpu->Self = (ulong)cpu;
            Arch.WriteMsr(MsrGsBase, (ulong)cpu);
            Arch.WriteMsr(MsrKernelGsBase, 0);
            Arch.WriteMsr(MsrStar, (0x10UL << 48) | (0x08UL << 32));
            Arch.WriteMsr(MsrLstar, SyscallEntry());
            Arch.WriteMsr(MsrSfmask, FlagsClearedOnSyscall);
            Arch.WriteMsr(Arch.MsrEfer, Arch.ReadMsr(Arch.MsrEfer) | EferSce);
            s_ready = true;
        }
        if (!protect) return;
        uint* r = stackalloc uint[4];
        Arch.CpuId(0, 0, r);
        if (r[0] < 7) return;
        Arch.CpuId(7, 0, r);
        ulong cr4 = Arch.ReadCr4();
        if ((r[1] & (1u << 7)) != 0) { cr4 |= Cr4Smep; Smep = true; }
        if ((r[1] & (1u << 20)) != 0) { cr4 |= Cr4Smap; Smap = true; }
        Arch.WriteCr4(cr4);
    }

    /// <summary>Turns SMEP and SMAP off again (after the in-kernel ring-3 tests).</summary>
    public static void DisableProtection()
    {
        Arch.WriteCr4(Arch.ReadCr4() & ~(Cr4Smep | Cr4Smap));
        Smep = Smap = false;
    }

    /// <summary>The stack a trap or system call from ring 3 lands on: TSS.RSP0 and the per-CPU copy.</summary>
    public static void SetKernelStack(ulong top)
    {
        *(ulong*)(Tss() + TssRsp0Offset) = top;
        PerCpuArea()->KernelStackTop = top;
    }

    /// <summary>The user's thread pointer: the FS base (musl and glibc keep TLS behind it).</summary>
    public static ulong ThreadPointer
    {
        get => Arch.ReadMsr(MsrFsBase);
        set => Arch.WriteMsr(MsrFsBase, value);
    }

    /// <summary>True for an address in the lower canonical half (bits 63..47 clear).</summary>
    public static bool IsLowerCanonical(ulong va) => va < 0x0000_8000_0000_0000UL;

    /// <summary>True when sysret may return to <paramref name="ip"/> (canonical).</summary>
    public static bool CanReturnTo(ulong ip) => IsLowerCanonical(ip);
}
