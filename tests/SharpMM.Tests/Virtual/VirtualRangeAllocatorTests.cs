using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using SharpMM.Virtual;
using Xunit;

namespace SharpMM.Tests.Virtual;

public unsafe class VirtualRangeAllocatorTests : IDisposable
{
    private const ulong Base = 0xC0400000, Top = 0xC0800000; // 4 MiB window
    private readonly VirtualRangeAllocator* _a = (VirtualRangeAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(VirtualRangeAllocator));
    private ref VirtualRangeAllocator A => ref *_a;

    public VirtualRangeAllocatorTests() => Assert.Equal(Status.Ok, A.Init(Base, Top));
    public void Dispose() => NativeMemory.Free(_a);

    //   [ a: 8K | guard | b: 4K | guard | free ... ]
    // Expect: b starts after a's guard page; the guard is never handed out.
    [Fact]
    public void Allocations_AreSeparatedByAGuardPage()
    {
        Assert.Equal(Status.Ok, A.Allocate(8192, 4096, out ulong a));
        Assert.Equal(Status.Ok, A.Allocate(100, 4096, out ulong b));
        Assert.Equal(Base, a);
        Assert.Equal(Base + 8192 + 4096, b);
        Assert.True(A.TryGetSize(b, out ulong size) && size == 4096);
        Assert.Equal((Top - Base) - (8192 + 4096) - (4096 + 4096), A.FreeBytes);
        A.Validate();
    }

    [Fact]
    public void Alignment_IsHonoured()
    {
        Assert.Equal(Status.Ok, A.Allocate(4096, 4096, out _));
        Assert.Equal(Status.Ok, A.Allocate(4096, 1UL << 21, out ulong big));
        Assert.Equal(0UL, big & ((1UL << 21) - 1));
        Assert.Equal(Status.InvalidArgument, A.Allocate(4096, 3, out _));
        Assert.Equal(Status.InvalidArgument, A.Allocate(0, 4096, out _));
        A.Validate();
    }

    [Fact]
    public void BadFrees_AreRefused_AndChangeNothing()
    {
        Assert.Equal(Status.Ok, A.Allocate(16384, 4096, out ulong a));
        ulong free = A.FreeBytes;
        Assert.Equal(Status.NotAllocated, A.Free(a + 4096));          // inside
        Assert.Equal(Status.NotAllocated, A.Free(a + 16384));         // its guard
        Assert.Equal(Status.OutOfRange, A.Free(0x1000));
        Assert.Equal(free, A.FreeBytes);
        Assert.Equal(Status.Ok, A.Free(a));
        Assert.Equal(Status.NotAllocated, A.Free(a));                 // double free
        Assert.Equal(Top - Base, A.FreeBytes);
        A.Validate();
    }

    [Fact]
    public void OutOfSpace_IsAStatus()
    {
        Assert.Equal(Status.Ok, A.Allocate(Top - Base - 4096, 4096, out _)); // all but the guard
        Assert.Equal(Status.OutOfMemory, A.Allocate(4096, 4096, out _));
        A.Validate();
    }

    // Seeded random allocate/free against a reference list: no overlap (guards included),
    // counts add up, everything merges back into one free range at the end.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomSequences_MatchReferenceModel(int seed)
    {
        var rng = new Random(seed);
        var live = new Dictionary<ulong, ulong>();
        for (int step = 0; step < 3000; step++)
        {
            if (live.Count == 0 || rng.Next(100) < 55)
            {
                ulong size = (ulong)rng.Next(1, 40) * 1024, align = 1UL << rng.Next(12, 17);
                var st = A.Allocate(size, align, out ulong va);
                if (st is Status.OutOfMemory or Status.NoSpace) continue;
                Assert.True(st == Status.Ok, $"seed={seed} step={step}: {st}");
                ulong pages = (size + 4095) & ~4095UL;
                Assert.True(va % align == 0 && va >= Base && va + pages + 4096 <= Top, $"seed={seed} step={step}: bad range 0x{va:x}");
                foreach (var (s, n) in live)
                    Assert.False(va < s + n + 4096 && s < va + pages + 4096, $"seed={seed} step={step}: 0x{va:x} overlaps 0x{s:x} or a guard");
                live[va] = pages;
            }
            else
            {
                ulong va = live.Keys.ElementAt(rng.Next(live.Count));
                Assert.True(A.Free(va) == Status.Ok, $"seed={seed} step={step}: free failed");
                live.Remove(va);
            }
            if (step % 100 == 0) A.Validate();
        }
        foreach (ulong va in live.Keys.ToList()) Assert.Equal(Status.Ok, A.Free(va));
        Assert.Equal(Top - Base, A.FreeBytes);
        A.Validate();
    }
}
