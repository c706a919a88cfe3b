using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Paging;
using SharpMM.Physical;

namespace SharpMM.Kernel;

/// <summary>
/// TLB shootdown between real CPUs (with two CPUs or more): a kernel page that CPU 1 has read
/// (so its TLB holds the translation) is unmapped on CPU 0. Unmapped with a local invlpg only,
/// CPU 1 may still read the old frame through its stale entry (printed: QEMU's TCG keeps a
/// translation until invlpg, as hardware does); unmapped with the library's shootdown
/// (TlbShootdown.Send to every online CPU), CPU 1's read faults at that address.
/// </summary>
internal static unsafe class SmpShootdownTests
{
    private const ulong TimeoutMs = 5000;
    private const ulong Pattern = 0x7E57_5400_7D00_CAFEUL;

    public static void RunAll(ref TestRunner r)
    {
        if (Smp.Online < 2) return;
        r.Run("smp: a page unmapped on cpu 0 faults when cpu 1 reads it (TLB shootdown)", &UnmapOnOneCpuFaultsOnAnother);
    }

    private static bool s_readOk;
    private static ulong s_value, s_cr2;

    /// <summary>On the CPU that runs it: one probed read of <paramref name="va"/>.</summary>
    private static void ProbeRead(ulong va)
    {
        s_readOk = FaultProbe.Read(va, out s_value);
        s_cr2 = s_readOk ? 0 : FaultProbe.LastCr2;
    }

    private static bool ReadOnCpu1(ref TestContext t, ulong va)
    {
        s_readOk = false;
        s_value = 0;
        t.Check(Smp.RunOn(1, &ProbeRead, va, TimeoutMs), "cpu 1 ran the read");
        return s_readOk;
    }

    private static void Map(ref TestContext t, ulong va, Pfn pfn)
    {
        KernelFrames frames = default;
        t.Equal((ulong)KernelAddressSpace.Mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB,
            PageFlags.Writable | KernelAddressSpace.NoExecute, ref frames, out FlushToken token), (ulong)Status.Ok, "map");
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
    }

    private static void UnmapOnOneCpuFaultsOnAnother(ref TestContext t)
    {
        ref BuddyAllocator buddy = ref PhysicalBoot.Memory.Buddy;
        if (buddy.Allocate(0, MemoryClass.Kernel, out Pfn pfn) != Status.Ok || buddy.Allocate(0, MemoryClass.Kernel, out Pfn keep) != Status.Ok)
        {
            t.Check(false, "two frames");
            return;
        }
        *(ulong*)Platform.DirectMap.ToVirt(pfn.ToAddr().Value) = Pattern;
        ulong va = KernelAddressSpace.SmpTestPage;
        // A neighbour in the same page table stays mapped throughout, so no table page is freed
        // while CPU 1 may still hold a translation through it.
        Map(ref t, va + PageSize.Bytes, keep);
        KernelFrames frames = default;
        TextWriter<SerialSink> w = Log.Writer();

        // Without a shootdown: only CPU 0's TLB is invalidated.
        Map(ref t, va, pfn);
        t.Check(ReadOnCpu1(ref t, va) && s_value == Pattern, "cpu 1 reads the page while it is mapped");
        FlushBatch local = default;
        t.Equal((ulong)KernelAddressSpace.Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u1), (ulong)Status.Ok, "unmap");
        local.Add(in u1);
        local.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Check(!FaultProbe.Read(va, out _), "cpu 0 faults on the unmapped page");
        bool stale = ReadOnCpu1(ref t, va);
        w.Str("  unmapped with a local invlpg only: cpu 1 ");
        w.Line(stale ? "still read it (stale TLB entry)" : "faulted (no stale entry kept)");

        // With the shootdown.
        Map(ref t, va, pfn);
        t.Check(ReadOnCpu1(ref t, va) && s_value == Pattern, "cpu 1 reads the page again once it is mapped again");
        ShootdownCounters sent0 = TlbShootdown.TotalSent;
        FlushBatch batch = default;
        t.Equal((ulong)KernelAddressSpace.Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken u2), (ulong)Status.Ok, "unmap");
        batch.Add(in u2);
        TlbShootdown.Send(Cpu.OnlineMask, in batch);
        batch.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Check(!ReadOnCpu1(ref t, va), "cpu 1's read of the page faults after the shootdown");
        t.Equal(s_cr2, va, "CR2 on cpu 1 is the unmapped page");
        ShootdownCounters sent1 = TlbShootdown.TotalSent;
        t.Equal(sent1.Shootdowns - sent0.Shootdowns, 1, "one shootdown for the operation");
        t.Equal(sent1.Ipis - sent0.Ipis, (ulong)(Smp.Online - 1), "one IPI to each other CPU");

        t.Equal((ulong)KernelAddressSpace.Mapper.Unmap(VirtAddr.NewUnchecked(va + PageSize.Bytes), ref frames, out FlushToken u3), (ulong)Status.Ok, "unmap the neighbour");
        FlushBatch last = default;
        last.Add(in u3);
        TlbShootdown.Send(Cpu.OnlineMask, in last);
        last.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        buddy.Free(pfn, 0);
        buddy.Free(keep, 0);
    }
}
