using System;
using System.Linq;
using System.Text;
using SharpMM.Boot;
using SharpMM.Diagnostics;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public class BootLogWriterTests
{
    [Fact]
    public void PrintsLinuxFormat()
    {
        var map = Map((0, 0x9fc00, MemoryType.Usable), (0x9fc00, 0xa0000, MemoryType.Reserved),
            (0x7ffe0000, 0x7fff0000, MemoryType.AcpiData), (0x7fff0000, 0x80000000, MemoryType.AcpiNvs),
            (0x100000000, 0x180000000, MemoryType.Persistent), (0x180000000, 0x200000000, MemoryType.PersistentLegacy),
            (0x200000000, 0x280000000, MemoryType.SoftReserved), (0x280000000, 0x280001000, MemoryType.Unusable),
            (0x280001000, 0x280002000, MemoryType.Disabled), (0xfffffffffffff000, ulong.MaxValue, MemoryType.Reserved));
        Assert.Equal(
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n" +
            "BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved\n" +
            "BIOS-e820: [mem 0x000000007ffe0000-0x000000007ffeffff] ACPI data\n" +
            "BIOS-e820: [mem 0x000000007fff0000-0x000000007fffffff] ACPI NVS\n" +
            "BIOS-e820: [mem 0x0000000100000000-0x000000017fffffff] persistent (type 7)\n" +
            "BIOS-e820: [mem 0x0000000180000000-0x00000001ffffffff] persistent (type 12)\n" +
            "BIOS-e820: [mem 0x0000000200000000-0x000000027fffffff] soft reserved\n" +
            "BIOS-e820: [mem 0x0000000280000000-0x0000000280000fff] unusable\n" +
            "BIOS-e820: [mem 0x0000000280001000-0x0000000280001fff] type 6\n" +
            "BIOS-e820: [mem 0xfffffffffffff000-0xfffffffffffffffe] reserved\n",
            Dump(map));
    }

    [Fact]
    public void CustomPrefix()
    {
        var map = Map((0x100000, 0x200000, MemoryType.Usable));
        var w = new TextWriter<StringSink>(new StringSink { Text = new StringBuilder() });
        BootLogWriter.Write(ref w, map, "sharpmm");
        Assert.Equal("sharpmm: [mem 0x0000000000100000-0x00000000001fffff] usable\n", w.Sink.Text.ToString());

        var back = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLogSource(w.Sink.Text.ToString(), "sharpmm", ref back, out _));
        Assert.Equal(Entries(map), Entries(back));
    }

    [Fact]
    public void RoundTrip_EveryTypeAndEdge()
    {
        var map = Map((0, 0x9fc00, MemoryType.Usable), (0x9fc00, 0xa0000, MemoryType.Reserved),
            (0x5000, 0x5000, MemoryType.Reserved), (0x100000, 0x7fe0000, MemoryType.Usable),
            (0x7fe0000, 0x7ff0000, MemoryType.AcpiData), (0x7ff0000, 0x8000000, MemoryType.AcpiNvs),
            (0x8000000, 0x8001000, MemoryType.Unusable), (0x8001000, 0x8002000, MemoryType.Disabled),
            (0x100000000, 0x140000000, MemoryType.Persistent), (0x140000000, 0x180000000, MemoryType.PersistentLegacy),
            (0x180000000, 0x1c0000000, MemoryType.SoftReserved), (0x1c0000000, 0x1c0001000, (MemoryType)0x1234),
            (0xfffffffffffff000, ulong.MaxValue, MemoryType.Reserved), (ulong.MaxValue, ulong.MaxValue, MemoryType.Reserved));
        var back = new MemoryMap();
        var st = ParseLog(Dump(map), ref back, out var error);
        Assert.True(st == Status.Ok, Describe(error));
        Assert.Equal(Entries(map), Entries(back));
    }

    [Fact]
    public void RoundTrip_RandomSanitizedMaps()
    {
        for (int seed = 1; seed <= 200; seed++)
        {
            var rng = new Random(seed);
            var raw = new MemoryMap();
            raw.Add(0x100000, 0x200000, MemoryType.Usable);
            int n = rng.Next(1, 120);
            for (int i = 0; i < n; i++)
            {
                ulong s = (ulong)rng.NextInt64(0, long.MaxValue) * (ulong)rng.Next(1, 3);
                ulong len = (ulong)rng.NextInt64(1, 1L << rng.Next(1, 40));
                ulong e = s > ulong.MaxValue - len ? ulong.MaxValue : s + len;
                raw.Add(s, e, (MemoryType)rng.Next(1, 13));
            }
            var clean = new MemoryMap();
            var status = MapSanitizer.Sanitize(ref raw, ref clean, out var error);
            Assert.True(status == Status.Ok, $"seed {seed}: {Describe(error)}");
            string text = Dump(clean);
            var back = new MemoryMap();
            Assert.True(ParseLog(text, ref back, out error) == Status.Ok, $"seed {seed}: {Describe(error)}");
            Assert.True(Entries(clean).SequenceEqual(Entries(back)), $"seed {seed}: round trip differs\n{text}");
        }
    }

    [Theory]
    [InlineData(MemoryType.Usable, "usable")]
    [InlineData(MemoryType.Reserved, "reserved")]
    [InlineData(MemoryType.AcpiData, "acpi_data")]
    [InlineData(MemoryType.AcpiNvs, "acpi_nvs")]
    [InlineData(MemoryType.Unusable, "unusable")]
    [InlineData(MemoryType.Persistent, "persistent")]
    [InlineData(MemoryType.PersistentLegacy, "persistent")]
    [InlineData(MemoryType.SoftReserved, "soft_reserved")]
    [InlineData(MemoryType.Disabled, "other")]
    [InlineData((MemoryType)99, "other")]
    public void JsonNames(MemoryType t, string name) => Assert.Equal(name, MemoryTypeNames.JsonName(t));
}
