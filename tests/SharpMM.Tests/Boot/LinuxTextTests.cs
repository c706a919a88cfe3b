using System.Linq;
using SharpMM.Boot;
using SharpMM.Hosted;
using SharpMM.Physical;
using Xunit;

namespace SharpMM.Tests.Boot;

/// <summary>The boot report's zone lines as Linux prints them: "Zone ranges:" from
/// mm/mm_init.c and a /proc/zoneinfo block per zone.</summary>
public unsafe class LinuxTextTests
{
    private static string Report(ulong ram, string machine, ZoneLayout? zones = null)
    {
        var raw = QemuMaps.ForMachine(ram, machine);
        var info = BootInfo.Default();
        if (zones is ZoneLayout z) info.Layout = z;
        using var m = SimulatedMachine.Boot(ref raw, in info, out _)!;
        Assert.Equal(Status.Ok, m.BootStatus);
        var w = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteText(ref w, in *m.Memory);
        return w.Sink.Text.ToString();
    }

    private static string[] ZoneRanges(string text) =>
        text.Split('\n').SkipWhile(l => l != "Zone ranges:").Skip(1).TakeWhile(l => l.StartsWith("  ")).ToArray();

    // q35 with 6 GiB: RAM below 2 GiB and from 4 GiB. Expect (as Linux prints this guest):
    // DMA32 runs to its 4 GiB limit although RAM stops at 2 GiB; Normal ends with RAM.
    [Fact]
    public void ZoneRanges_RunToTheZoneLimits_NotToTheEndOfRamInside()
    {
        Assert.Equal(new[]
        {
            "  DMA      [mem 0x0000000000001000-0x0000000000ffffff]",
            "  DMA32    [mem 0x0000000001000000-0x00000000ffffffff]",
            "  Normal   [mem 0x0000000100000000-0x00000001ffffffff]",
        }, ZoneRanges(Report(6UL << 30, "q35")));
    }

    // pc with 512 MiB on the 32-bit zones. Expect: Normal ends with RAM; HighMem empty.
    [Fact]
    public void ZoneRanges_EndWithRam_LaterZonesEmpty()
    {
        Assert.Equal(new[]
        {
            "  DMA      [mem 0x0000000000001000-0x0000000000ffffff]",
            "  Normal   [mem 0x0000000001000000-0x000000001ffdffff]",
            "  HighMem  empty",
        }, ZoneRanges(Report(512UL << 20, "pc", ZoneLayout.I386())));
    }

    // Expect: a zoneinfo block per zone with Linux's labels; spanned is the zone range (DMA32:
    // 16 MiB to 4 GiB = 1044480 frames), present the RAM in it, managed what the buddy got.
    [Fact]
    public void Zoneinfo_HasABlockPerZone()
    {
        string[] lines = Report(6UL << 30, "q35").Split('\n');
        int at = System.Array.IndexOf(lines, "Node 0, zone    DMA32");
        Assert.True(at > 0);
        Assert.Equal("        spanned  1044480", lines[at + 2]);
        Assert.Equal("        present  520159", lines[at + 3]);
        Assert.StartsWith("        managed  ", lines[at + 4]);
        Assert.StartsWith("  pages free     ", lines[at + 1]);
        Assert.Equal("  start_pfn:           4096", lines[at + 10]);
        Assert.Contains("Node 0, zone      DMA", lines);
        Assert.Contains("Node 0, zone   Normal", lines);
    }

    // Expect: the JSON zones carry the same range and spanned count as the text.
    [Fact]
    public void Json_Zones_CarryRangeAndSpanned()
    {
        var raw = QemuMaps.ForMachine(6UL << 30, "q35");
        var info = BootInfo.Default();
        using var m = SimulatedMachine.Boot(ref raw, in info, out _)!;
        var w = SharpMM.Hosted.StringSink.NewWriter();
        BootReport.WriteJson(ref w, in *m.Memory);
        using var doc = System.Text.Json.JsonDocument.Parse(w.Sink.Text.ToString());
        var dma32 = doc.RootElement.GetProperty("zones")[1];
        Assert.Equal(4096UL, dma32.GetProperty("range_start_pfn").GetUInt64());
        Assert.Equal(1044480UL, dma32.GetProperty("spanned_frames").GetUInt64());
        Assert.Equal(0, doc.RootElement.GetProperty("refused_ram").GetArrayLength());
    }
}
