using System.Linq;
using System.Text;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public class BootLogParserTests
{
    [Fact]
    public void ReadsTableLines_EndInclusive_AnyPrefix()
    {
        const string log =
            "[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n" +
            "Nov 21 09:42:01 host kernel: BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved\n" +
            "<6>[    0.000000] BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved\n" +
            "BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9fc00UL, MemoryType.Usable),
            (0x9fc00UL, 0xa0000UL, MemoryType.Reserved),
            (0xf0000UL, 0x100000UL, MemoryType.Reserved),
            (0x100000UL, 0x7fe0000UL, MemoryType.Usable),
        }, Entries(raw));
    }

    [Theory]
    [InlineData("usable", MemoryType.Usable)]
    [InlineData("System RAM", MemoryType.Usable)]
    [InlineData("kernel usable RAM", MemoryType.Usable)]
    [InlineData("reserved", MemoryType.Reserved)]
    [InlineData("device reserved", MemoryType.Reserved)]
    [InlineData("ACPI data", MemoryType.AcpiData)]
    [InlineData("ACPI NVS", MemoryType.AcpiNvs)]
    [InlineData("unusable", MemoryType.Unusable)]
    [InlineData("soft reserved", MemoryType.SoftReserved)]
    [InlineData("persistent (type 7)", MemoryType.Persistent)]
    [InlineData("persistent (type 12)", MemoryType.PersistentLegacy)]
    [InlineData("persistent RAM (type 12)", MemoryType.PersistentLegacy)]
    [InlineData("type 6", MemoryType.Disabled)]
    [InlineData("type 20", (MemoryType)20)]
    [InlineData("type 4294967295", (MemoryType)uint.MaxValue)]
    public void TypeWords(string word, MemoryType expected)
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog($"BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] {word}\n", ref raw, out _));
        Assert.Equal(expected, raw[0].Type);
    }

    [Fact]
    public void Linux26Format_EndExclusive_TypeInParentheses()
    {
        const string log =
            "BIOS-provided physical RAM map:\n" +
            " BIOS-e820: 0000000000000000 - 000000000009f800 (usable)\n" +
            " BIOS-e820: 00000000bfee0000 - 00000000bfef8000 (ACPI data)\n" +
            " BIOS-e820: 00000000fec00000 - 00000000fec10000 type 9\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9f800UL, MemoryType.Usable),
            (0xbfee0000UL, 0xbfef8000UL, MemoryType.AcpiData),
            (0xfec00000UL, 0xfec10000UL, (MemoryType)9),
        }, Entries(raw));
    }

    [Fact]
    public void NewerKernels_GapLinesSkipped_SizeColumnIgnored()
    {
        const string log =
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff]  639   KB System RAM\n" +
            "BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff]    1   KB device reserved\n" +
            "BIOS-e820: [gap 0x00000000000a0000-0x00000000000effff]  320   KB ...\n" +
            "BIOS-e820: [mem 0x0000000000100000-0x000000007ffdbfff]    1.9 GB System RAM\n" +
            "BIOS-e820: [gap 0x0000000080000000-0x00000000afffffff]  768   MB ...\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9fc00UL, MemoryType.Usable),
            (0x9fc00UL, 0xa0000UL, MemoryType.Reserved),
            (0x100000UL, 0x7ffdc000UL, MemoryType.Usable),
        }, Entries(raw));
    }

    [Fact]
    public void RangeMentionsThatAreNotTableLines_AreIgnored()
    {
        const string log =
            "e820: BIOS-provided physical RAM map:\n" +
            "BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] usable\n" +
            "e820: update [mem 0x00000000-0x00000fff] usable ==> reserved\n" +
            "e820: remove [mem 0x000a0000-0x000fffff] usable\n" +
            "e820: [mem 0x08000000-0xfeffbfff] available for PCI devices\n" +
            "e820: reserve RAM buffer [mem 0x0009fc00-0x0009ffff]\n" +
            "RAMDISK: [mem 0x07c2b000-0x07fdffff]\n" +
            "  node   0: [mem 0x0000000000001000-0x000000000009efff]\n" +
            "PM: hibernation: Registered nosave memory: [mem 0x00000000-0x00000fff]\n" +
            "mybios-e820: [mem 0x0000000000000000-0x0000000000000fff] usable\n" +
            "efi: mem00: [Conventional|   |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000000000-0x000000000009ffff] (0MB)\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(new[] { (0x100000UL, 0x7fe0000UL, MemoryType.Usable) }, Entries(raw));
    }

    [Fact]
    public void OnlyTheFirstSource_IsRead_OthersOnRequest()
    {
        const string log =
            "BIOS-e820: [mem 0x0000000000100000-0x000000003fffffff] usable\n" +
            "user-defined physical RAM map:\n" +
            "user: [mem 0x0000000000100000-0x000000001fffffff] usable\n" +
            "modified physical RAM map:\n" +
            "modified: [mem 0x0000000000100000-0x000000000fffffff] usable\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(new[] { (0x100000UL, 0x40000000UL, MemoryType.Usable) }, Entries(raw));

        var user = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLogSource(log, "user", ref user, out _));
        Assert.Equal(new[] { (0x100000UL, 0x20000000UL, MemoryType.Usable) }, Entries(user));

        var modified = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLogSource(log, "modified", ref modified, out _));
        Assert.Equal(0x10000000UL, modified[0].End);
    }

    [Fact]
    public void SourceWithASpace_ReserveSetupData()
    {
        const string log = "[    0.000000] reserve setup_data: [mem 0x0000000000100000-0x000000009a06f017] usable\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal((0x100000UL, 0x9a06f018UL, MemoryType.Usable), Entries(raw)[0]);
    }

    [Fact]
    public void CrLfLines_AndTrailingBlanks()
    {
        const string log =
            "header\r\n" +
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\r\n" +
            "BIOS-e820: [mem 0x0000000000100000-0x0000000007fdffff] ACPI NVS \t\r\n" +
            "BIOS-e820: [mem 0x0000000007fe0000-0x0000000007ffffff] banana\r\n";
        var raw = new MemoryMap();
        Assert.Equal(Status.Malformed, ParseLog(log, ref raw, out var error));
        Assert.Equal("line 4: unknown type", Describe(error));
        Assert.Equal(0, raw.Count);

        var good = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log.Replace("banana", "reserved"), ref good, out _));
        Assert.Equal(3, good.Count);
        Assert.Equal(MemoryType.AcpiNvs, good[1].Type);
    }

    [Fact]
    public void TopOfAddressSpace_EndsAtMaxValue()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog("BIOS-e820: [mem 0xfffffffffffff000-0xffffffffffffffff] reserved\n", ref raw, out _));
        Assert.Equal(ulong.MaxValue, raw[0].End);
        Assert.Equal(0xfffffffffffff000UL, raw[0].Start);
    }

    [Fact]
    public void EndOneBelowStart_IsAnEmptyEntry()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog("BIOS-e820: [mem 0x0000000000100000-0x00000000000fffff] usable\n", ref raw, out _));
        Assert.Equal((0x100000UL, 0x100000UL, MemoryType.Usable), Entries(raw)[0]);
    }

    [Theory]
    [InlineData("BIOS-e820: [mem 0x0000000000200000-0x00000000000fffff] usable", Status.EndBeforeStart, "end before start")]
    [InlineData("BIOS-e820: [mem 0x00000000001000zz-0x00000000001fffff] usable", Status.Malformed, "unparsable number")]
    [InlineData("BIOS-e820: [mem 0x-0x00000000001fffff] usable", Status.Malformed, "unparsable number")]
    [InlineData("BIOS-e820: [mem 0x10000000000000000-0x10000000000000000] usable", Status.Malformed, "unparsable number")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000 0x00000000001fffff] usable", Status.Malformed, "malformed range")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff usable", Status.Malformed, "malformed range")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff]", Status.Malformed, "unknown type")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] type", Status.Malformed, "unknown type")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] type 4294967296", Status.Malformed, "unknown type")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] persistent (type 7", Status.Malformed, "unknown type")]
    [InlineData("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] usable RAM", Status.Malformed, "unknown type")]
    [InlineData(" BIOS-e820: 0000000000200000 - 0000000000100000 (usable)", Status.EndBeforeStart, "end before start")]
    public void MalformedTableLines_NameTheLine(string line, Status status, string reason)
    {
        string log = "Linux version 6.8.0\nBIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n" + line + "\n";
        var raw = new MemoryMap();
        raw.Add(0x5000, 0x6000, MemoryType.Reserved);
        Assert.Equal(status, ParseLog(log, ref raw, out var error));
        Assert.Equal(MapErrorKind.Line, error.Kind);
        Assert.Equal(3, error.Index);
        Assert.Equal(reason, error.Reason);
        Assert.Equal("line 3: " + reason, Describe(error));
        Assert.Equal(1, raw.Count);
    }

    [Fact]
    public void NoTableLine_IsEmptyMap()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.EmptyMap, ParseLog("Linux version 6.8.0\nCommand line: quiet\n", ref raw, out var error));
        Assert.Contains("no e820 table line", error.Reason);
        Assert.Equal(Status.EmptyMap, ParseLog("", ref raw, out _));
        Assert.Equal(Status.EmptyMap, ParseLog("BIOS-e820: [gap 0x00000000000a0000-0x00000000000effff]\n", ref raw, out _));
    }

    [Fact]
    public void OverCapacity_IsNoSpace_NamingTheLine()
    {
        var sb = new StringBuilder("BIOS-provided physical RAM map:\n");
        for (int i = 0; i < 300; i++)
            sb.Append($"[    0.000000] BIOS-e820: [mem 0x{(ulong)i * 0x2000:x16}-0x{(ulong)i * 0x2000 + 0xfff:x16}] usable\n");
        var raw = new MemoryMap();
        Assert.Equal(Status.NoSpace, ParseLog(sb.ToString(), ref raw, out var error));
        Assert.Equal("line 258: too many entries", Describe(error));
        Assert.Equal(0, raw.Count);

        var partlyFull = new MemoryMap();
        for (int i = 0; i < 250; i++) partlyFull.Add(0, 0, MemoryType.Reserved);
        Assert.Equal(Status.NoSpace, ParseLog(sb.ToString(), ref partlyFull, out error));
        Assert.Equal(8, error.Index);
        Assert.Equal(250, partlyFull.Count);
    }

    [Fact]
    public void Appends_ToWhatTheMapHolds()
    {
        var raw = Map((0x1000, 0x2000, MemoryType.Reserved));
        Assert.Equal(Status.Ok, ParseLog("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] usable\n", ref raw, out _));
        Assert.Equal(2, raw.Count);
        Assert.Equal(0x100000UL, raw[1].Start);
    }

    [Fact]
    public void UnknownSourceName_ReadsNothing()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.EmptyMap, ParseLogSource("BIOS-e820: [mem 0x0000000000100000-0x00000000001fffff] usable\n", "sharpmm", ref raw, out _));
        Assert.Equal(Status.InvalidArgument, ParseLogSource("x", "", ref raw, out _));
    }
}
