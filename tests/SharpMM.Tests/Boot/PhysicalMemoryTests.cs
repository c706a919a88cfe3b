using System.Linq;
using System.Text.Json;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Boot;

/// <summary>The boot sequence, hosted, end to end.</summary>
public unsafe class PhysicalMemoryTests
{
    private static SimulatedMachine Boot(MemoryMap raw, BootInfo? info = null)
    {
        var bi = info ?? BootInfo.Default();
        var m = SimulatedMachine.Boot(ref raw, in bi, out MapError err);
        Assert.True(m is not null, $"sanitize failed: {err.Reason}");
        Assert.Equal(Status.Ok, m!.BootStatus);
        return m;
    }

    // QEMU pc 128 MiB with a 2 MiB kernel at 1 MiB.
    // Expect: Linux's counts (DMA present 3998, 32638 present); the 158 usable frames below
    // 1 MiB go to the low-memory allocator; every present frame is accounted for:
    // present = buddy managed + low + frames memblock reserved above 1 MiB (the kernel image,
    // 512 frames, and the frame metadata of the buddy and low-memory allocators).
    [Fact]
    public void QemuPc128M_EveryFrameAccountedFor()
    {
        var info = BootInfo.Default();
        info.KernelImage = PhysRange.FromBounds(0x100000, 0x300000);
        using var m = Boot(QemuMaps.ForMachine(128UL << 20, "pc"), info);
        ref PhysicalMemory pm = ref *m.Memory;
        Assert.True(pm.IsReady);
        Assert.True(pm.Memblock.IsRetired);
        Assert.Equal(3998UL, pm.Buddy.GetZone(0).PresentFrames);
        Assert.Equal(32638UL, pm.PresentFrames);
        Assert.Equal(158UL, pm.LowFrames);
        Assert.Equal(FrameState.Reserved, pm.Buddy.StateOf(Pfn.New(0x100)));
        ulong reservedAbove1M = 0, kernel = 0, metadata = 0;
        for (int i = 0; i < pm.Memblock.ReservedCount; i++)
        {
            var r = pm.Memblock.Reserved(i);
            if (r.End <= 0x100000) continue;
            ulong frames = (r.End - System.Math.Max(r.Start, 0x100000UL)) / 4096;
            reservedAbove1M += frames;
            if (r.Owner == ReservedFor.KernelImage) kernel += frames;
            if (r.Owner == ReservedFor.FrameMetadata) metadata += frames;
        }
        Assert.Equal(512UL, kernel);
        // The frame table and the per-CPU caches, + the low-memory bitmaps' page.
        Assert.Equal((pm.Buddy.Map.MetadataBytes + pm.Buddy.PcpBytes + 4095) / 4096 + 1, metadata);
        Assert.Equal(reservedAbove1M, kernel + metadata);
        Assert.Equal(pm.PresentFrames, pm.Buddy.ManagedFrames + pm.LowFrames + reservedAbove1M);
        Assert.Equal(pm.Buddy.ManagedFrames, pm.HandedOverFrames);
        Assert.Equal(pm.Buddy.ManagedFrames, pm.Buddy.FreeFrames);
        pm.Buddy.Validate();
    }

    // RAM at 4 GiB and 16 MiB just below 2^52: the high RAM is refused (frame numbers are 32-bit),
    // the rest boots. Expect: refused_ram_bytes = 16 MiB, metadata sized by the low RAM only.
    [Fact]
    public void RamNear2Pow52_IsRefused_RestBoots()
    {
        var raw = new MemoryMap();
        raw.Add(0, 0x9fc00, MemoryType.Usable);
        raw.Add(0x100000, 64UL << 20, MemoryType.Usable);
        raw.Add((1UL << 52) - (16UL << 20), 1UL << 52, MemoryType.Usable);
        using var m = SimulatedMachine.BootSanitized(Sanitized(raw), BootInfo.Default());
        Assert.Equal(Status.Ok, m.BootStatus);
        Assert.Equal(16UL << 20, m.Memory->RefusedRamBytes);
        Assert.True(m.Memory->Buddy.Map.MetadataBytes < (1UL << 20));
        var w = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteText(ref w, in *m.Memory);
        Assert.Contains("refused", w.Sink.Text.ToString());
    }

    // RAM at 1 MiB..64 MiB and 64 MiB at 15 TiB: both managed, metadata sized by what is present.
    [Fact]
    public void SparseRamAt15TiB_IsManaged_WithSmallMetadata()
    {
        var raw = new MemoryMap();
        raw.Add(0x100000, 64UL << 20, MemoryType.Usable);
        raw.Add(15UL << 40, (15UL << 40) + (64UL << 20), MemoryType.Usable);
        using var m = SimulatedMachine.BootSanitized(Sanitized(raw), BootInfo.Default());
        Assert.Equal(Status.Ok, m.BootStatus);
        Assert.Equal(0UL, m.Memory->RefusedRamBytes);
        Assert.True(m.Memory->Buddy.Map.MetadataBytes < (4UL << 20), $"{m.Memory->Buddy.Map.MetadataBytes} bytes");
        Assert.Equal(Status.Ok, m.Memory->Buddy.Allocate(10, MemoryClass.User, out Pfn p));
        Assert.True(p.Value >= (15UL << 28));
        ulong* q = (ulong*)m.DirectMap.ToVirt(p.ToAddr().Value);
        q[0] = 42;
        Assert.Equal(42UL, q[0]);
    }

    [Fact]
    public void NoUsableRam_IsEmptyMap()
    {
        var raw = new MemoryMap();
        raw.Add(0xf0000, 0x100000, MemoryType.Reserved);
        MemoryMap s = default;
        Assert.Equal(Status.EmptyMap, MapSanitizer.Sanitize(ref raw, ref s, out var err));
        Assert.NotNull(err.Reason);
    }

    private static MemoryMap Sanitized(MemoryMap raw)
    {
        MemoryMap s = default;
        Assert.Equal(Status.Ok, MapSanitizer.Sanitize(ref raw, ref s, out _));
        return s;
    }

    // The JSON report carries the fields the CLI promises and agrees with the structures.
    [Fact]
    public void JsonReport_HasTheDocumentedFields()
    {
        using var m = Boot(QemuMaps.ForMachine(6UL << 30, "q35"));
        var w = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteJson(ref w, in *m.Memory);
        using var doc = JsonDocument.Parse(w.Sink.Text.ToString());
        var root = doc.RootElement;
        Assert.Equal(m.Memory->PresentFrames, root.GetProperty("present_frames").GetUInt64());
        var zones = root.GetProperty("zones").EnumerateArray().ToArray();
        Assert.Equal(new[] { "DMA", "DMA32", "Normal" }, zones.Select(z => z.GetProperty("name").GetString()));
        Assert.Equal(m.Memory->PresentFrames, zones.Aggregate(0UL, (a, z) => a + z.GetProperty("present_frames").GetUInt64()));
        Assert.Equal(1048576UL, zones[2].GetProperty("start_pfn").GetUInt64());
        foreach (var z in zones) Assert.True(z.GetProperty("free_frames").GetUInt64() <= z.GetProperty("present_frames").GetUInt64());
        Assert.Equal(11, root.GetProperty("buddyinfo")[1].GetProperty("free_blocks").GetArrayLength());
        var map = root.GetProperty("map").EnumerateArray().ToArray();
        Assert.Contains(map, e => e.GetProperty("type").GetString() == "usable" && e.GetProperty("start").GetUInt64() == 0x100000000);
        var owners = root.GetProperty("reserved").EnumerateArray().Select(r => r.GetProperty("owner").GetString()).ToArray();
        Assert.Contains("page_zero", owners);
        Assert.Contains("frame_metadata", owners);
    }

    // The i386 higher-half layout: DMA, Normal below 896 MiB, HighMem above; user pages come
    // from HighMem first, kernel pages never do.
    [Fact]
    public void I386Layout_KeepsKernelPagesBelowTheDirectMapLimit()
    {
        var info = BootInfo.Default();
        info.Layout = ZoneLayout.I386();
        using var m = Boot(QemuMaps.ForMachine(2UL << 30, "pc"), info);
        ref BuddyAllocator b = ref m.Memory->Buddy;
        Assert.Equal("HighMem", b.GetZone(2).Name);
        Assert.Equal(Status.Ok, b.Allocate(0, MemoryClass.User, out Pfn user));
        Assert.True(user.Value >= (896UL << 8));
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(Status.Ok, b.Allocate(4, MemoryClass.Kernel, out Pfn k));
            Assert.True(k.Value + 16 <= (896UL << 8), $"kernel block at frame {k.Value} is not directly mapped");
        }
        b.Validate();
    }
}
