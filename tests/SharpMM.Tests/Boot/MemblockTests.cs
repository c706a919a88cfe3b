using System;
using System.Collections.Generic;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Boot;

public unsafe class MemblockTests : IDisposable
{
    private readonly HostMemory _ram = new(64UL << 20);
    private readonly Memblock* _mb;

    public MemblockTests()
    {
        _mb = (Memblock*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)sizeof(Memblock));
        _mb->Init(new DirectMap((ulong)_ram.Base));
    }

    public void Dispose()
    {
        System.Runtime.InteropServices.NativeMemory.Free(_mb);
        _ram.Dispose();
    }

    private ref Memblock M => ref *_mb;

    //   memory: [0x1000, 0x3000) + [0x3000, 0x5000) + [0x8000, 0x9000)
    // Expect: touching ranges merge into one; the disjoint one stays apart.
    [Fact]
    public void AddMemory_MergesTouchingRanges()
    {
        Assert.Equal(Status.Ok, M.AddMemory(0x1000, 0x3000));
        Assert.Equal(Status.Ok, M.AddMemory(0x3000, 0x5000));
        Assert.Equal(Status.Ok, M.AddMemory(0x8000, 0x9000));
        Assert.Equal(Status.Ok, M.AddMemory(0x2000, 0x4000)); // inside: no change
        Assert.Equal(2, M.MemoryCount);
        Assert.Equal(0x1000UL, M.Memory(0).Start);
        Assert.Equal(0x5000UL, M.Memory(0).End);
        Assert.Equal(Status.EndBeforeStart, M.AddMemory(0x9000, 0x8000));
    }

    //   reserved: kernel [0x100000, 0x200000); then "other" over [0x180000, 0x280000)
    // Expect: the overlap keeps its first owner; only [0x200000, 0x280000) is new.
    [Fact]
    public void Reserve_OverlapKeepsExistingOwner()
    {
        Assert.Equal(Status.Ok, M.Reserve(0x100000, 0x200000, ReservedFor.KernelImage));
        Assert.Equal(Status.Ok, M.Reserve(0x180000, 0x280000, ReservedFor.Modules));
        Assert.Equal(2, M.ReservedCount);
        Assert.Equal(ReservedFor.KernelImage, M.Reserved(0).Owner);
        Assert.Equal(0x200000UL, M.Reserved(0).End);
        Assert.Equal(ReservedFor.Modules, M.Reserved(1).Owner);
        Assert.Equal(0x200000UL, M.Reserved(1).Start);
        Assert.Equal(0x280000UL, M.Reserved(1).End);
    }

    //   memory [0, 16 MiB); reserved [15 MiB, 16 MiB)
    // Expect: allocations come from the top of what is free, aligned, below the limit, never page 0.
    [Fact]
    public void Allocate_TopDown_Aligned_BelowLimit_NeverPageZero()
    {
        Assert.Equal(Status.Ok, M.AddMemory(0, 16UL << 20));
        Assert.Equal(Status.Ok, M.Reserve(15UL << 20, 16UL << 20, ReservedFor.Other));
        Assert.Equal(Status.Ok, M.Allocate(0x3000, 0x1000, ulong.MaxValue, ReservedFor.BootAllocation, out ulong a));
        Assert.Equal((15UL << 20) - 0x3000, a);
        Assert.Equal(Status.Ok, M.Allocate(0x1000, 1UL << 20, ulong.MaxValue, ReservedFor.BootAllocation, out ulong b));
        Assert.Equal(14UL << 20, b);
        Assert.Equal(Status.Ok, M.Allocate(0x1000, 0x1000, 8UL << 20, ReservedFor.BootAllocation, out ulong c));
        Assert.Equal((8UL << 20) - 0x1000, c);
        // Fill everything else: the last page handed out is page 1, never page 0.
        var got = new List<ulong>();
        while (M.Allocate(0x1000, 0x1000, ulong.MaxValue, ReservedFor.BootAllocation, out ulong p) == Status.Ok) got.Add(p);
        Assert.DoesNotContain(0UL, got);
        Assert.Contains(0x1000UL, got);
        Assert.Equal(Status.InvalidArgument, M.Allocate(0, 0x1000, ulong.MaxValue, ReservedFor.Other, out _));
        Assert.Equal(Status.InvalidArgument, M.Allocate(0x1000, 3, ulong.MaxValue, ReservedFor.Other, out _));
    }

    [Fact]
    public void Full_ReservedSet_IsNoSpace_AndChangesNothing()
    {
        Assert.Equal(Status.Ok, M.AddMemory(0, 64UL << 20));
        for (int i = 0; i < Memblock.Capacity; i++)
            Assert.Equal(Status.Ok, M.Reserve((ulong)i * 0x2000, (ulong)i * 0x2000 + 0x1000, ReservedFor.Other));
        Assert.Equal(Status.NoSpace, M.Reserve(0x10000000, 0x10001000, ReservedFor.Other));
        Assert.Equal(Memblock.Capacity, M.ReservedCount);
        Assert.Equal(Status.Ok, M.Reserve(0x1000, 0x2000, ReservedFor.Other)); // merges two: fits
        Assert.Equal(Memblock.Capacity - 1, M.ReservedCount);
    }

    private struct Collect : IFreeRangeSink
    {
        public List<(ulong, ulong)> Ranges;
        public void AddFreeRange(Pfn start, Pfn end) => Ranges.Add((start.Value, end.Value));
    }

    //   memory [0x1000, 0x10000) and [0x20000, 0x30000); reserved [0x4000, 0x6000) and [0x2f800, 0x31000)
    // Expect: free frames [1,4) [6,16) [32,47); memblock retired afterwards, any use panics.
    [Fact]
    public void HandOver_GivesFreeFrames_ThenRetires()
    {
        M.AddMemory(0x1000, 0x10000);
        M.AddMemory(0x20000, 0x30000);
        M.Reserve(0x4000, 0x6000, ReservedFor.KernelImage);
        M.Reserve(0x2f800, 0x31000, ReservedFor.Other);
        var sink = new Collect { Ranges = new() };
        ulong frames = M.HandOver(ref sink);
        Assert.Equal(new[] { (1UL, 4UL), (6UL, 16UL), (32UL, 47UL) }, sink.Ranges);
        Assert.Equal(3UL + 10 + 15, frames);
        Assert.True(M.IsRetired);
        var ex = Assert.Throws<PanicException>(() => M.AddMemory(0x50000, 0x60000));
        Assert.Contains("after hand-over", ex.Message);
        Assert.Throws<PanicException>(() => M.Allocate(0x1000, 0x1000, ulong.MaxValue, ReservedFor.Other, out _));
    }

    [Fact]
    public void MetadataAllocations_AreZeroed()
    {
        M.AddMemory(0x100000, 16UL << 20);
        byte* p = _ram.Base + (15UL << 20);
        for (int i = 0; i < 4096; i++) p[i] = 0xAA;
        Assert.Equal(Status.Ok, M.AllocateMetadata(4096, 4096, out byte* v, out PhysAddr phys));
        Assert.Equal((ulong)_ram.Base + phys.Value, (ulong)v);
        for (int i = 0; i < 4096; i++) Assert.Equal(0, v[i]);
    }

    //   memory [1 MiB, 64 MiB), direct-map limit 16 MiB (a 32-bit kernel's low memory)
    // Expect: metadata is placed top-down below the limit, not at the top of RAM; a request
    // that does not fit below the limit is OutOfMemory even though RAM above it is free.
    [Fact]
    public void MetadataAllocations_StayBelowTheDirectMapLimit()
    {
        M.Init(new DirectMap((ulong)_ram.Base), 16UL << 20);
        M.AddMemory(0x100000, 64UL << 20);
        Assert.Equal(Status.Ok, M.AllocateMetadata(8192, 4096, out _, out PhysAddr phys));
        Assert.Equal((16UL << 20) - 8192, phys.Value);
        Assert.Equal(Status.OutOfMemory, M.AllocateMetadata(16UL << 20, 4096, out _, out _));
    }

    // Without a limit (0), metadata goes to the top of RAM as before.
    [Fact]
    public void MetadataAllocations_WithoutLimit_GoToTheTopOfRam()
    {
        M.Init(new DirectMap((ulong)_ram.Base), 0);
        M.AddMemory(0x100000, 64UL << 20);
        Assert.Equal(Status.Ok, M.AllocateMetadata(8192, 4096, out _, out PhysAddr phys));
        Assert.Equal((64UL << 20) - 8192, phys.Value);
    }

    [Fact]
    public void Dump_ListsOwners()
    {
        M.AddMemory(0x1000, 0x100000);
        M.Reserve(0x9000, 0xa000, ReservedFor.BootInfo);
        var w = SharpMM.Hosted.StringSink.NewWriter();
        M.Dump(ref w);
        string text = w.Sink.Text.ToString();
        Assert.Contains("memblock: memory 1 ranges", text);
        Assert.Contains("[mem 0x0000000000009000-0x0000000000009fff] boot-info", text);
    }
}
