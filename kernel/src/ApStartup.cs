using System.Threading;
using SharpMM.Addressing;

namespace SharpMM.Kernel;

/// <summary>
/// INIT-SIPI-SIPI, the same on every x86 kernel: the trampoline page (below 1 MiB, from the
/// low-memory allocator) and what the AP finds in it are the architecture's
/// (arch/ARCH/ApStartup.cs: Prepare, WriteParameters, SaveBootCpuState, InitThisCpu; smp.S).
/// One trampoline serves every AP, one at a time: <see cref="Start"/> returns only when its CPU
/// is online or was sent back to wait-for-SIPI with another INIT, so the parameters never
/// change under a starting CPU.
/// </summary>
internal static unsafe partial class ApStartup
{
    /// <summary>QEMU puts the Multiboot information at 0x9000: never a trampoline page.</summary>
    private const ulong MultibootInfoPfn = 9;

    private static ulong s_page;

    /// <summary>The trampoline page's physical address (0 before Prepare).</summary>
    public static ulong TrampolinePhys => s_page;

    /// <summary>One page of low memory (below 1 MiB: a start-up IPI's vector names a page there),
    /// never page 9. False when there is none.</summary>
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

    /// <summary>Takes <paramref name="count"/> low pages into <paramref name="pages"/>. False when
    /// there are not that many (whatever was taken is given back).</summary>
    private static bool AllocateLowPages(ulong* pages, int count)
    {
        int have = 0;
        for (; have < count; have++) if (!AllocateLow(out pages[have])) break;
        if (have == count) return true;
        for (int i = 0; i < have; i++) PhysicalBoot.Memory.LowMemory.Free(Pfn.NewUnchecked(pages[i] >> PageSize.Shift), 0);
        return false;
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
        WriteParameters(cpu);
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
