using System.Runtime.InteropServices;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>The pointer-to-owner table: two levels, leaves on demand, "not the heap's" by default.</summary>
public unsafe class FrameOwnerTableTests
{
    // 4096 frames: the directory is one page (8 entries), plus the shared leaf.
    // Expect: every entry reads None; a leaf appears only when a frame in its 2 MiB is claimed.
    [Fact]
    public void Entries_StartAsNone_LeavesComeOnDemand()
    {
        using var f = new HeapFixture(4096);
        var src = new HeapPageSource(f.Buddy, f.Map);
        FrameOwnerTable t = default;
        ulong free0 = f.Buddy->FreeFrames;
        Assert.Equal(Status.Ok, t.Init(src, HeapFixture.StartPfn, HeapFixture.StartPfn + 4096));
        Assert.Equal(2UL, t.MetadataPages);
        Assert.Equal(free0 - 2, f.Buddy->FreeFrames);
        for (ulong p = HeapFixture.StartPfn; p < HeapFixture.StartPfn + 4096; p += 97) Assert.Equal(FrameOwnerTable.None, t.Get(p));
        Assert.False(t.Covers(HeapFixture.StartPfn - 1));
        Assert.False(t.Covers(HeapFixture.StartPfn + 4096));

        ulong pfn = HeapFixture.StartPfn + 1000;
        Assert.Equal(Status.Ok, t.Ensure(src, pfn, 4));
        Assert.Equal(3UL, t.MetadataPages);
        t.Set(pfn, 4, 0x1000);
        Assert.Equal(0x1000UL, t.Get(pfn + 3));
        Assert.Equal(FrameOwnerTable.None, t.Get(pfn + 4));
        Assert.Equal(FrameOwnerTable.None, t.Get(pfn - 1));
        Assert.Equal(Status.Ok, t.Ensure(src, pfn + 1, 2));
        Assert.Equal(3UL, t.MetadataPages); // same leaf
        Assert.Equal(Status.OutOfRange, t.Ensure(src, HeapFixture.StartPfn + 4095, 2));
        Assert.Throws<PanicException>(() => t.Set(HeapFixture.StartPfn + 3000, 1, 5)); // no leaf there
        t.Release(src);
        Assert.Equal(free0, f.Buddy->FreeFrames);
    }

    // Kernel zones spanning more than 1 TiB (RAM at 4 MiB and at 2 TiB): the directory would
    // not fit one buddy block. Expect: the heap refuses with Unsupported and takes nothing.
    [Fact]
    public void SpanBeyondOneTiB_IsUnsupported()
    {
        using var meta = new HostMemory(64UL << 20);
        var md = new HostMetadata(meta.Base, meta.Size, 0x1_0000_0000_0000);
        var b = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        try
        {
            ulong* r = stackalloc ulong[4] { 1024, 2048, 1UL << 29, (1UL << 29) + 1024 };
            Assert.Equal(Status.Ok, b->Init(ref md, r, 2, ZoneLayout.Flat(), PcpConfig.Off));
            b->AddFreeRange(1024, 2048);
            b->AddFreeRange(1UL << 29, (1UL << 29) + 1024);
            ulong free0 = b->FreeFrames;
            HeapPages pages = default;
            Assert.Equal(Status.Unsupported, pages.Init(ref *b, new SharpMM.Addressing.DirectMap(0), HeapConfig.Default));
            Assert.Equal(free0, b->FreeFrames);
            Assert.False(pages.IsReady);
        }
        finally { NativeMemory.Free(b); }
    }
}
