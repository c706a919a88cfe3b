using SharpMM.Addressing;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.User;

namespace SharpMM.Kernel;

/// <summary>
/// The x86-64 part of the user-memory suite (the shared part is tests/UserTests.cs): a space
/// shares the kernel's PML4 entries 256..511, so kernel mappings made after it reach it too.
/// </summary>
internal static unsafe class UserKernelHalfTests
{
    public static void RunAll(ref TestRunner r)
    {
        r.Run("user memory: a kernel mapping made after a space is reachable with that space in CR3", &KernelMappingAfterSpace);
    }

    private const ulong Page = PageSize.Bytes;
    private static ref BuddyAllocator Buddy => ref PhysicalBoot.Memory.Buddy;
    private static ulong KernelRoot => KernelAddressSpace.Mapper.RootPhys;

    /// <summary>
    /// A space copies the kernel's PML4 entries 256..511 when it is made, so it sees only kernel
    /// mappings under entries that existed then: the kernel makes all of its entries at boot.
    /// Expect: the space has no lower-half entry of the kernel's and the same upper entries; a
    /// page mapped in the test window after the space was made (under a PD and PT that did not
    /// exist before) and a vmalloc block allocated after it both read and write with the space
    /// in CR3; unmapped again, the test window address faults in the space too.
    /// </summary>
    private static void KernelMappingAfterSpace(ref TestContext t)
    {
        ulong free0 = Buddy.FreeFrames;
        if (LiveUserMemory.Create(0, out LiveUserMemory* m) != Status.Ok) { t.Check(false, "user machine created"); return; }
        ref UserMemory<X86LongModeFormat, KernelFrames, RamDiskStore> mem = ref m->Memory;
        AddressSpace<X86LongModeFormat>* s = m->Space(0);
        t.Equal((ulong)mem.CreateSpace(s, m->Layout, KernelRoot), (ulong)Status.Ok, "space created");
        t.Equal(m->Layout.UserStart, 0x10000, "user space starts at 64 KiB");
        ulong* kernelRoot = (ulong*)Platform.DirectMap.ToVirt(KernelRoot);
        ulong* spaceRoot = (ulong*)Platform.DirectMap.ToVirt(s->RootPhys);
        ulong lowerShared = 0, upperDiffer = 0;
        for (int i = 0; i < 256; i++) if (spaceRoot[i] != 0 && spaceRoot[i] == kernelRoot[i]) lowerShared++;
        for (int i = 256; i < 512; i++) if (spaceRoot[i] != kernelRoot[i]) upperDiffer++;
        t.Equal(lowerShared, 0, "no lower-half entry shared with the kernel");
        t.Equal(upperDiffer, 0, "entries 256..511 are the kernel's");

        // A kernel page under tables made after the space: a PD and a PT, the PML4 entry fixed.
        if (Buddy.Allocate(0, MemoryClass.Kernel, out Pfn pfn) != Status.Ok) { t.Check(false, "a data frame"); return; }
        ulong* direct = (ulong*)Platform.DirectMap.ToVirt(pfn.ToAddr().Value);
        direct[3] = 0x600D_CAFE_0000_0001UL;
        ulong va = KernelAddressSpace.TestWindow + (128UL << 30);
        KernelFrames frames = default;
        t.Equal((ulong)KernelAddressSpace.Mapper.Map(VirtAddr.NewUnchecked(va), pfn.ToAddr(), MappingSize.Size4KiB,
            PageFlags.Writable | KernelAddressSpace.NoExecute, ref frames, out FlushToken token), (ulong)Status.Ok, "kernel page mapped after the space");
        token.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Equal(kernelRoot[(va >> 39) & 511], spaceRoot[(va >> 39) & 511], "the mapping added no PML4 entry");
        KernelFrames vf = default;
        Status vs = VmallocLargeMapper.Vm.Vmalloc(2 * Page, ref vf, ref KernelAddressSpace.Hooks, out ulong block);
        t.Equal((ulong)vs, (ulong)Status.Ok, "vmalloc after the space");

        DemandPaging.Load(&m->Memory, s);
        t.Check(FaultProbe.Read(va + 24, out ulong seen) && seen == 0x600D_CAFE_0000_0001UL, "the test-window page reads with the space loaded");
        t.Check(FaultProbe.Write(va + 32, 0x1234), "and takes a write");
        bool vmallocOk = vs == Status.Ok && FaultProbe.Write(block + Page + 8, 0x5151) && FaultProbe.Read(block + Page + 8, out ulong vback) && vback == 0x5151;
        t.Check(vmallocOk, "the vmalloc block reads and writes with the space loaded");
        DemandPaging.Load(null, null);
        t.Equal(direct[4], 0x1234, "the write reached the frame");

        t.Equal((ulong)KernelAddressSpace.Mapper.Unmap(VirtAddr.NewUnchecked(va), ref frames, out FlushToken ut), (ulong)Status.Ok, "unmapped");
        ut.Flush(ref KernelAddressSpace.Hooks, ref KernelAddressSpace.Policy);
        t.Check(kernelRoot[(va >> 39) & 511] != 0, "the PML4 entry stays after its last mapping went");
        DemandPaging.Load(&m->Memory, s);
        t.Check(!FaultProbe.Read(va, out _), "the unmapped page faults in the space too");
        DemandPaging.Load(null, null);
        if (vs == Status.Ok) t.Equal((ulong)VmallocLargeMapper.Vm.Vfree(block, ref vf, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "vfree");
        Buddy.Free(pfn, 0);
        t.Equal((ulong)mem.Destroy(s, ref KernelAddressSpace.Hooks), (ulong)Status.Ok, "space destroyed");
        m->Destroy();
        t.Equal(Buddy.FreeFrames, free0, "free frames back where they were");
    }
}
