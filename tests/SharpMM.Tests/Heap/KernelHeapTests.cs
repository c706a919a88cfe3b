using System;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Heap;

/// <summary>kmalloc, kzalloc, krealloc, ksize, kfree: sizes, the large path, and every kind of
/// bad free, each refused with its status and without any change.</summary>
public unsafe class KernelHeapTests
{
    // Expect: each request lands in the smallest class that holds it (ksize = class size),
    // 8-byte aligned; power-of-two classes are naturally aligned (slabs are page aligned).
    [Theory]
    [InlineData(1ul, 8ul)]
    [InlineData(8ul, 8ul)]
    [InlineData(9ul, 16ul)]
    [InlineData(65ul, 96ul)]
    [InlineData(150ul, 192ul)]
    [InlineData(200ul, 256ul)]
    [InlineData(2047ul, 2048ul)]
    [InlineData(4000ul, 4096ul)]
    [InlineData(8192ul, 8192ul)]
    public void SmallRequests_GoToTheirClass(ulong size, ulong classSize)
    {
        using var f = new HeapFixture(2048);
        Assert.Equal(Status.Ok, f.H.Kmalloc(size, out void* p));
        Assert.Equal(0UL, (ulong)p & 7);
        if ((classSize & (classSize - 1)) == 0) Assert.Equal(0UL, (ulong)p & (classSize - 1));
        Assert.Equal(Status.Ok, f.H.Ksize(p, out ulong usable));
        Assert.Equal(classSize, usable);
        new Span<byte>(p, (int)usable).Fill(0xA5); // the whole class size is usable
        Assert.Equal(1UL, f.H.Cache(KmallocClasses.ClassOf(size)).ActiveObjects);
        Assert.Equal(Status.Ok, f.H.Kfree(p));
        f.DestroyAndCheck();
    }

    // 10,000 bytes + the 16-byte header need 3 pages: an order-2 block (4 pages). The pointer
    // is 16 bytes into the block; the header holds the size; meminfo counts the pages.
    [Fact]
    public void LargeRequests_AreBuddyBlocksWithAHeader()
    {
        using var f = new HeapFixture(2048);
        ulong free0 = f.Buddy->FreeFrames;
        Assert.Equal(Status.Ok, f.H.Kmalloc(10_000, out void* p));
        Assert.Equal(LargeHeader.Bytes, (ulong)p & PageSize.OffsetMask);
        var h = (LargeHeader*)((byte*)p - LargeHeader.Bytes);
        Assert.Equal(10_000UL, h->Size);
        Assert.Equal(LargeHeader.MagicFor(10_000), h->Magic);
        Assert.Equal(4UL, f.Pages.LargePages);
        Assert.Equal(10_000UL, f.Pages.LargeBytes);
        Assert.Equal(1UL, f.Pages.LargeCount);
        Assert.True(free0 - f.Buddy->FreeFrames >= 4);
        Assert.Equal(Status.Ok, f.H.Ksize(p, out ulong usable));
        Assert.Equal(4 * 4096UL - 16, usable); // the whole block is usable
        new Span<byte>(p, (int)usable).Fill(1);
        f.H.Validate();
        Assert.Equal(Status.Ok, f.H.Kfree(p));
        Assert.Equal(0UL, f.Pages.LargePages);
        Assert.Equal(0UL, f.Pages.LargeCount);
        Assert.Equal(Status.Ok, f.H.Kmalloc(KernelHeap<BuddyClassFrames, DirectLargeMapper>.MaxLargeSize, out void* biggest));
        Assert.Equal(1024UL, f.Pages.LargePages);
        Assert.Equal(Status.Ok, f.H.Kfree(biggest));
        f.DestroyAndCheck();
    }

    [Fact]
    public void ZeroAndOversizedRequests_AreInvalid()
    {
        using var f = new HeapFixture(512);
        var before = HeapSnapshot.Take(f);
        Assert.Equal(Status.InvalidArgument, f.H.Kmalloc(0, out void* p));
        Assert.True(p == null);
        Assert.Equal(Status.InvalidArgument, f.H.Kmalloc(KernelHeap<BuddyClassFrames, DirectLargeMapper>.MaxLargeSize + 1, out p));
        Assert.Equal(Status.InvalidArgument, f.H.Kmalloc(ulong.MaxValue, out p));
        Assert.Equal(before, HeapSnapshot.Take(f));
        f.DestroyAndCheck();
    }

    // kzalloc hands out zeros even where the previous owner left data.
    [Fact]
    public void Kzalloc_Zeroes()
    {
        using var f = new HeapFixture(1024);
        f.H.Kmalloc(100, out void* a);
        new Span<byte>(a, 128).Fill(0xEE);
        f.H.Kfree(a);
        Assert.Equal(Status.Ok, f.H.Kzalloc(100, out void* b));
        Assert.Equal((ulong)a, (ulong)b); // the same object came back
        Assert.True(new Span<byte>(b, 100).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(Status.Ok, f.H.Kzalloc(20_000, out void* big));
        Assert.True(new Span<byte>(big, 20_000).IndexOfAnyExcept((byte)0) < 0);
        f.H.Kfree(b); f.H.Kfree(big);
        f.DestroyAndCheck();
    }

    // krealloc: stays put while the object or block can hold the new size, else moves with
    // its contents (up to the smaller size); null allocates; size 0 frees.
    [Fact]
    public void Krealloc_GrowsShrinksAndMoves()
    {
        using var f = new HeapFixture(4096);
        Assert.Equal(Status.Ok, f.H.Krealloc(null, 40, out void* p));
        Fill(p, 40, 1);
        Assert.Equal(Status.Ok, f.H.Krealloc(p, 64, out void* q));      // kmalloc-64 holds 64
        Assert.Equal((ulong)p, (ulong)q);
        Assert.Equal(Status.Ok, f.H.Krealloc(q, 10, out q));             // shrinking keeps the object
        Assert.Equal((ulong)p, (ulong)q);
        Assert.Equal(Status.Ok, f.H.Krealloc(q, 1000, out void* r));     // moves to kmalloc-1k
        Assert.NotEqual((ulong)p, (ulong)r);
        Check(r, 40, 1);
        Assert.Equal(Status.DoubleFree, f.H.Kfree(p));                   // the old object was freed
        Fill(r, 1000, 2);
        Assert.Equal(Status.Ok, f.H.Krealloc(r, 9000, out void* big));   // to the large path
        Check(big, 1000, 2);
        Fill(big, 9000, 3);
        Assert.Equal(Status.Ok, f.H.Krealloc(big, 12_000, out void* big2)); // 3 pages hold 12,000 + 16
        Assert.Equal((ulong)big, (ulong)big2);
        Assert.Equal(12_000UL, ((LargeHeader*)((byte*)big2 - 16))->Size);
        Assert.Equal(Status.Ok, f.H.Krealloc(big2, 100_000, out void* big3)); // needs more pages: moves
        Check(big3, 9000, 3);
        Assert.Equal(Status.Ok, f.H.Krealloc(big3, 500, out void* small)); // back to a slab
        Check(small, 500, 3);
        Assert.Equal(1UL, f.H.Cache(KmallocClasses.ClassOf(500)).ActiveObjects);
        Assert.Equal(0UL, f.Pages.LargeCount);
        Assert.Equal(Status.Ok, f.H.Krealloc(small, 0, out void* none));
        Assert.True(none == null);
        Assert.Equal(Status.DoubleFree, f.H.Krealloc(small, 10, out none)); // a freed pointer is refused
        f.H.Validate();
        f.DestroyAndCheck();
    }

    // Every bad free: the status names it and the heap is exactly as before.
    // A frame that another owner took from the buddy allocator keeps the list links it held
    // while it headed a free block (the allocator does not clear them). Here they are the frame
    // number of a 64-frame-aligned block, which has the shape of a slab descriptor's address; a
    // kfree of a pointer into the frame must not follow it, but refuse the frame as not the heap's.
    [Fact]
    public void Kfree_OfAFrameWithOldListLinks_IsRefused()
    {
        using var f = new HeapFixture(4096);
        const uint order = 6;
        // Order-6 blocks (all 64-frame aligned) until two of them, x and y, have their buddies
        // held too, so that freeing them merges nothing and leaves both on the order-6 list.
        var held = new System.Collections.Generic.List<ulong>();
        ulong x = 0, y = 0;
        while (x == 0)
        {
            Assert.Equal(Status.Ok, f.Buddy->Allocate(order, MemoryClass.Kernel, out Pfn b));
            held.Add(b.Value);
            foreach (ulong c in held)
                foreach (ulong d in held)
                    if (x == 0 && c != d && (c ^ d) != 1UL << (int)order
                        && held.Contains(c ^ (1UL << (int)order)) && held.Contains(d ^ (1UL << (int)order)))
                    { x = c; y = d; }
        }
        Assert.Equal(Status.Ok, f.Buddy->Free(Pfn.New(y), order));
        Assert.Equal(Status.Ok, f.Buddy->Free(Pfn.New(x), order)); // x heads the list, its next is y
        Assert.Equal(Status.Ok, f.Buddy->Allocate(order, MemoryClass.Kernel, out Pfn again));
        Assert.Equal(x, again.Value);
        ulong oldWord = *(ulong*)f.Buddy->Map.Links((uint)x);
        Assert.Equal(y, oldWord);                         // the link to y is still in x's word
        Assert.True(FrameOwner.IsAddress(oldWord));       // and looks like a descriptor's address

        byte* p = f.Map.ToVirt(Pfn.New(x).ToAddr().Value);
        var before = HeapSnapshot.Take(f);
        Assert.Equal(Status.NotAllocated, f.H.Kfree(p));
        Assert.Equal(Status.NotAllocated, f.H.Kfree(p + 64));
        Assert.Equal(Status.NotAllocated, f.H.Ksize(p, out _));
        Assert.Equal(before, HeapSnapshot.Take(f));

        held.Remove(y);
        foreach (ulong b in held) Assert.Equal(Status.Ok, f.Buddy->Free(Pfn.New(b), order));
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void BadFrees_ReturnTheirStatus_AndChangeNothing()
    {
        using var f = new HeapFixture(4096);
        var live = new void*[50];
        for (int i = 0; i < 50; i++) f.H.Kmalloc(64, out live[i]);
        f.H.Kmalloc(64, out void* freed);
        f.H.Kmalloc(30_000, out void* large);
        f.H.Kmalloc(30_000, out void* freedLarge);
        Assert.Equal(Status.Ok, f.H.Kfree(freedLarge));
        Assert.Equal(Status.Ok, f.H.Kfree(freed)); // parked in the hot slot
        f.Buddy->Allocate(0, SharpMM.Physical.MemoryClass.Kernel, out Pfn foreignFrame);
        byte* notHeap = f.Map.ToVirt(foreignFrame.ToAddr().Value);
        void* neverAllocated = (byte*)live[0] + 64 * 60;  // a free object of the same slab
        ulong onStack = 0;

        var before = HeapSnapshot.Take(f);
        Assert.Equal(Status.DoubleFree, f.H.Kfree(freed));               // in the hot slot
        Assert.Equal(Status.Misaligned, f.H.Kfree((byte*)live[3] + 8));  // interior
        Assert.Equal(Status.Misaligned, f.H.Kfree((byte*)live[3] + 1));
        Assert.Equal(Status.DoubleFree, f.H.Kfree(neverAllocated));      // free in its slab
        Assert.Equal(Status.OutOfRange, f.H.Kfree(&onStack));            // foreign
        Assert.Equal(Status.OutOfRange, f.H.Kfree((void*)0x1000));
        Assert.Equal(Status.NotAllocated, f.H.Kfree(notHeap));           // RAM the heap does not own
        Assert.Equal(Status.NotAllocated, f.H.Kfree(notHeap + 16));
        Assert.Equal(Status.DoubleFree, f.H.Kfree(freedLarge));          // freed large block
        Assert.Equal(Status.Misaligned, f.H.Kfree((byte*)large + 8));    // inside the first page
        Assert.Equal(Status.Misaligned, f.H.Kfree((byte*)large + 4096)); // a later page of the block
        Assert.Equal(Status.Misaligned, f.H.Kfree((byte*)large - 16));   // the header itself
        Assert.Equal(Status.Ok, f.H.Kfree(null));
        Assert.Equal(Status.DoubleFree, f.H.Ksize(freed, out _));
        Assert.Equal(Status.DoubleFree, f.H.Krealloc(freed, 100, out _));
        Assert.Equal(Status.Misaligned, f.H.Krealloc((byte*)large + 8, 100, out _));
        Assert.Equal(before, HeapSnapshot.Take(f));

        // Corrupted header: magic, then size. Refused until repaired.
        var h = (LargeHeader*)((byte*)large - LargeHeader.Bytes);
        uint magic = h->Magic;
        h->Magic ^= 0x100;
        Assert.Equal(Status.Malformed, f.H.Kfree(large));
        h->Magic = magic;
        h->Size = 60_000;          // still large, but the magic no longer matches
        Assert.Equal(Status.Malformed, f.H.Kfree(large));
        h->Size = 100;             // a small size with a matching magic: not a large block
        h->Magic = LargeHeader.MagicFor(100);
        Assert.Equal(Status.Malformed, f.H.Kfree(large));
        h->Size = 60_000;          // consistent magic, but larger than the block
        h->Magic = LargeHeader.MagicFor(60_000);
        Assert.Equal(Status.Malformed, f.H.Kfree(large));
        h->Size = 30_000;
        h->Magic = magic;
        Assert.Equal(before, HeapSnapshot.Take(f));
        f.H.Validate();

        // The live objects move on: the object parked in the hot slot goes to the magazine,
        // then to its slab; a double free is caught at every stage.
        Assert.Equal(Status.Ok, f.H.Kfree(live[0]));
        Assert.Equal(Status.DoubleFree, f.H.Kfree(freed));  // now in the magazine
        for (int i = 1; i < 50; i++) Assert.Equal(Status.Ok, f.H.Kfree(live[i]));
        f.H.Shrink();                                          // now free in its slab, or gone
        Assert.NotEqual(Status.Ok, f.H.Kfree(freed));
        Assert.NotEqual(Status.Ok, f.H.Kfree(live[7]));
        Assert.Equal(Status.Ok, f.H.Kfree(large));
        Assert.Equal(Status.Ok, f.Buddy->Free(foreignFrame, 0));
        f.H.Validate();
        f.DestroyAndCheck();
    }

    // An object parked in the hot slot is free: a second free of it is refused; handed out
    // again from the slot it is allocated once more and can be freed once; freeing another
    // object moves the parked one on without confusing either.
    [Fact]
    public void HotSlot_ParkedObjects_AreFree()
    {
        using var f = new HeapFixture(1024);
        f.H.Kmalloc(64, out void* a);
        f.H.Kmalloc(64, out void* b);
        Assert.Equal(Status.Ok, f.H.Kfree(a));   // a parked
        Assert.True(f.Pages.Hot[0].IsParked);
        Assert.Equal(Status.DoubleFree, f.H.Kfree(a));
        f.H.Kmalloc(64, out void* a2);           // taken from the slot
        Assert.Equal((ulong)a, (ulong)a2);
        Assert.False(f.Pages.Hot[0].IsParked);
        Assert.Equal(Status.Ok, f.H.Kfree(a2));
        Assert.Equal(Status.DoubleFree, f.H.Kfree(a2));
        f.H.Kmalloc(64, out a2);
        Assert.Equal(Status.Ok, f.H.Kfree(b));   // b parked; a stays allocated
        Assert.Equal(1UL, f.H.Cache(3).ActiveObjects);
        Assert.Equal(Status.Ok, f.H.Kfree(a2));  // a parked, b moves to the magazine
        Assert.Equal(Status.DoubleFree, f.H.Kfree(a2));
        Assert.Equal(Status.DoubleFree, f.H.Kfree(b));
        f.H.Validate();
        f.DestroyAndCheck();
    }

    [Fact]
    public void Destroy_RefusesWhileAnythingIsLive()
    {
        using var f = new HeapFixture(1024);
        f.H.Kmalloc(20_000, out void* big);
        Assert.Equal(Status.InvalidArgument, f.H.Destroy());
        f.H.Kfree(big);
        f.H.Kmalloc(8, out void* small);
        Assert.Equal(Status.InvalidArgument, f.H.Destroy());
        Assert.True(f.H.IsReady);
        f.H.Kfree(small);
        f.DestroyAndCheck();
    }

    private static void Fill(void* p, int n, byte v) => new Span<byte>(p, n).Fill(v);

    private static void Check(void* p, int n, byte v) =>
        Assert.True(new Span<byte>(p, n).IndexOfAnyExcept(v) < 0, $"contents lost (expected {v} x {n})");
}
