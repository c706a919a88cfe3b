using System.Collections.Generic;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Physical;

public unsafe class BuddyAllocatorTests
{
    //   frames 1024 .. 5120 (16 MiB, four order-10 blocks)
    //   |  o10  |  o10  |  o10  |  o10  |
    // Expect: four order-10 blocks and nothing else on the lists.
    [Fact]
    public void HandOver_BuildsMaximalBlocks()
    {
        using var f = BuddyFixture.Flat(1024, 4096);
        Assert.Equal(4096UL, f.B.FreeFrames);
        Assert.Equal(4096UL, f.B.ManagedFrames);
        Assert.Equal(4UL, f.BlocksAt(0, 10));
        for (int o = 0; o < 10; o++) Assert.Equal(0UL, f.BlocksAt(0, o));
        f.B.Validate();
    }

    //   frames [1, 1030): 1 | 2-3 | 4-7 | ... | 512-1023 | 1024-1027 | 1028-1029
    //                     o0   o1    o2         o9         o2          o1
    // Expect: one block of each order 0..9 plus a second of orders 1 and 2.
    [Fact]
    public void HandOver_UnalignedRange_SplitsIntoAlignedBlocks()
    {
        using var f = BuddyFixture.Flat(1, 1029);
        Assert.Equal(1029UL, f.B.FreeFrames);
        for (int o = 0; o <= 9; o++) Assert.Equal(o is 1 or 2 ? 2UL : 1UL, f.BlocksAt(0, o));
        f.B.Validate();
    }

    // Expect: order-0 allocation from a lone order-10 block leaves one block at each order 0..9.
    [Fact]
    public void Allocate_SplitsKeepingLowerHalf()
    {
        using var f = BuddyFixture.Flat(1024, 1024);
        Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p));
        Assert.Equal(1024UL, p.Value);
        for (int o = 0; o < 10; o++) Assert.Equal(1UL, f.BlocksAt(0, o));
        Assert.Equal(0UL, f.BlocksAt(0, 10));
        Assert.Equal(FrameState.Allocated, f.B.StateOf(Pfn.New(1024)));
        f.B.Validate();
        Assert.Equal(Status.Ok, f.B.Free(p, 0));
        Assert.Equal(1UL, f.BlocksAt(0, 10));
        f.B.Validate();
    }

    [Fact]
    public void OutOfMemory_IsAStatus_AndChangesNothing()
    {
        using var f = BuddyFixture.Flat(1024, 1024);
        Assert.Equal(Status.Ok, f.B.Allocate(10, out _));
        Assert.Equal(Status.OutOfMemory, f.B.Allocate(0, out _));
        Assert.Equal(Status.InvalidArgument, f.B.Allocate(11, out _));
        Assert.Equal(0UL, f.B.FreeFrames);
        f.B.Validate();
    }

    [Fact]
    public void BadAllocationArguments_AreRefused_AndChangeNothing()
    {
        using var f = BuddyFixture.Flat(1024, 1024);
        ulong free0 = f.B.FreeFrames;
        Assert.Equal(Status.InvalidArgument, f.B.Allocate(11, out Pfn p));
        Assert.Equal(0UL, p.Value);
        Assert.Equal(Status.InvalidArgument, f.B.Allocate(0, (MemoryClass)4, out p));
        Assert.Equal(Status.InvalidArgument, f.B.Allocate(0, (MemoryClass)255, out p));
        Assert.Equal(Status.InvalidArgument, f.B.Allocate(uint.MaxValue, MemoryClass.Kernel, out p));
        Assert.Equal(free0, f.B.FreeFrames);
        f.B.Validate();
    }

    [Fact]
    public void BadFrees_AreRefused_AndChangeNothing()
    {
        using var f = BuddyFixture.Flat(1024, 2048, pcp: true);
        Assert.Equal(Status.Ok, f.B.Allocate(2, out Pfn a));
        Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn b));
        ulong free = f.B.FreeFrames;

        Assert.Equal(Status.Misaligned, f.B.Free(a.Add(1), 2));
        Assert.Equal(Status.NotAllocated, f.B.Free(a.Add(1), 0));      // interior frame
        Assert.Equal(Status.WrongOrder, f.B.Free(a, 1));
        Assert.Equal(Status.WrongOrder, f.B.Free(a, 3));
        Assert.Equal(Status.OutOfRange, f.B.Free(Pfn.NewUnchecked(5000), 0));
        Assert.Equal(Status.OutOfRange, f.B.Free(Pfn.NewUnchecked(1UL << 40), 0));
        Assert.Equal(Status.InvalidArgument, f.B.Free(a, 11));
        Assert.Equal(Status.DoubleFree, f.B.Free(Pfn.NewUnchecked(2047), 0));   // free, inside a free block
        Assert.Equal(free, f.B.FreeFrames);
        f.B.Validate();

        Assert.Equal(Status.Ok, f.B.Free(a, 2));
        Assert.Equal(Status.DoubleFree, f.B.Free(a, 2));
        Assert.Equal(Status.Ok, f.B.Free(b, 0));                       // goes to the per-CPU cache
        Assert.Equal(Status.DoubleFree, f.B.Free(b, 0));
        Assert.Equal(2048UL, f.B.FreeFrames);
        f.B.Validate();
    }

    // An order-3 block freed, merged with its free buddy, then freed again.
    // <code>
    //   frames 1024 .. 1039: [ a: order 3 | b: order 3 ]  both allocated
    //   free b, free a: one free order-4 block at 1024 (b's head is now a tail of it)
    // </code>
    // Expect: the second free of either is DoubleFree, not NotAllocated, and changes nothing;
    // a frame inside an allocated block is still NotAllocated.
    [Fact]
    public void SecondFree_OfABlockThatMerged_IsDoubleFree()
    {
        using var f = BuddyFixture.Flat(1024, 16);
        Assert.Equal(Status.Ok, f.B.Allocate(3, out Pfn a));
        Assert.Equal(Status.Ok, f.B.Allocate(3, out Pfn b));
        if (b.Value < a.Value) (a, b) = (b, a);
        Assert.Equal(a.Value + 8, b.Value);
        Assert.Equal(Status.NotAllocated, f.B.Free(b.Add(2), 1));       // inside allocated b
        Assert.Equal(Status.Ok, f.B.Free(b, 3));
        Assert.Equal(Status.Ok, f.B.Free(a, 3));
        Assert.Equal(1UL, f.B.FreeBlocks(0, 4));
        Assert.Equal(Status.DoubleFree, f.B.Free(b, 3));
        Assert.Equal(Status.DoubleFree, f.B.Free(a, 3));
        Assert.Equal(16UL, f.B.FreeFrames);
        Assert.Equal(1UL, f.B.FreeBlocks(0, 4));
        f.B.Validate();
    }

    [Fact]
    public void ReservedFrames_AreNeverHandedOut_AndCannotBeFreed()
    {
        using var f = new BuddyFixture(new[] { (1024UL, 3072UL) }, ZoneLayout.Flat(), PcpConfig.Off, reserved: new[] { (1500UL, 1600UL) });
        Assert.Equal(2048UL - 100, f.B.FreeFrames);
        var seen = new HashSet<ulong>();
        while (f.B.Allocate(0, out Pfn p) == Status.Ok)
        {
            Assert.False(p.Value >= 1500 && p.Value < 1600, $"reserved frame {p.Value} handed out");
            Assert.True(seen.Add(p.Value));
        }
        Assert.Equal(1948, seen.Count);
        Assert.Equal(Status.NotAllocated, f.B.Free(Pfn.NewUnchecked(1550), 0));
        f.B.Validate();
    }

    [Fact]
    public void AddFreeRange_Twice_Panics()
    {
        using var f = BuddyFixture.Flat(1024, 1024);
        var ex = Assert.Throws<PanicException>(() => f.B.AddFreeRange(Pfn.New(1024), Pfn.New(1025)));
        Assert.Contains("handed over twice", ex.Message);
    }

    [Fact]
    public void CorruptedPairBit_IsCaughtByValidator()
    {
        using var f = BuddyFixture.Flat(1024, 1024);
        Assert.Equal(Status.Ok, f.B.Allocate(0, out _));
        f.B.Map.TogglePair(1024 + 2, 1);
        var ex = Assert.Throws<PanicException>(() => f.B.Validate());
        Assert.Contains("pair bit", ex.Message);
    }

    [Fact]
    public void CorruptedDescriptor_IsCaughtOnMerge()
    {
        using var f = BuddyFixture.Flat(1024, 1024);
        Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p));
        // The buddy (1025) is a free order-0 block; pretend it was handed out behind the allocator's back.
        *f.B.Map.Info(1025) = FrameInfo.Make(FrameState.Allocated, 0);
        var ex = Assert.Throws<PanicException>(() => f.B.Free(p, 0));
        Assert.Contains("state byte disagrees", ex.Message);
    }

    //   0 ---- 16 MiB ------ 4 GiB ---------- 6 GiB        (RAM: 1 MiB..3 GiB, 4 GiB..6 GiB)
    //     DMA       DMA32           Normal
    // Expect: zones present 3840 / 782336 / 524288 frames; DMA requests stay below 16 MiB;
    // kernel requests fall back to DMA32 and DMA when Normal is exhausted.
    [Fact]
    public void Zones_PresentCounts_And_Fallback()
    {
        using var f = new BuddyFixture(new[] { (256UL, 786432UL), (1048576UL, 1572864UL) }, ZoneLayout.X86_64(), PcpConfig.Default);
        Assert.Equal("DMA", f.B.GetZone(0).Name);
        Assert.Equal(4096UL - 256, f.B.GetZone(0).PresentFrames);
        Assert.Equal(786432UL - 4096, f.B.GetZone(1).PresentFrames);
        Assert.Equal(524288UL, f.B.GetZone(2).PresentFrames);

        Assert.Equal(Status.Ok, f.B.Allocate(3, MemoryClass.Dma, out Pfn dma));
        Assert.True(dma.Value < 4096);
        Assert.Equal(Status.Ok, f.B.Allocate(3, MemoryClass.Dma32, out Pfn d32));
        Assert.True(d32.Value >= 4096 && d32.Value < 1048576);
        Assert.Equal(Status.Ok, f.B.Allocate(3, MemoryClass.Kernel, out Pfn k));
        Assert.True(k.Value >= 1048576);

        // Exhaust Normal with order-10 blocks; the next kernel request falls back to DMA32.
        while (f.B.ZoneFreeFrames(2) >= 1024) Assert.Equal(Status.Ok, f.B.Allocate(10, MemoryClass.Kernel, out _));
        Assert.Equal(Status.Ok, f.B.Allocate(10, MemoryClass.Kernel, out Pfn fb));
        Assert.True(fb.Value >= 4096 && fb.Value < 1048576, $"fallback went to {fb.Value}");
        f.B.Validate();
    }

    //   0 ---- 16 MiB ------ 512 MiB            (RAM: 1 MiB..512 MiB; Normal, above 4 GiB, empty)
    //     DMA       DMA32
    // Expect: user and kernel allocations start in DMA32, the highest zone with RAM, not in the
    // empty Normal; an order-0 frame freed there waits in the CPU's cache of DMA32 and is the
    // next one handed out.
    [Fact]
    public void EmptyHighestZone_AllocationsStartInTheHighestZoneWithRam()
    {
        using var f = new BuddyFixture(new[] { (256UL, 131072UL) }, ZoneLayout.X86_64(), PcpConfig.Default);
        Assert.Equal(0UL, f.B.GetZone(2).PresentFrames);
        Assert.Equal(1, f.B.StartZone(MemoryClass.User));
        Assert.Equal(1, f.B.StartZone(MemoryClass.Kernel));
        Assert.Equal(1, f.B.StartZone(MemoryClass.Dma32));
        Assert.Equal(0, f.B.StartZone(MemoryClass.Dma));

        Assert.Equal(Status.Ok, f.B.Allocate(0, MemoryClass.User, out Pfn p));
        Assert.True(p.Value >= 4096, $"user frame {p.Value} below DMA32");
        Assert.Equal(Status.Ok, f.B.Free(p, 0));
        Assert.True(f.B.CachedFrames(1, 0) >= 1, "the freed frame waits in CPU 0's cache of DMA32");
        ulong cached = f.B.CachedFrames(1);
        Assert.Equal(Status.Ok, f.B.Allocate(0, MemoryClass.Kernel, out Pfn again));
        Assert.Equal(p, again);
        Assert.Equal(cached - 1, f.B.CachedFrames(1));
        Assert.Equal(Status.Ok, f.B.Free(again, 0));
        f.B.Validate();
    }

    // RAM at 1..32 MiB and 16 MiB just below 15 TiB: metadata is sized by what is present.
    // Expect: under 4 MiB of metadata (section table + 2 sections), not gigabytes.
    [Fact]
    public void SparseRam_MetadataSizedByPresentRam()
    {
        ulong high = 15UL << 28; // 15 TiB in frames
        using var f = new BuddyFixture(new[] { (256UL, 8192UL), (high, high + 4096) }, ZoneLayout.X86_64(), PcpConfig.Off);
        Assert.True(f.B.Map.MetadataBytes < (4UL << 20), $"metadata {f.B.Map.MetadataBytes} bytes");
        Assert.Equal(8192UL - 256 + 4096, f.B.FreeFrames);
        Assert.Equal(Status.Ok, f.B.Allocate(10, MemoryClass.User, out Pfn p));
        Assert.True(p.Value >= high);
        f.B.Validate();
    }

    // Metadata budget: 8 bytes of links + 1 state byte per frame, 32 bytes per section slot.
    [Fact]
    public void MetadataLayout_Sizes()
    {
        Assert.Equal(8, sizeof(FrameLinks));
        Assert.Equal(32, sizeof(FrameMap.Section));
        Assert.Equal((byte)0x23, FrameInfo.Make(FrameState.Free, 3));
        Assert.Equal(FrameState.Allocated, FrameInfo.State(FrameInfo.Make(FrameState.Allocated, 10)));
        Assert.Equal(10u, FrameInfo.Order(FrameInfo.Make(FrameState.Allocated, 10)));
    }

    // Zones whose RAM is one packed run use direct addressing; a zone with a section-sized hole
    // falls back to the section table. Both must behave identically.
    //   RAM: [1 MiB, 256 MiB) and [512 MiB, 1 GiB): the Flat zone has a 256 MiB hole.
    // Expect: all frames allocatable once, frees validated, validator passes.
    [Fact]
    public void SparseZone_BehavesLikeDenseZone()
    {
        using var f = new BuddyFixture(new[] { (256UL, 65536UL), (131072UL, 262144UL) }, ZoneLayout.Flat(), PcpConfig.Default);
        Assert.True(f.B.GetZone(0).DenseInfo == null);
        ulong n = 0;
        var held = new List<Pfn>();
        while (f.B.Allocate(3, out Pfn p) == Status.Ok) { held.Add(p); n += 8; }
        Assert.Equal(65536UL - 256 + 131072, n);
        Assert.Equal(0UL, f.B.FreeFrames);
        Assert.Equal(Status.OutOfRange, f.B.Free(Pfn.NewUnchecked(100000), 0)); // in the hole
        foreach (var p in held) Assert.Equal(Status.Ok, f.B.Free(p, 3));
        Assert.Equal(65536UL - 256 + 131072, f.B.FreeFrames);
        f.B.Validate();
        using var dense = BuddyFixture.Flat(256, 65536 - 256);
        Assert.True(dense.B.GetZone(0).DenseInfo != null);
    }

    // A refill takes aligned blocks of 64 frames, whose state bytes fill one 64-byte line: the
    // line is then written only by the CPU that caches them (see BuddyAllocator.StateLineOrder).
    [Fact]
    public void Pcp_RefillTakesWholeLinesOfStateBytes()
    {
        using var f = BuddyFixture.Flat(1024, 4096, pcp: true);
        var groups = new Dictionary<ulong, int>();
        for (int i = 0; i < 64 * 5; i++)
        {
            Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p));
            groups[p.Value >> 6] = groups.GetValueOrDefault(p.Value >> 6) + 1;
        }
        // Five refills' worth (63, 126, ... rounded to whole lines): each group handed out whole.
        Assert.All(groups, g => Assert.Equal(64, g.Value));
        Assert.Equal(5, groups.Count);
    }

    [Fact]
    public void Pcp_RefillsAndDrainsInBatches()
    {
        using var f = BuddyFixture.Flat(1024, 4096, pcp: true);
        Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn p));
        Assert.Equal(63u, f.B.CachedFrames(0)); // a batch of 63 made a whole line (64), one handed out
        var held = new List<Pfn> { p };
        for (int i = 0; i < 500; i++) { Assert.Equal(Status.Ok, f.B.Allocate(0, out Pfn q)); held.Add(q); }
        foreach (var q in held) Assert.Equal(Status.Ok, f.B.Free(q, 0));
        // Drains keep the cache at or under its high, which tunes itself up to an eighth of the
        // zone's 4096 frames (less one: the stack holds 512).
        Assert.True(f.B.CachedFrames(0) <= f.B.CacheHigh(0, 0), $"{f.B.CachedFrames(0)} cached, high {f.B.CacheHigh(0, 0)}");
        Assert.InRange(f.B.CacheHigh(0, 0), 378u, 511u);
        Assert.Equal(4096UL, f.B.FreeFrames);
        f.B.Validate();
        f.B.Drain();
        Assert.Equal(4UL, f.BlocksAt(0, 10));
        f.B.Validate();
    }
}
