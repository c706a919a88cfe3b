using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.Heap;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>kmem_cache-style caches: create, alloc, free, shrink, destroy, geometry, lists.</summary>
public unsafe class SlabCacheTests
{
    private static SlabCache* NewCache(HeapFixture f, uint size, uint align, string name, out Status s)
    {
        var c = (SlabCache*)NativeMemory.AllocZeroed((nuint)sizeof(SlabCache));
        s = c->Create(f.PagesPtr, size, align, name);
        return c;
    }

    // Expect: slot = size rounded up to the alignment; order 0..3, the smallest holding 8
    // objects (larger only when one object needs it); at most 512 objects per slab.
    [Theory]
    [InlineData(24u, 0u, 24u, 0u, 170u)]
    [InlineData(100u, 64u, 128u, 0u, 32u)]
    [InlineData(3000u, 8u, 3000u, 3u, 10u)]
    [InlineData(8u, 8u, 8u, 0u, 512u)]
    [InlineData(5u, 4u, 8u, 0u, 512u)]
    [InlineData(40000u, 4096u, 40960u, 4u, 1u)]
    public void Geometry(uint size, uint align, uint slot, uint order, uint objects)
    {
        using var f = new HeapFixture(2048);
        var c = NewCache(f, size, align, "geo", out Status s);
        Assert.Equal(Status.Ok, s);
        Assert.Equal(slot, c->SlotSize);
        Assert.Equal(order, c->SlabOrder);
        Assert.Equal(objects, c->ObjectsPerSlab);
        Assert.Equal(0UL, c->Slabs); // nothing taken before the first allocation
        Assert.Equal(Status.Ok, c->Destroy());
        NativeMemory.Free(c);
    }

    [Theory]
    [InlineData(0u, 8u)]
    [InlineData(64u, 3u)]
    [InlineData(64u, 8192u)]
    [InlineData((4u << 20) + 1, 8u)]
    public void BadArguments_AreRefused(uint size, uint align)
    {
        using var f = new HeapFixture(256);
        var c = NewCache(f, size, align, "bad", out Status s);
        Assert.Equal(Status.InvalidArgument, s);
        Assert.False(c->IsLive);
        Assert.Equal(Status.InvalidArgument, c->Allocate(out _));
        NativeMemory.Free(c);
    }

    // 1000 objects of 200 bytes aligned to 64 (slot 256, 16 per slab): all distinct, aligned,
    // writable without disturbing each other; freeing them all and shrinking gives every page back.
    [Fact]
    public void AllocFree_DistinctAlignedObjects_ShrinkReturnsEverything()
    {
        using var f = new HeapFixture(2048);
        var c = NewCache(f, 200, 64, "obj200", out _);
        ulong free0 = f.Buddy->FreeFrames, meta0 = f.Pages.MetadataPages;
        var objs = new List<ulong>();
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(Status.Ok, c->Allocate(out void* p));
            Assert.Equal(0UL, (ulong)p & 63);
            new Span<byte>(p, 200).Fill((byte)i);
            objs.Add((ulong)p);
        }
        Assert.Equal(1000, new HashSet<ulong>(objs).Count);
        for (int i = 0; i < 1000; i++) Assert.True(new Span<byte>((void*)objs[i], 200).IndexOfAnyExcept((byte)i) < 0, $"object {i} overwritten");
        Assert.Equal(1000UL, c->ActiveObjects);
        // 1000 / 16 = 63 slabs, plus what the last refill parked in the magazine.
        Assert.InRange(c->Slabs, 63UL, (1000UL + c->MagazineCapacity + 15) / 16);
        f.H.Validate();
        foreach (ulong p in objs) Assert.Equal(Status.Ok, c->Free((void*)p));
        Assert.Equal(0UL, c->ActiveObjects);
        Assert.True(c->EmptySlabs <= HeapConfig.Default.KeepEmptySlabs);
        f.H.Validate();
        c->Shrink();
        Assert.Equal(0UL, c->Slabs);
        Assert.Equal(free0, f.Buddy->FreeFrames + (f.Pages.MetadataPages - meta0));
        Assert.Equal(Status.Ok, c->Destroy());
        NativeMemory.Free(c);
        f.DestroyAndCheck();
    }

    // Freed objects wait in the per-CPU layer (hot slot, then magazine) and come back first:
    // the most recently freed one is handed out next.
    [Fact]
    public void FreedObjects_AreReusedFirst_LastInFirstOut()
    {
        using var f = new HeapFixture(1024);
        var c = NewCache(f, 64, 8, "lifo", out _);
        var p = new void*[40];
        for (int i = 0; i < 40; i++) c->Allocate(out p[i]);
        ulong cached = c->CpuCachedObjects; // the rest of the last refill batch
        Assert.Equal(Status.Ok, c->Free(p[10]));
        Assert.Equal(Status.Ok, c->Free(p[20]));
        Assert.Equal(cached + 2, c->CpuCachedObjects);
        c->Allocate(out void* a);
        c->Allocate(out void* b);
        Assert.Equal((ulong)p[20], (ulong)a);
        Assert.Equal((ulong)p[10], (ulong)b);
        f.H.Validate();
        Assert.Equal(Status.InvalidArgument, c->Destroy()); // objects still allocated
        Assert.True(c->IsLive);
        for (int i = 0; i < 40; i++) Assert.Equal(Status.Ok, c->Free(p[i] == a ? a : p[i] == b ? b : p[i]));
        Assert.Equal(Status.Ok, c->Destroy());
        NativeMemory.Free(c);
        f.DestroyAndCheck();
    }

    // A double free through the cache API, an interior pointer, and an object of another cache
    // are refused and change nothing.
    [Fact]
    public void BadFrees_AreRefused_AndChangeNothing()
    {
        using var f = new HeapFixture(1024);
        var c = NewCache(f, 48, 16, "a", out _);
        var d = NewCache(f, 48, 16, "b", out _);
        c->Allocate(out void* x);
        c->Allocate(out void* y);
        d->Allocate(out void* z);
        Assert.Equal(Status.Ok, c->Free(x));
        var before = HeapSnapshot.Take(f);
        Assert.Equal(Status.DoubleFree, c->Free(x));        // waiting in the hot slot
        Assert.Equal(Status.Misaligned, c->Free((byte*)y + 16));
        Assert.Equal(Status.InvalidArgument, c->Free(z));  // d's object
        ulong local = 0;
        Assert.Equal(Status.OutOfRange, c->Free(&local));
        Assert.Equal(before, HeapSnapshot.Take(f));
        Assert.Equal(Status.Ok, c->Free(y));               // x moves on to the magazine
        Assert.Equal(Status.DoubleFree, c->Free(x));
        f.H.Validate();
        Assert.Equal(Status.Ok, d->Free(z));
        Assert.Equal(Status.Ok, c->Destroy());
        Assert.Equal(Status.Ok, d->Destroy());
        NativeMemory.Free(c); NativeMemory.Free(d);
        f.DestroyAndCheck();
    }

    // Empty slabs beyond the configured number go back at once; the rest on shrink.
    [Fact]
    public void EmptySlabsBeyondTheKeptNumber_GoBackToTheBuddy()
    {
        var cfg = HeapConfig.Default;
        cfg.KeepEmptySlabs = 1;
        cfg.MagazineCapacity = 0; // every free reaches its slab
        using var f = new HeapFixture(1024, cfg);
        var c = NewCache(f, 512, 8, "k1", out _); // 8 per slab
        var objs = new void*[64];
        for (int i = 0; i < 64; i++) c->Allocate(out objs[i]);
        Assert.Equal(8UL, c->Slabs);
        for (int i = 0; i < 64; i++) c->Free(objs[i]);
        Assert.Equal(1UL, c->Slabs);
        Assert.Equal(1UL, c->EmptySlabs);
        Assert.Equal(7UL, c->SlabsReleased);
        Assert.Equal(4UL, c->Shrink() * 4); // one page
        Assert.Equal(0UL, c->Slabs);
        c->Destroy();
        NativeMemory.Free(c);
        f.DestroyAndCheck();
    }
}
