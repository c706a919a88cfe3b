using SharpMM.Addressing;
using SharpMM.Paging;
using Xunit;

namespace SharpMM.Tests.Paging;

/// <summary>The one run-merging rule of the page-table dump and its JSON (<see cref="LeafRun"/>).</summary>
public class LeafRunTests
{
    private static LeafMapping Leaf(ulong va, MappingSize size, PageFlags flags, ulong pa = 0x200000) =>
        new(VirtAddr.NewUnchecked(va), PhysAddr.NewUnchecked(pa), size, flags, 0);

    //   [0x1000 4K RW][0x2000 4K RW, Accessed|Dirty][0x3000 4K ro]
    // Expect: the first two make one run (Accessed and Dirty do not split it, and the frames
    // need not be contiguous); the read-only page starts a new one.
    [Fact]
    public void AccessedAndDirty_DoNotSplit_OtherFlagsDo()
    {
        LeafRun run = LeafRun.Of(Leaf(0x1000, MappingSize.Size4KiB, PageFlags.Writable));
        Assert.True(run.TryExtend(Leaf(0x2000, MappingSize.Size4KiB, PageFlags.Writable | PageFlags.Accessed | PageFlags.Dirty, pa: 0x900000)));
        Assert.False(run.TryExtend(Leaf(0x3000, MappingSize.Size4KiB, PageFlags.None)));
        Assert.Equal(0x1000UL, run.Start);
        Assert.Equal(0x2fffUL, run.Last);
        Assert.Equal(0x2000UL, run.Bytes);
        Assert.Equal(PageFlags.Writable, run.Flags);
    }

    // Expect: a gap in virtual addresses or another page size starts a new run, unchanged.
    [Fact]
    public void GapOrOtherPageSize_StartsANewRun()
    {
        LeafRun run = LeafRun.Of(Leaf(0x200000, MappingSize.Size2MiB, PageFlags.Writable));
        Assert.False(run.TryExtend(Leaf(0x600000, MappingSize.Size2MiB, PageFlags.Writable)));
        Assert.False(run.TryExtend(Leaf(0x400000, MappingSize.Size4KiB, PageFlags.Writable)));
        Assert.Equal(0x3fffffUL, run.Last);
        Assert.True(run.TryExtend(Leaf(0x400000, MappingSize.Size2MiB, PageFlags.Writable)));
        Assert.Equal(0x5fffffUL, run.Last);
    }

    // A run that ends the address space (last byte 2^64 - 1) takes nothing after it.
    [Fact]
    public void RunAtTheTopOfTheAddressSpace_IsClosed()
    {
        LeafRun run = LeafRun.Of(Leaf(0xffff_ffff_ffff_f000, MappingSize.Size4KiB, PageFlags.Writable));
        Assert.Equal(ulong.MaxValue, run.Last);
        Assert.False(run.TryExtend(Leaf(0, MappingSize.Size4KiB, PageFlags.Writable)));
    }
}
