using System.Runtime;
using System.Runtime.CompilerServices;
using System.Threading;
using SharpMM.Addressing;


namespace SharpMM.Kernel;

/// <summary>
/// Starts one application processor with INIT-SIPI-SIPI from a trampoline page (smp.S) below
/// 1 MiB, taken from the low-memory allocator (never 0x9000-0x9fff, where QEMU puts the
/// Multiboot information). Three more low pages hold the trampoline's root: PML4[0] -> PDPT ->
/// PD whose entry 0 identity-maps [0, 2 MiB) with one 2 MiB page (the trampoline must survive
/// the switch to paging), and PML4 entries 256-511 copied from the kernel's root (the image, the
/// stacks, the direct map), so the AP can jump to ap_entry64 and load the kernel's CR3 there.
/// The CR3 is loaded in 32-bit mode, hence the root below 4 GiB.
///
/// One trampoline serves every AP, one at a time: <see cref="Start"/> returns only when its CPU
/// is online or was sent back to wait-for-SIPI with another INIT, so the parameters never
/// change under a starting CPU.
/// </summary>
internal static unsafe class ApStartup
{
    // Parameter block offsets (smp.S checks them).
    private const int ParamTrampolineCr3 = 8, ParamKernelCr3 = 16, ParamEntry = 24, ParamStack = 32, ParamPerCpu = 40, ParamEfer = 48;
    private const ulong EferLme = 1UL << 8;
    private const ulong PresentWritable = 0x3, LargePage = 0x80;
    private const ulong MultibootInfoPfn = 9;

    private static ulong s_page;

    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_trampoline_start")] private static extern byte* TrampolineStart();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_trampoline_end")] private static extern byte* TrampolineEnd();
    [MethodImpl(MethodImplOptions.InternalCall), RuntimeImport("*", "arch_ap_entry")] private static extern ulong EntryAddress();

    /// <summary>The trampoline page's physical address (0 before <see cref="Prepare"/>).</summary>
    public static ulong TrampolinePhys => s_page;

    private static bool AllocateLow(out ulong phys)
    {
        ref var low = ref PhysicalBoot.Memory.LowMemory;
        Pfn skipped = default;
        bool haveSkipped = false;
        phys = 0;
        for (int tries = 0; tries < 2; tries++)
        {
            if (low.Allocate(0, out Pfn pfn) != Status.Ok) break;
            if (pfn.Value == MultibootInfoPfn) { skipped = pfn; haveSkipped = true; continue; }
            phys = pfn.ToAddr().Value;
            break;
        }
        if (haveSkipped) low.Free(skipped, 0);
        return phys != 0;
    }

    /// <summary>Copies the trampoline and builds its root. Return: Ok; OutOfMemory when low
    /// memory has no four pages (whatever was taken is given back).</summary>
    public static Status Prepare()
    {
        if (s_page != 0) return Status.Ok;
        ulong* pages = stackalloc ulong[4];
        int have = 0;
        for (; have < 4; have++) if (!AllocateLow(out pages[have])) break;
        if (have < 4)
        {
            for (int i = 0; i < have; i++) PhysicalBoot.Memory.LowMemory.Free(Pfn.NewUnchecked(pages[i] >> PageSize.Shift), 0);
            return Status.OutOfMemory;
        }
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

    /// <summary>
    /// Starts the CPU whose area <paramref name="cpu"/> <see cref="PerCpus.Prepare"/> filled:
    /// INIT, 10 ms, SIPI, 200 us, a second SIPI if it has not arrived, then up to
    /// <paramref name="timeoutMs"/> for it to say it is online. True when it is; false after
    /// the timeout (the CPU then gets another INIT, which parks it until a SIPI).
    /// <paramref name="sendStartup"/> false leaves out the SIPIs (test=apstartfail: a CPU that
    /// does not answer).
    /// </summary>
    public static bool Start(PerCpu* cpu, ulong timeoutMs, bool sendStartup)
    {
        byte* code = Platform.DirectMap.ToVirt(s_page);
        *(ulong*)(code + ParamKernelCr3) = KernelAddressSpace.Mapper.RootPhys;
        *(ulong*)(code + ParamStack) = cpu->StackTop;
        *(ulong*)(code + ParamPerCpu) = (ulong)cpu;
        uint page = (uint)(s_page >> PageSize.Shift);
        LocalApic.SendInit(cpu->ApicId);
        Smp.SpinMicroseconds(10_000);
        if (sendStartup)
        {
            LocalApic.SendStartup(cpu->ApicId, page);
            Smp.SpinMicroseconds(200);
            if (Volatile.Read(ref cpu->Online) == 0) LocalApic.SendStartup(cpu->ApicId, page);
        }
        ulong deadline = Arch.Rdtsc() + Tsc.Hz / 1000 * timeoutMs;
        while (Arch.Rdtsc() < deadline)
        {
            if (Volatile.Read(ref cpu->Online) != 0) return true;
            Arch.Pause();
        }
        LocalApic.SendInit(cpu->ApicId);
        return false;
    }
}
