using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Physical;

/// <summary>
/// The checks every frame allocator passes. Each derived class builds a private allocator over
/// simulated RAM (16 MiB, frames reachable through a direct map) and says what it manages.
/// </summary>
public abstract unsafe class FrameAllocatorConformance<T> : IDisposable where T : unmanaged, IFrameAllocator
{
    protected readonly HostMemory Ram = new(16UL << 20);
    protected readonly HostMemory Meta = new(8UL << 20);
    protected HostMetadata Metadata;
    protected DirectMap Dm;
    protected T* A;

    protected FrameAllocatorConformance()
    {
        Metadata = new HostMetadata(Meta.Base, Meta.Size, 0x1_0000_0000_0000);
        Dm = new DirectMap((ulong)Ram.Base);
        A = (T*)NativeMemory.AllocZeroed((nuint)sizeof(T));
        Build(ref *A);
    }

    /// <summary>Initialise the allocator over part of the 4096 frames.</summary>
    protected abstract void Build(ref T a);
    /// <summary>Frames [Lo, Hi) are the only ones it may hand out.</summary>
    protected abstract ulong Lo { get; }
    protected abstract ulong Hi { get; }
    /// <summary>Full structural check where the allocator has one.</summary>
    protected virtual void Validate(ref T a) { }

    public void Dispose()
    {
        NativeMemory.Free(A);
        Ram.Dispose();
        Meta.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Write(ulong pfn, uint order, ulong tag)
    {
        ulong frames = 1UL << (int)order;
        for (ulong i = 0; i < frames; i++)
        {
            ulong* p = (ulong*)Dm.ToVirt((pfn + i) << PageSize.Shift);
            p[0] = tag ^ (pfn + i);
            p[511] = ~tag ^ (pfn + i);
        }
    }

    private void CheckPattern(ulong pfn, uint order, ulong tag, string ctx)
    {
        ulong frames = 1UL << (int)order;
        for (ulong i = 0; i < frames; i++)
        {
            ulong* p = (ulong*)Dm.ToVirt((pfn + i) << PageSize.Shift);
            Assert.True(p[0] == (tag ^ (pfn + i)) && p[511] == (~tag ^ (pfn + i)), $"{ctx}: data in frame {pfn + i} was overwritten");
        }
    }

    [Fact]
    public void AllocateUntilOutOfMemory_GivesEveryFrameOnce_AndDataSurvives()
    {
        ulong free0 = A->FreeFrames;
        var owned = new HashSet<ulong>();
        var blocks = new List<(ulong pfn, uint order)>();
        var rng = new Random(11);
        while (true)
        {
            uint order = (uint)Math.Min(A->MaxOrder, (uint)BitOps.Ctz((ulong)rng.NextInt64() | (1UL << 3)));
            var st = A->Allocate(order, out Pfn p);
            if (st == Status.OutOfMemory)
            {
                if (order == 0) break;
                continue;
            }
            Assert.Equal(Status.Ok, st);
            Assert.True((p.Value & ((1UL << (int)order) - 1)) == 0, $"block {p.Value} not aligned to order {order}");
            for (ulong i = 0; i < (1UL << (int)order); i++)
            {
                ulong f = p.Value + i;
                Assert.True(f >= Lo && f < Hi, $"frame {f} outside [{Lo}, {Hi})");
                Assert.True(owned.Add(f), $"frame {f} handed out twice");
            }
            blocks.Add((p.Value, order));
            Write(p.Value, order, 0x5a5a0000UL + (ulong)blocks.Count);
        }
        Assert.Equal(0UL, A->FreeFrames); // an order-0 failure means nothing is left
        if (A->CanFree) Assert.Equal(free0, (ulong)owned.Count);
        for (int i = 0; i < blocks.Count; i++) CheckPattern(blocks[i].pfn, blocks[i].order, 0x5a5a0000UL + (ulong)(i + 1), "after fill");
        Validate(ref *A);
    }

    [Theory]
    [InlineData("forward")]
    [InlineData("backward")]
    [InlineData("random")]
    public void FreeInAnyOrder_RestoresTheStartingCount(string freeOrder)
    {
        if (!A->CanFree) { Assert.Equal(Status.Unsupported, A->Free(Pfn.NewUnchecked(Lo), 0)); return; }
        ulong free0 = A->FreeFrames;
        var blocks = new List<(ulong, uint)>();
        var rng = new Random(5);
        for (int i = 0; i < 300; i++)
        {
            uint order = (uint)rng.Next(0, (int)Math.Min(A->MaxOrder, 3u) + 1);
            if (A->Allocate(order, out Pfn p) == Status.Ok) blocks.Add((p.Value, order));
        }
        Assert.NotEmpty(blocks);
        IEnumerable<(ulong, uint)> seq = freeOrder switch
        {
            "forward" => blocks,
            "backward" => Enumerable.Reverse(blocks),
            _ => blocks.OrderBy(_ => rng.Next()).ToList(),
        };
        foreach (var (pfn, order) in seq) Assert.Equal(Status.Ok, A->Free(Pfn.NewUnchecked(pfn), order));
        Assert.Equal(free0, A->FreeFrames);
        Validate(ref *A);
    }

    [Fact]
    public void DoubleFree_IsRefused_AndChangesNothing()
    {
        if (!A->CanFree) return;
        Assert.Equal(Status.Ok, A->Allocate(0, out Pfn p));
        Assert.Equal(Status.Ok, A->Allocate(0, out Pfn q));
        Assert.Equal(Status.Ok, A->Free(p, 0));
        ulong free = A->FreeFrames;
        var st = A->Free(p, 0);
        Assert.True(st is Status.DoubleFree or Status.NotAllocated, $"double free returned {st}");
        Assert.Equal(free, A->FreeFrames);
        // The frame is handed out once more, not twice.
        var seen = new HashSet<ulong> { q.Value };
        while (A->Allocate(0, out Pfn r) == Status.Ok) Assert.True(seen.Add(r.Value), $"frame {r.Value} handed out twice after a refused double free");
        Validate(ref *A);
    }

    [Fact]
    public void ForeignAndMisalignedFrees_AreRefused()
    {
        if (!A->CanFree) return;
        ulong free = A->FreeFrames;
        Assert.NotEqual(Status.Ok, A->Free(Pfn.NewUnchecked(Hi + 5000), 0));
        Assert.NotEqual(Status.Ok, A->Free(Pfn.NewUnchecked(0), 0));
        Assert.Equal(Status.InvalidArgument, A->Allocate(A->MaxOrder + 1, out _));
        if (A->MaxOrder >= 1)
        {
            Assert.Equal(Status.Ok, A->Allocate(1, out Pfn p));
            Assert.Equal(Status.Misaligned, A->Free(p.Add(1), 1));
            Assert.Equal(Status.Ok, A->Free(p, 1));
        }
        Assert.Equal(free, A->FreeFrames);
        Validate(ref *A);
    }

    /// <summary>
    /// Seeded random allocate/free sequences against a reference model (a frame ownership set):
    /// after each step no frame is owned twice, counts add up and the structure validates;
    /// at the end the rest is freed forward, backward or at random.
    /// </summary>
    [Theory]
    [InlineData(1, "forward")]
    [InlineData(2, "backward")]
    [InlineData(3, "random")]
    [InlineData(4, "random")]
    public void RandomSequences_MatchReferenceModel(int seed, string finalOrder)
    {
        if (!A->CanFree) return;
        var rng = new Random(seed);
        ulong free0 = A->FreeFrames;
        var owner = new Dictionary<ulong, ulong>(); // frame -> block start
        var live = new List<(ulong pfn, uint order)>();
        ulong liveFrames = 0;
        void Check(bool ok, string what, int step)
        {
            if (!ok) Assert.Fail($"seed={seed} step={step}: {what}");
        }
        for (int step = 0; step < 2000; step++)
        {
            bool alloc = live.Count == 0 || rng.Next(100) < 55;
            if (alloc)
            {
                uint order = Math.Min(A->MaxOrder, (uint)BitOps.Ctz((ulong)rng.NextInt64() | (1UL << 6)));
                var st = A->Allocate(order, out Pfn p);
                if (st == Status.OutOfMemory) { Check(A->FreeFrames < free0, "out of memory with everything free", step); continue; }
                Check(st == Status.Ok, $"allocate returned {st}", step);
                Check((p.Value & ((1UL << (int)order) - 1)) == 0, "misaligned block", step);
                for (ulong i = 0; i < (1UL << (int)order); i++)
                {
                    ulong f = p.Value + i;
                    Check(f >= Lo && f < Hi, $"frame {f} outside the managed range", step);
                    Check(owner.TryAdd(f, p.Value), $"frame {f} handed out twice", step);
                }
                live.Add((p.Value, order));
                liveFrames += 1UL << (int)order;
            }
            else
            {
                int k = rng.Next(live.Count);
                var (pfn, order) = live[k];
                live[k] = live[^1];
                live.RemoveAt(live.Count - 1);
                var st = A->Free(Pfn.NewUnchecked(pfn), order);
                Check(st == Status.Ok, $"free of {pfn}/{order} returned {st}", step);
                for (ulong i = 0; i < (1UL << (int)order); i++) owner.Remove(pfn + i);
                liveFrames -= 1UL << (int)order;
                // A second free of the same block must be refused.
                var again = A->Free(Pfn.NewUnchecked(pfn), order);
                Check(again != Status.Ok, "double free accepted", step);
            }
            Check(A->FreeFrames == free0 - liveFrames, $"free count {A->FreeFrames}, model says {free0 - liveFrames}", step);
            if (step % 50 == 0) Validate(ref *A);
        }
        IEnumerable<(ulong pfn, uint order)> rest = finalOrder switch
        {
            "forward" => live.OrderBy(b => b.pfn).ToList(),
            "backward" => live.OrderByDescending(b => b.pfn).ToList(),
            _ => live.OrderBy(_ => rng.Next()).ToList(),
        };
        foreach (var (pfn, order) in rest) Check(A->Free(Pfn.NewUnchecked(pfn), order) == Status.Ok, $"final free of {pfn}", -1);
        Check(A->FreeFrames == free0, "frames lost after freeing everything", -1);
        Validate(ref *A);
    }
}

internal static class BitOps
{
    public static int Ctz(ulong v) => System.Numerics.BitOperations.TrailingZeroCount(v);
}

public unsafe class BuddyConformance : FrameAllocatorConformance<BuddyAllocator>
{
    protected override ulong Lo => 256;
    protected override ulong Hi => 4096;
    protected override void Build(ref BuddyAllocator a)
    {
        ReadOnlySpan<PhysRange> ram = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(256), Pfn.New(4096)) };
        Assert.Equal(Status.Ok, a.Init(ref Metadata, ram, ZoneLayout.X86_64(), PcpConfig.Default));
        a.AddFreeRange(Pfn.New(256), Pfn.New(1000));
        a.AddFreeRange(Pfn.New(1010), Pfn.New(4096)); // a reserved hole at [1000, 1010)
    }
    protected override void Validate(ref BuddyAllocator a) => a.Validate();
}

public unsafe class BuddyNoPcpConformance : FrameAllocatorConformance<BuddyAllocator>
{
    protected override ulong Lo => 300;
    protected override ulong Hi => 3000;
    protected override void Build(ref BuddyAllocator a)
    {
        ReadOnlySpan<PhysRange> ram = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(300), Pfn.New(3000)) };
        Assert.Equal(Status.Ok, a.Init(ref Metadata, ram, ZoneLayout.Flat(), PcpConfig.Off));
        a.AddFreeRange(Pfn.New(300), Pfn.New(3000));
    }
    protected override void Validate(ref BuddyAllocator a) => a.Validate();
}

public unsafe class BitmapConformance : FrameAllocatorConformance<BitmapFrameAllocator>
{
    protected override ulong Lo => 257;
    protected override ulong Hi => 4000;
    protected override void Build(ref BitmapFrameAllocator a)
    {
        Assert.Equal(Status.Ok, a.Init(ref Metadata, PhysRange.FromFrames(Pfn.New(257), Pfn.New(4000))));
        a.AddFreeRange(Pfn.New(257), Pfn.New(2000));
        a.AddFreeRange(Pfn.New(2100), Pfn.New(4000));
    }
    protected override void Validate(ref BitmapFrameAllocator a) => a.Validate();
}

public unsafe class FreeListConformance : FrameAllocatorConformance<FreeListFrameAllocator>
{
    protected override ulong Lo => 256;
    protected override ulong Hi => 1024;
    protected override void Build(ref FreeListFrameAllocator a) =>
        Assert.Equal(Status.Ok, a.Init(ref Metadata, Dm, PhysRange.FromFrames(Pfn.New(256), Pfn.New(1024))));
}

public unsafe class BumpConformance : FrameAllocatorConformance<BumpFrameAllocator>
{
    protected override ulong Lo => 300;
    protected override ulong Hi => 1500;
    protected override void Build(ref BumpFrameAllocator a) => Assert.Equal(Status.Ok, a.Init(Dm, PhysRange.FromFrames(Pfn.New(300), Pfn.New(1500))));
}

public unsafe class LowMemoryConformance : FrameAllocatorConformance<LowMemoryAllocator>
{
    protected override ulong Lo => 1;
    protected override ulong Hi => 159;
    protected override void Build(ref LowMemoryAllocator a)
    {
        Assert.Equal(Status.Ok, a.Init(ref Metadata));
        a.AddFreeRange(Pfn.New(1), Pfn.New(0x9f)); // QEMU's usable low memory: [0x1000, 0x9f000)
    }
}
