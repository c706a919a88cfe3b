namespace SharpMM.Kernel;

/// <summary>
/// Which x86 paging the i386 kernel runs with, fixed by the boot stub before any C# runs: legacy
/// 32-bit paging (two levels, 4-byte entries, no execute-disable), or PAE paging when the
/// command line has the word `pae` (three levels, 8-byte entries, physical addresses above
/// 4 GiB, and execute-disable when the CPU has NX; boot.S sets EFER.NXE then).
/// </summary>
internal static class PagingMode
{
    /// <summary>True when the kernel runs with PAE paging (CR4.PAE).</summary>
    public static bool Pae;

    /// <summary>True when execute-disable is on (PAE and EFER.NXE): pages mapped without
    /// <see cref="SharpMM.Paging.PageFlags.Executable"/> fault on an instruction fetch.</summary>
    public static bool NoExecute;

    /// <summary>Reads what the boot stub chose (EarlyInit, before any table is built).</summary>
    public static void FromBootStub()
    {
        Pae = Arch.BootPae() != 0;
        NoExecute = Pae && Arch.BootNx() != 0;
    }

    /// <summary>The highest physical address + 1 the kernel's tables can map: 4 GiB with legacy
    /// paging (32-bit entries), 64 GiB with PAE (QEMU's and Linux's PAE limit here).</summary>
    public static ulong PhysLimit => Pae ? 64UL << 30 : 4UL << 30;

    /// <summary>A name for the log: "legacy 32-bit" or "PAE" (+ NX).</summary>
    public static string Name => !Pae ? "legacy 32-bit paging" : NoExecute ? "PAE paging, NX on" : "PAE paging, no NX (the CPU has none)";
}
