using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;


namespace SharpMM.Kernel;

/// <summary>
/// The x86-64 side of AP start-up (kernel/src/ApStartup.cs sends INIT-SIPI-SIPI): the
/// trampoline (smp.S) in a page below 1 MiB from the low-memory allocator. Three more low pages hold the trampoline's root: PML4[0] -> PDPT ->
/// PD whose entry 0 identity-maps [0, 2 MiB) with one 2 MiB page (the trampoline must survive
/// the switch to paging), and PML4 entries 256-511 copied from the kernel's root (the image, the
/// stacks, the direct map), so the AP can jump to ap_entry64 and load the kernel's CR3 there.
/// The CR3 is loaded in 32-bit mode, hence the root below 4 GiB.
/// </summary>
internal static unsafe partial class ApStartup
{
    // Parameter block offsets (smp.S checks them).
    private const int ParamTrampolineCr3 = 8, ParamKernelCr3 = 16, ParamEntry = 24, ParamStack = 32, ParamPerCpu = 40, ParamEfer = 48;
    private const ulong EferLme = 1UL << 8;
    private const ulong PresentWritable = 0x3, LargePage = 0x80;

    private static ulong s_cr4, s_efer, s_star, s_lstar, s_sfmask;
    private const uint MsrStar = 0xC0000081, MsrLstar = 0xC0000082, MsrSfmask = 0xC0000084, MsrKernelGsBase = 0xC0000102;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_trampoline_start")] private static extern byte* TrampolineStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_trampoline_end")] private static extern byte* TrampolineEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_entry")] private static extern ulong EntryAddress();

    /// <summary>Copies the trampoline and builds its root. Return: Ok; OutOfMemory when low
    /// memory has no four pages (whatever was taken is given back).</summary>
    public static Status Prepare()
    {
        if (s_page != 0) return Status.Ok;
        ulong* pages = stackalloc ulong[4];
        if (!AllocateLowPages(pages, 4)) return Status.OutOfMemory;
        byte* code = Platform.DirectMap.ToVirt(pages[0]);
        ulong* pml4 = (ulong*)Platform.DirectMap.ToVirt(pages[1]);
        ulong* pdpt = (ulong*)Platform.DirectMap.ToVirt(pages[2]);
        ulong* pd = (ulong*)Platform.DirectMap.ToVirt(pages[3]);
        ulong length = (ulong)(TrampolineEnd() - TrampolineStart());
        if (length > PageSize.Bytes) KernelPanic.Fail("smp: the AP trampoline is larger than a page", length);
        for (ulong i = 0; i < PageSize.Bytes; i++) code[i] = i < length ? TrampolineStart()[i] : (byte)0;
        ulong* kernelRoot = (ulong*)Platform.DirectMap.ToVirt(KernelAddressSpace.Mapper.RootPhys);
        for (int i = 0; i < 512; i++)
        {
            pml4[i] = i >= 256 ? kernelRoot[i] : 0;
            pdpt[i] = 0;
            pd[i] = 0;
        }
        pml4[0] = pages[2] | PresentWritable;
        pdpt[0] = pages[3] | PresentWritable;
        pd[0] = 0 | PresentWritable | LargePage;
        *(ulong*)(code + ParamTrampolineCr3) = pages[1];
        *(ulong*)(code + ParamEntry) = EntryAddress();
        *(ulong*)(code + ParamEfer) = EferLme | (CpuFeatures.Nx ? Arch.EferNxe : 0);
        s_page = pages[0];
        return Status.Ok;
    }

    /// <summary>Records the boot CPU's CR4, EFER and system-call MSRs, which every AP copies
    /// (<see cref="InitThisCpu"/>).</summary>
    public static void SaveBootCpuState()
    {
        s_cr4 = Arch.ReadCr4();
        s_efer = Arch.ReadMsr(Arch.MsrEfer);
        s_star = Arch.ReadMsr(MsrStar);
        s_lstar = Arch.ReadMsr(MsrLstar);
        s_sfmask = Arch.ReadMsr(MsrSfmask);
    }

    /// <summary>On a starting AP (Smp.ApMain): the boot CPU's CR4, EFER and system-call MSRs;
    /// KERNEL_GS_BASE 0 (swapgs in syscall_entry swaps it with GS, the area).</summary>
    public static void InitThisCpu()
    {
        Arch.WriteCr4(s_cr4);
        Arch.WriteMsr(Arch.MsrEfer, s_efer);
        Arch.WriteMsr(MsrStar, s_star);
        Arch.WriteMsr(MsrLstar, s_lstar);
        Arch.WriteMsr(MsrSfmask, s_sfmask);
        Arch.WriteMsr(MsrKernelGsBase, 0);
    }

    /// <summary>The parameters that change from one AP to the next: the kernel's CR3, the AP's
    /// stack and area.</summary>
    private static void WriteParameters(PerCpu* cpu)
    {
        byte* code = Platform.DirectMap.ToVirt(s_page);
        *(ulong*)(code + ParamKernelCr3) = KernelAddressSpace.Mapper.RootPhys;
        *(ulong*)(code + ParamStack) = cpu->StackTop;
        *(ulong*)(code + ParamPerCpu) = (ulong)cpu;
    }
}
