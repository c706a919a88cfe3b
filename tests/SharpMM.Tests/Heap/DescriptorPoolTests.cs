using System.Collections.Generic;
using SharpMM.Heap;
using SharpMM.Hosted;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>Descriptor slots: 64-byte aligned, zeroed, pages given back when their last slot is.</summary>
public unsafe class DescriptorPoolTests
{
    // 63 slots of 64 bytes fill one page; the 64th opens a second. Freeing all gives both back.
    [Fact]
    public void Slots_AreAlignedAndZeroed_PagesReturnWhenEmpty()
    {
        using var f = new HeapFixture(1024);
        var src = f.Source;
        DescriptorPool pool = default;
        ulong free0 = f.Buddy->FreeFrames;
        var got = new List<ulong>();
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(Status.Ok, pool.Allocate(src, 64, out SlabDescriptor* d));
            Assert.Equal(0UL, (ulong)d & 63);
            for (int k = 0; k < 8; k++) Assert.Equal(0UL, ((ulong*)d)[k]);
            ((ulong*)d)[0] = ulong.MaxValue; // dirty it: the next user must get zeros again
            got.Add((ulong)d);
        }
        Assert.Equal(2UL, pool.Pages);
        Assert.Equal(free0 - 2, f.Buddy->FreeFrames);
        Assert.Equal(64, new HashSet<ulong>(got).Count);
        Assert.Equal(Status.Ok, pool.Allocate(src, 192, out SlabDescriptor* big));
        Assert.Equal(3UL, pool.Pages);
        pool.Free(src, big);
        foreach (ulong d in got) pool.Free(src, (SlabDescriptor*)d);
        Assert.Equal(0UL, pool.Pages);
        Assert.Equal(0UL, pool.SlotsUsed);
        Assert.Equal(free0, f.Buddy->FreeFrames);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(32u)]
    [InlineData(704u)]  // beyond MaxSlotBytes (640)
    [InlineData(100u)]  // not a multiple of 64
    public void BadSizes_AreRefused(uint bytes)
    {
        using var f = new HeapFixture(256);
        DescriptorPool pool = default;
        Assert.Equal(Status.InvalidArgument, pool.Allocate(f.Source, bytes, out _));
        Assert.Equal(0UL, pool.Pages);
    }

    [Fact]
    public void FreeOfANonSlot_Panics()
    {
        using var f = new HeapFixture(256);
        var src = f.Source;
        DescriptorPool pool = default;
        Assert.Equal(Status.Ok, pool.Allocate(src, 64, out SlabDescriptor* d));
        Assert.Throws<PanicException>(() => pool.Free(src, (SlabDescriptor*)((byte*)d + 8)));
        pool.Free(src, d);
        Assert.Throws<PanicException>(() => pool.Free(src, d)); // its page went back: no pool page there any more
    }
}
