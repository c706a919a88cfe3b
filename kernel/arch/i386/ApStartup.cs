using System.Runtime;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Kernel;

/// <summary>
/// The i386 side of AP start-up (kernel/src/ApStartup.cs sends INIT-SIPI-SIPI): the trampoline
/// (smp.S) in a page below 1 MiB from the low-memory allocator, real mode to 32-bit protected
/// mode, then paging with the boot CPU's CR4 (PSE or PAE) on a trampoline root that is the
/// kernel's with its first large page made an identity map of [0, 4 MiB) (legacy: one more low
/// page, a copy of the kernel's page directory) or [0, 2 MiB) (PAE: two more, a PDPT whose
/// entries 1-3 are the kernel's and a copy of the kernel's directory for entry 0). The
/// trampoline page is below 1 MiB, so inside that identity map, and the image's pages are the
/// kernel's (on phantom, where the image lies in that first large page, at the same addresses):
/// the AP can jump to ap_entry and load the kernel's CR3 there. The copy is taken once; the
/// kernel entries the jump needs (the image's) never change.
/// </summary>
internal static unsafe partial class ApStartup
{
    // Parameter block offsets (smp.S checks them).
    private const int ParamTrampolineCr3 = 4, ParamKernelCr3 = 8, ParamEntry = 12, ParamPerCpu = 16, ParamCr4 = 20, ParamNx = 24;
    private const ulong Present = 0x1, PresentWritable = 0x3, LargePage = 0x80;

    private static uint s_cr4;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_trampoline_start")] private static extern byte* TrampolineStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_trampoline_end")] private static extern byte* TrampolineEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_entry")] private static extern uint EntryAddress();

    /// <summary>Copies the trampoline and builds its root. Return: Ok; OutOfMemory when low
    /// memory has no three pages (whatever was taken is given back).</summary>
    public static Status Prepare()
    {
        if (s_page != 0) return Status.Ok;
        ulong* pages = stackalloc ulong[3];
        if (!AllocateLowPages(pages, 3)) return Status.OutOfMemory;
        DirectMap dm = Platform.DirectMap;
        byte* code = dm.ToVirt(pages[0]);
        ulong length = (ulong)(TrampolineEnd() - TrampolineStart());
        if (length > PageSize.Bytes) KernelPanic.Fail("smp: the AP trampoline is larger than a page", length);
        for (ulong i = 0; i < PageSize.Bytes; i++) code[i] = i < length ? TrampolineStart()[i] : (byte)0;
        ulong kernelRoot = KernelAddressSpace.Mapper.RootPhys;
        ulong root;
        if (!PagingMode.Pae)
        {
            uint* kernelPd = (uint*)dm.ToVirt(kernelRoot);
            uint* pd = (uint*)dm.ToVirt(pages[1]);
            for (int i = 0; i < 1024; i++) pd[i] = kernelPd[i];
            pd[0] = (uint)(0 | PresentWritable | LargePage);      // [0, 4 MiB), CR4.PSE
            root = pages[1];
            PhysicalBoot.Memory.LowMemory.Free(Pfn.NewUnchecked(pages[2] >> PageSize.Shift), 0);
        }
        else
        {
            ulong* kernelPdpt = (ulong*)dm.ToVirt(kernelRoot);
            ulong* pdpt = (ulong*)dm.ToVirt(pages[1]);
            ulong* pd = (ulong*)dm.ToVirt(pages[2]);
            ulong* kernelPd0 = (kernelPdpt[0] & Present) != 0 ? (ulong*)dm.ToVirt(kernelPdpt[0] & 0x000F_FFFF_FFFF_F000UL) : null;
            for (int i = 0; i < 512; i++)
            {
                pd[i] = kernelPd0 != null ? kernelPd0[i] : 0;
                pdpt[i] = i >= 1 && i < 4 ? kernelPdpt[i] : 0;
            }
            pd[0] = 0 | PresentWritable | LargePage;               // [0, 2 MiB), executable
            pdpt[0] = pages[2] | Present;
            root = pages[1];
        }
        *(uint*)(code + ParamTrampolineCr3) = (uint)root;
        *(uint*)(code + ParamEntry) = EntryAddress();
        *(uint*)(code + ParamNx) = PagingMode.NoExecute ? 1u : 0u;
        s_page = pages[0];
        return Status.Ok;
    }

    /// <summary>Records the boot CPU's CR4 (PSE or PAE, OSFXSR, OSXMMEXCPT), which the
    /// trampoline gives every AP before paging.</summary>
    public static void SaveBootCpuState() => s_cr4 = Arch.ReadCr4();

    /// <summary>On a starting AP (Smp.ApMain): the trampoline set CR4, CR0 and EFER already.</summary>
    public static void InitThisCpu() { }

    /// <summary>The parameters that change from one AP to the next: the kernel's CR3 and CR4, the
    /// AP's area (its stack top is in the area).</summary>
    private static void WriteParameters(PerCpu* cpu)
    {
        byte* code = Platform.DirectMap.ToVirt(s_page);
        *(uint*)(code + ParamKernelCr3) = Arch.ReadCr3();
        *(uint*)(code + ParamPerCpu) = (uint)cpu;
        *(uint*)(code + ParamCr4) = s_cr4;
    }
}
