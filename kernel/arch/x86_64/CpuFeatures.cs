namespace SharpMM.Kernel;

/// <summary>
/// The paging features of this CPU (CPUID) and the control bits the kernel's page tables rely
/// on. <see cref="EnablePaging"/> turns on what the boot stub left off:
/// <code>
///   feature     CPUID                       control bit       used for
///   NX          80000001H:EDX bit 20        IA32_EFER.NXE     no-execute data, rodata and stacks
///   PGE         1:EDX bit 13                CR4.PGE           global kernel mappings
///   PSE         1:EDX bit 3                 CR4.PSE           (long mode ignores it: 2 MiB pages always work)
///   Page1GB     80000001H:EDX bit 26        -                 1 GiB direct-map pages when present
/// </code>
/// boot.S sets EFER.NXE when the CPU has NX and CR0.WP always; CR4.PGE and CR4.PSE are set here.
/// QEMU's default CPU model (qemu64) has NX and PGE but not Page1GB, so the direct map uses 2 MiB
/// pages there.
/// </summary>
internal static unsafe class CpuFeatures
{
    public static bool Nx { get; private set; }
    public static bool Pge { get; private set; }
    public static bool Pse { get; private set; }
    public static bool Page1GiB { get; private set; }

    /// <summary>Reads CPUID, then sets CR4.PSE, CR4.PGE and EFER.NXE where the CPU has them.</summary>
    public static void EnablePaging()
    {
        uint* r = stackalloc uint[4];
        Arch.CpuId(1, 0, r);
        Pse = (r[3] & (1u << 3)) != 0;
        Pge = (r[3] & (1u << 13)) != 0;
        Arch.CpuId(0x80000000, 0, r);
        if (r[0] >= 0x80000001)
        {
            Arch.CpuId(0x80000001, 0, r);
            Nx = (r[3] & (1u << 20)) != 0;
            Page1GiB = (r[3] & (1u << 26)) != 0;
        }

        ulong cr4 = Arch.ReadCr4();
        if (Pse) cr4 |= Arch.Cr4Pse;
        if (Pge) cr4 |= Arch.Cr4Pge;
        Arch.WriteCr4(cr4);
        if (Nx)
        {
            ulong efer = Arch.ReadMsr(Arch.MsrEfer);
            if ((efer & Arch.EferNxe) == 0) Arch.WriteMsr(Arch.MsrEfer, efer | Arch.EferNxe);
        }
    }

    /// <summary>True when EFER.NXE is set (execute-disable bits are honoured, not reserved).</summary>
    public static bool NxEnabled => (Arch.ReadMsr(Arch.MsrEfer) & Arch.EferNxe) != 0;

    /// <summary>True when CR4.PGE is set.</summary>
    public static bool PgeEnabled => (Arch.ReadCr4() & Arch.Cr4Pge) != 0;
}
