using System.Runtime;
using System.Runtime.CompilerServices;

namespace SharpMM.Kernel;

/// <summary>
/// The CPU's side of ring 3 on i386: the GDT's user segments and TLS entry (boot.S), the
/// `int 0x80` gate (isr.S), the TSS's ESP0, and SMEP/SMAP.
/// <code>
///   GDT   0x08 kernel code  0x10 kernel data  0x18 TSS  0x20 #DF TSS  0x28 user code (0x2b)
///         0x30 user data (0x33)  0x38 TLS (0x3b): the running process's set_thread_area descriptor
///   IDT   0x80: interrupt gate, DPL 3 (int 0x80 from ring 3), to syscall_entry (isr.S)
///   TSS   SS0 = 0x10, ESP0 = the running process's kernel stack top (a trap from ring 3 lands there)
/// </code>
/// Every way in from ring 3 saves DS, ES, FS, GS in the frame and loads the kernel's data
/// segment; the way out pops them, which also reloads GS's hidden descriptor from the GDT, so a
/// TLS entry written since (set_thread_area, a process switch) takes effect on the way out.
/// User code runs with EFLAGS.IF clear, as on x86-64 (no interrupt controller is programmed): a
/// program runs until it makes a system call or faults.
/// </summary>
internal static unsafe class UserMode
{
    public const ushort UserCodeSelector = 0x2B;
    public const ushort UserDataSelector = 0x33;

    /// <summary>Bytes of a user word (long, pointer, size_t): the system calls' structures.</summary>
    public static int WordBytes => 4;
    /// <summary>uname's machine (a 32-bit Linux kernel on a P6 or later).</summary>
    public const string MachineName = "i686";
    /// <summary>How a program enters the kernel (the run's log line).</summary>
    public const string EntryName = "int 0x80/iret";
    /// <summary>The programs this kernel runs are ELF32.</summary>
    public static bool Elf64 => false;

    private const uint Cr4Smep = 1u << 20, Cr4Smap = 1u << 21;
    private const int TssEsp0Offset = 4, TssSs0Offset = 8;
    private const ushort KernelDataSelector = 0x10;

    /// <summary>The CPU has SMEP / SMAP (CPUID leaf 7), and they are on.</summary>
    public static bool Smep { get; private set; }
    public static bool Smap { get; private set; }

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_tss")] private static extern byte* Tss();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_gdt_tls")] private static extern ulong* GdtTls();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_cpuid7_ebx")] private static extern uint Cpuid7Ebx();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_enter_user")] private static extern void EnterUserAsm(InterruptFrame* frame);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_run_on_scheduler_stack")] private static extern void RunOnStackAsm(uint top, delegate*<void> fn);

    /// <summary>Loads every register from <paramref name="frame"/> and returns to ring 3 (iret).</summary>
    public static void EnterUser(InterruptFrame* frame) => EnterUserAsm(frame);

    /// <summary>Moves to <paramref name="top"/> and calls <paramref name="fn"/> there; never returns.</summary>
    public static void RunOnStack(ulong top, delegate*<void> fn) => RunOnStackAsm((uint)top, fn);

    /// <summary>setjmp/longjmp over 6 words (user.S): 0 when saved, 1 when resumed.</summary>
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_save_context")] public static extern int SaveContext(ulong* context);
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_restore_context")] public static extern void RestoreContext(ulong* context);

    /// <summary>SS0 in the TSS, and SMEP/SMAP on when the CPU has them and
    /// <paramref name="protect"/> says so. Idempotent.</summary>
    public static void Init(bool protect)
    {
        *(uint*)(Tss() + TssSs0Offset) = KernelDataSelector;
        if (!protect) return;
        uint ebx = Cpuid7Ebx();
        uint cr4 = Arch.ReadCr4();
        if ((ebx & (1u << 7)) != 0) { cr4 |= Cr4Smep; Smep = true; }
        if ((ebx & (1u << 20)) != 0) { cr4 |= Cr4Smap; Smap = true; }
        Arch.WriteCr4(cr4);
    }

    /// <summary>Turns SMEP and SMAP off again.</summary>
    public static void DisableProtection()
    {
        Arch.WriteCr4(Arch.ReadCr4() & ~(Cr4Smep | Cr4Smap));
        Smep = Smap = false;
    }

    /// <summary>The stack a trap or system call from ring 3 lands on: TSS.ESP0.</summary>
    public static void SetKernelStack(ulong top) => *(uint*)(Tss() + TssEsp0Offset) = (uint)top;

    /// <summary>The user's thread pointer: the TLS descriptor in GDT entry 7 (0: none).</summary>
    public static ulong ThreadPointer
    {
        get => *GdtTls();
        set => *GdtTls() = value;
    }

    /// <summary>iret returns to any address (a bad one faults in ring 3).</summary>
    public static bool CanReturnTo(ulong ip) => true;
}
