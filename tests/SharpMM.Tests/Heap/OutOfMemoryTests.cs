using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>Out of memory is a status at every step (slab pages, owner-table leaf, descriptor
/// page, large block, debug state) and leaves nothing half done; memory pressure makes the heap
/// give back what it caches before it fails.</summary>
public unsafe class OutOfMemoryTests
{
    // Leaves the buddy allocator exactly `left` free frames; returns what was taken.
    private static List<Pfn> Squeeze(HeapFixture f, ulong left)
    {
        var taken = new List<Pfn>();
        while (f.Buddy->FreeFrames > left && f.Buddy->Allocate(0, MemoryClass.Kernel, out Pfn p) == Status.Ok) taken.Add(p);
        Assert.Equal(left, f.Buddy->FreeFrames);
        return taken;
    }

    // With 0..12 frames left, the first allocation of each kind either succeeds or returns
    // OutOfMemory having taken nothing but reusable owner-table leaves (frames held + metadata
    // is conserved), and the heap validates and works once memory is back.
    [Theory]
    [InlineData(8ul, "fast")]
    [InlineData(64ul, "fast")]
    [InlineData(3000ul, "fast")]
    [InlineData(20_000ul, "fast")]
    [InlineData(64ul, "debug")]
    [InlineData(20_000ul, "debug")]
    public void FirstAllocation_FailsCleanly_WithAnyFewFramesLeft(ulong size, string mode)
    {
        for (ulong left = 0; left <= 12; left++)
        {
            using var f = new HeapFixture(256, mode == "debug" ? HeapConfig.Debugging : HeapConfig.Default);
            var taken = Squeeze(f, left);
            ulong meta0 = f.Pages.MetadataPages;
            Status s = f.H.Kmalloc(size, out void* p);
            if (s == Status.Ok)
            {
                new System.Span<byte>(p, (int)size).Fill(3);
                Assert.Equal(Status.Ok, f.H.Kfree(p));
            }
            else
            {
                Assert.Equal(Status.OutOfMemory, s);
                Assert.True(p == null);
                Assert.Equal(0UL, f.Pages.SlabPages);
                Assert.Equal(0UL, f.Pages.LargePages);
                Assert.Equal(0UL, f.Pages.Descriptors);
                Assert.Equal(left, f.Buddy->FreeFrames + (f.Pages.MetadataPages - meta0));
            }
            f.H.Validate();
            foreach (Pfn q in taken) Assert.Equal(Status.Ok, f.Buddy->Free(q, 0));
            Assert.Equal(Status.Ok, f.H.Kmalloc(size, out p));
            Assert.Equal(Status.Ok, f.H.Kfree(p));
            f.DestroyAndCheck();
        }
    }

    // Fill a 96-frame heap with 512-byte objects until it says OutOfMemory; every object is
    // intact; freeing them returns every frame.
    [Fact]
    public void FillingTheHeap_EndsInOutOfMemory_AndEverythingComesBack()
    {
        using var f = new HeapFixture(96);
        ulong meta0 = f.Pages.MetadataPages;
        var objs = new List<ulong>();
        Status s;
        while ((s = f.H.Kmalloc(512, out void* p)) == Status.Ok)
        {
            *(ulong*)p = (ulong)objs.Count;
            objs.Add((ulong)p);
        }
        Assert.Equal(Status.OutOfMemory, s);
        Assert.True(objs.Count > 500);
        f.H.Validate();
        for (int i = 0; i < objs.Count; i++) Assert.Equal((ulong)i, *(ulong*)objs[i]);
        Assert.Equal(Status.OutOfMemory, f.H.Kmalloc(20_000, out _));
        Assert.Equal(Status.OutOfMemory, f.H.Krealloc((void*)objs[0], 4000, out void* moved));
        Assert.True(moved == null);
        Assert.Equal(0UL, *(ulong*)objs[0]);                  // untouched and still live
        Assert.Equal(Status.Ok, f.H.Ksize((void*)objs[0], out _));
        foreach (ulong p in objs) Assert.Equal(Status.Ok, f.H.Kfree((void*)p));
        f.H.Shrink();
        Assert.Equal(f.FreeAfterInit, f.Buddy->FreeFrames + (f.Pages.MetadataPages - meta0));
        f.DestroyAndCheck();
    }

    // Memory pressure: one cache holds only free memory (a kept empty slab, parked objects);
    // another needs a page the buddy allocator no longer has. Expect: the heap shrinks every
    // cache, counts a reclaim, and the allocation succeeds.
    [Fact]
    public void Pressure_ReclaimsCachedMemory_BeforeFailing()
    {
        using var f = new HeapFixture(128);
        var objs = new List<ulong>();
        for (int i = 0; i < 40; i++) { f.H.Kmalloc(2048, out void* p); objs.Add((ulong)p); }
        foreach (ulong p in objs) f.H.Kfree((void*)p);
        Assert.True(f.Pages.SlabPages > 0);
        var taken = Squeeze(f, 0);
        Assert.Equal(0UL, f.Pages.Reclaims);
        Assert.Equal(Status.Ok, f.H.Kmalloc(100, out void* q));
        Assert.Equal(1UL, f.Pages.Reclaims);
        Assert.Equal(0UL, f.H.Cache(KmallocClasses.ClassOf(2048)).Slabs);
        f.H.Kfree(q);
        foreach (Pfn p in taken) f.Buddy->Free(p, 0);
        f.DestroyAndCheck();
    }

    // Debug mode needs 16 KiB of state at Init: with 3 frames left, Init fails and takes nothing.
    [Fact]
    public void Init_OutOfMemory_HoldsNothing()
    {
        using var meta = new HostMemory(8UL << 20);
        using var ram = new HostMemory(64 * 4096);
        var md = new HostMetadata(meta.Base, meta.Size, 0x1_0000_0000_0000);
        var b = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        var h = (KernelHeap<BuddyClassFrames, DirectLargeMapper>*)NativeMemory.AllocZeroed((nuint)sizeof(KernelHeap<BuddyClassFrames, DirectLargeMapper>));
        try
        {
            ReadOnlySpan<PhysRange> frames = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(1024), Pfn.New(1024 + 64)) };
            Assert.Equal(Status.Ok, b->Init(ref md, frames, ZoneLayout.Flat(), PcpConfig.Off));
            b->AddFreeRange(Pfn.New(1024), Pfn.New(1024 + 64));
            var taken = new List<Pfn>();
            while (b->FreeFrames > 3 && b->Allocate(0, MemoryClass.Kernel, out Pfn p) == Status.Ok) taken.Add(p);
            var map = new DirectMap((ulong)ram.Base - (1024UL << 12));
            Assert.Equal(Status.OutOfMemory, h->Init(new BuddyClassFrames(b, MemoryClass.Kernel), map, new DirectLargeMapper(map), HeapConfig.Debugging));
            Assert.Equal(3UL, b->FreeFrames);
            Assert.False(h->IsReady);
            Assert.Equal(Status.Ok, h->Init(new BuddyClassFrames(b, MemoryClass.Kernel), map, new DirectLargeMapper(map), HeapConfig.Default));
            Assert.Equal(Status.Ok, h->Destroy());
            Assert.Equal(3UL, b->FreeFrames);
            foreach (Pfn p in taken) b->Free(p, 0);
        }
        finally { NativeMemory.Free(h); NativeMemory.Free(b); }
    }
}
