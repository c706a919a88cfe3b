using System;
using SharpMM.Addressing;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

/// <summary>
/// RAM near the 16 TiB limit (frame numbers are 32-bit): RAM that ends at the limit is
/// managed, RAM at or across it is refused with a warning and the rest boots; the totals
/// (present frames, meminfo's Present) are what the zones hold.
/// <code>
///   0            640K  1M          1G          16T - 1G        16T        16T + 1G
///   [ usable    ]      [ usable    ]           [ usable       ) limit  (  refused )
/// </code>
/// </summary>
public unsafe class ManagedLimitTests
{
    private const ulong TiB16 = 1UL << 44, GiB = 1UL << 30;

    private const string EndsAtLimit = """
        BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
        BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable
        BIOS-e820: [mem 0x00000fffc0000000-0x00000fffffffffff] usable
        """;

    private const string CrossesLimit = """
        BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
        BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable
        BIOS-e820: [mem 0x00000fffc0000000-0x000010003fffffff] usable
        """;

    private const string AboveLimit = """
        BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
        BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable
        BIOS-e820: [mem 0x0000100000000000-0x000010003fffffff] usable
        """;

    private static SimulatedMachine BootText(string log)
    {
        var m = SimulatedMachine.BootSanitized(SanitizedFromLog(log), BootInfo.Default());
        Assert.Equal(Status.Ok, m.BootStatus);
        return m;
    }

    private static SimulatedMachine BootE820(params (ulong Base, ulong Length, uint Type, uint Attributes)[] entries)
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, Load(E820(24, entries), ref raw, out MapError err, out MapFormat format));
        Assert.Equal(MapFormat.E820Entries24, format);
        var m = SimulatedMachine.Boot(ref raw, BootInfo.Default(), out err);
        Assert.True(m is not null, err.Reason);
        Assert.Equal(Status.Ok, m!.BootStatus);
        return m;
    }

    private static ulong ZonePresentSum(in PhysicalMemory pm)
    {
        ulong sum = 0;
        for (int z = 0; z < pm.Buddy.ZoneCount; z++) sum += pm.Buddy.GetZone(z).PresentFrames;
        return sum;
    }

    private static string Report(in PhysicalMemory pm)
    {
        var w = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteText(ref w, in pm);
        return w.Sink.Text.ToString();
    }

    // Expect: the last 256 MiB section ends at frame 2^32 and is managed whole: 1 GiB below
    // the limit present in Normal, nothing refused, the highest frame allocatable and writable.
    [Fact]
    public void RamEndingAtTheLimit_IsManaged()
    {
        using var m = BootText(EndsAtLimit);
        ref PhysicalMemory pm = ref *m.Memory;
        Assert.Equal(0UL, pm.RefusedRamBytes);
        Assert.Equal(GiB >> 12, pm.Buddy.GetZone(2).PresentFrames);
        Assert.Equal(Pfn.ManagedLimit, pm.Buddy.GetZone(2).SpannedEndPfn);
        Assert.Equal(pm.PresentFrames, ZonePresentSum(in pm));
        pm.Buddy.Validate();
        // The top frame has metadata; draining every order, the highest frame handed out is
        // the one just below the highest reservation (the frame metadata, taken top-down).
        Assert.True(pm.Buddy.Map.HasMetadata(Pfn.New(Pfn.ManagedLimit - 1)));
        MemblockRegion top = pm.Memblock.Reserved(pm.Memblock.ReservedCount - 1);
        Assert.Equal(TiB16, top.End);
        ulong highest = 0;
        for (uint order = 10; order <= 10; order--)
            while (pm.Buddy.Allocate(order, MemoryClass.User, out Pfn p) == Status.Ok)
                highest = Math.Max(highest, p.Value + (1UL << (int)order) - 1);
        Assert.Equal((top.Start >> 12) - 1, highest);
        byte* last = (byte*)m.DirectMap.ToVirt((highest << 12) + 4095);
        *last = 0x5a;
        Assert.Equal(0x5a, *last);
    }

    // Expect: the 1 GiB above 16 TiB refused with a warning naming it; present frames, meminfo
    // Present and the zones agree on what is managed; the rest of the entry boots.
    [Fact]
    public void RamCrossingTheLimit_IsRefusedAboveIt_TotalsAgreeWithTheZones()
    {
        using var m = BootText(CrossesLimit);
        ref PhysicalMemory pm = ref *m.Memory;
        Assert.Equal(GiB, pm.RefusedRamBytes);
        Assert.Equal(GiB >> 12, pm.Buddy.GetZone(2).PresentFrames);
        Assert.Equal(pm.PresentFrames, ZonePresentSum(in pm));
        string text = Report(in pm);
        Assert.Contains("warning: RAM [mem 0x0000100000000000-0x000010003fffffff] refused", text);
        Assert.Contains($"{"Present:",-16}{pm.PresentFrames * 4,12} kB", text);
        Assert.Contains($"present frames: {pm.PresentFrames} ", text);
        var j = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteJson(ref j, in pm);
        using var doc = System.Text.Json.JsonDocument.Parse(j.Sink.Text.ToString());
        var refused = doc.RootElement.GetProperty("refused_ram");
        Assert.Equal(1, refused.GetArrayLength());
        Assert.Equal(TiB16, refused[0].GetProperty("start").GetUInt64());
        Assert.Equal(TiB16 + GiB, refused[0].GetProperty("end").GetUInt64());
        Assert.Equal(pm.PresentFrames, doc.RootElement.GetProperty("present_frames").GetUInt64());
        pm.Buddy.Validate();
    }

    // Expect: RAM wholly at or above 16 TiB refused; the low RAM boots with Normal empty.
    [Fact]
    public void RamAboveTheLimit_IsRefused_LowRamBoots()
    {
        using var m = BootText(AboveLimit);
        ref PhysicalMemory pm = ref *m.Memory;
        Assert.Equal(GiB, pm.RefusedRamBytes);
        Assert.Equal(0UL, pm.Buddy.GetZone(2).PresentFrames);
        Assert.Equal(pm.PresentFrames, ZonePresentSum(in pm));
        Assert.Contains("refused", Report(in pm));
    }

    // The same maps as raw 24-byte E820 entries {base, length, type 1 = usable, attributes 1}.
    [Fact]
    public void RawE820_EndingAtAndCrossingTheLimit()
    {
        using (var m = BootE820((0, 0x9fc00, 1, 1), (0x100000, GiB - 0x100000, 1, 1), (TiB16 - GiB, GiB, 1, 1)))
        {
            Assert.Equal(0UL, m.Memory->RefusedRamBytes);
            Assert.Equal(GiB >> 12, m.Memory->Buddy.GetZone(2).PresentFrames);
            m.Memory->Buddy.Validate();
        }
        using (var m = BootE820((0, 0x9fc00, 1, 1), (0x100000, GiB - 0x100000, 1, 1), (TiB16 - GiB, 2 * GiB, 1, 1)))
        {
            Assert.Equal(GiB, m.Memory->RefusedRamBytes);
            Assert.Equal(m.Memory->PresentFrames, ZonePresentSum(in *m.Memory));
            m.Memory->Buddy.Validate();
        }
    }

    // A 6 GiB q35 guest as QEMU maps it (2 GiB below the PCI hole, 4 GiB from 4 GiB up), booted
    // by a kernel whose tables reach 4 GiB (i386 without PAE: BootInfo.PhysicalLimit).
    private const string Q35SixGiB = """
        BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
        BIOS-e820: [mem 0x0000000000100000-0x000000007ffdffff] usable
        BIOS-e820: [mem 0x0000000100000000-0x00000001ffffffff] usable
        """;

    private static SimulatedMachine BootWithPhysicalLimit(string log, ulong limit)
    {
        BootInfo info = BootInfo.Default();
        info.Layout = ZoneLayout.I386();
        info.PhysicalLimit = limit;
        var m = SimulatedMachine.BootSanitized(SanitizedFromLog(log), info);
        Assert.Equal(Status.Ok, m.BootStatus);
        return m;
    }

    // Expect: the 4 GiB above 4 GiB refused with a warning that names the kernel's limit, every
    // zone ending at or below 4 GiB, the totals what the zones hold; JSON lists the refused range.
    [Fact]
    public void KernelPhysicalLimit_RefusesTheRamAboveIt()
    {
        using var m = BootWithPhysicalLimit(Q35SixGiB, 4 * GiB);
        ref PhysicalMemory pm = ref *m.Memory;
        Assert.Equal(4 * GiB, pm.RefusedFrom);
        Assert.Equal(4 * GiB, pm.RefusedRamBytes);
        Assert.Equal(pm.PresentFrames, ZonePresentSum(in pm));
        Assert.Equal((0x9fUL - 1) + (0x7ffe0UL - 0x100), pm.PresentFrames);
        for (int z = 0; z < pm.Buddy.ZoneCount; z++) Assert.True(pm.Buddy.GetZone(z).SpannedEndPfn <= (4 * GiB) >> 12);
        string text = Report(in pm);
        Assert.Contains("warning: RAM [mem 0x0000000100000000-0x00000001ffffffff] refused: at or above 4 GiB (the kernel's page tables reach no higher)", text);
        var j = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteJson(ref j, in pm);
        using var doc = System.Text.Json.JsonDocument.Parse(j.Sink.Text.ToString());
        var refused = doc.RootElement.GetProperty("refused_ram");
        Assert.Equal(1, refused.GetArrayLength());
        Assert.Equal(4 * GiB, refused[0].GetProperty("start").GetUInt64());
        Assert.Equal(8 * GiB, refused[0].GetProperty("end").GetUInt64());
        Assert.Equal(4 * GiB, doc.RootElement.GetProperty("refused_ram_bytes").GetUInt64());
        pm.Buddy.Validate();
    }

    // Expect: an entry across the kernel's limit is cut there; without a limit (0) the same map
    // is managed whole, and a limit above 16 TiB changes nothing.
    [Fact]
    public void KernelPhysicalLimit_CutsAnEntryAcrossIt_ZeroMeansNone()
    {
        const string across = """
            BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable
            BIOS-e820: [mem 0x0000000000100000-0x000000013fffffff] usable
            """;
        using (var m = BootWithPhysicalLimit(across, 4 * GiB))
        {
            Assert.Equal(GiB, m.Memory->RefusedRamBytes);
            Assert.Equal(m.Memory->PresentFrames, ZonePresentSum(in *m.Memory));
            Assert.Equal(((4 * GiB) >> 12) - 0x100 + 0x9f - 1, m.Memory->PresentFrames);
        }
        using (var m = BootWithPhysicalLimit(across, 0))
        {
            Assert.Equal(0UL, m.Memory->RefusedRamBytes);
            Assert.Equal(PhysicalMemory.ManagedLimitBytes, m.Memory->RefusedFrom);
        }
        using (var m = BootWithPhysicalLimit(across, 2 * TiB16))
            Assert.Equal(PhysicalMemory.ManagedLimitBytes, m.Memory->RefusedFrom);
    }
}
