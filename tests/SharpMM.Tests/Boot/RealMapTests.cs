using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

/// <summary>Maps from real machine types, kept as boot-log files under Maps/.</summary>
public class RealMapTests
{
    private const ulong MiB = 1UL << 20;
    private const ulong GiB = 1UL << 30;

    /// <summary>The "Early memory node ranges" Linux printed: its RAM after its own e820 sanitizing
    /// and page trimming, which our usable entries must equal. Ranges Linux splits at NUMA node
    /// boundaries are joined again.</summary>
    private static List<(ulong, ulong)> LinuxNodeRanges(string log)
    {
        var list = new List<(ulong Start, ulong End)>();
        foreach (Match m in Regex.Matches(log, @"node +\d+: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]"))
        {
            ulong s = System.Convert.ToUInt64(m.Groups[1].Value, 16), e = System.Convert.ToUInt64(m.Groups[2].Value, 16) + 1;
            if (list.Count > 0 && list[^1].End == s) list[^1] = (list[^1].Start, e);
            else list.Add((s, e));
        }
        Assert.NotEmpty(list);
        return list.Select(r => (r.Start, r.End)).ToList();
    }

    private static List<(ulong, ulong)> Usable(in MemoryMap map)
        => Entries(map).Where(e => e.Type == MemoryType.Usable).Select(e => (e.Start, e.End)).ToList();

    [Fact]
    public void QemuPc128M()
    {
        string log = MapFileText("qemu-pc-128m.log");
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9fc00UL, MemoryType.Usable),
            (0x9fc00UL, 0xa0000UL, MemoryType.Reserved),
            (0xf0000UL, 0x100000UL, MemoryType.Reserved),
            (0x100000UL, 0x7fe0000UL, MemoryType.Usable),
            (0x7fe0000UL, 0x8000000UL, MemoryType.Reserved),
            (0xfeffc000UL, 0xff000000UL, MemoryType.Reserved),
            (0xfffc0000UL, 0x100000000UL, MemoryType.Reserved),
        }, Entries(raw));

        var clean = SanitizedFromLog(log);
        Assert.Equal(new[]
        {
            (0x0UL, 0x1000UL, MemoryType.Reserved),
            (0x1000UL, 0x9f000UL, MemoryType.Usable),
            (0x9fc00UL, 0xa0000UL, MemoryType.Reserved),
            (0xf0000UL, 0x100000UL, MemoryType.Reserved),
            (0x100000UL, 0x7fe0000UL, MemoryType.Usable),
            (0x7fe0000UL, 0x8000000UL, MemoryType.Reserved),
            (0xfeffc000UL, 0xff000000UL, MemoryType.Reserved),
            (0xfffc0000UL, 0x100000000UL, MemoryType.Reserved),
        }, Entries(clean));
        Assert.Equal(LinuxNodeRanges(log), Usable(clean));
        Assert.Equal(32638UL, clean.UsableFrames());
    }

    [Fact]
    public void QemuQ35With6G_RamAbove4G_MmconfigReserved()
    {
        string log = MapFileText("qemu-q35-6g.log");
        var clean = SanitizedFromLog(log);
        Assert.Null(CheckSanitized(clean));
        Assert.Contains((0xb0000000UL, 0xc0000000UL, MemoryType.Reserved), Entries(clean));
        Assert.Contains((0x100000000UL, 0x200000000UL, MemoryType.Usable), Entries(clean));
        Assert.Equal(LinuxNodeRanges(log), Usable(clean));
        // 2 GiB below 4 GiB (less SeaBIOS's tables, page 0 and the EBDA page), 4 GiB above
        Assert.Equal(4 * GiB + 0x7ffdc000UL - 0x100000 + 0x9e000, clean.TotalBytes(MemoryType.Usable));
    }

    [Fact]
    public void Laptop_UefiWithSetupData_ManyAcpiHoles()
    {
        string log = MapFileText("laptop-uefi.log");
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(26, raw.Count);
        Assert.Equal(3, Entries(raw).Count(e => e.Type == MemoryType.AcpiNvs));
        Assert.Single(Entries(raw), e => e.Type == MemoryType.AcpiData);

        // The later "reserve setup_data" dump splits RAM around the setup_data blobs; it describes the same memory.
        var extended = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLogSource(log, "reserve setup_data", ref extended, out _));
        Assert.Equal(raw.Count + 4, extended.Count);
        var cleanExtended = new MemoryMap();
        Assert.Equal(Status.Ok, MapSanitizer.Sanitize(ref extended, ref cleanExtended, out _));
        var clean = SanitizedFromLog(log);
        Assert.Equal(Entries(clean), Entries(cleanExtended));
        Assert.Equal(LinuxNodeRanges(log), Usable(clean));
    }

    [Fact]
    public void Desktop_SyslogPrefix_OldKernel_TrapLines()
    {
        string log = MapFileText("desktop-bios.log");
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(log, ref raw, out _));
        Assert.Equal(22, raw.Count);
        var clean = SanitizedFromLog(log);
        Assert.Equal(LinuxNodeRanges(log), Usable(clean));
        Assert.Equal((0x100000000UL, 0x21fe00000UL, MemoryType.Usable), Entries(clean)[^1]);
    }

    [Fact]
    public void Server_NewestFormat_GapsSizesAndNewTypeNames()
    {
        string log = MapFileText("server-newer-format.log");
        var raw = new MemoryMap();
        var st = ParseLog(log, ref raw, out var error);
        Assert.True(st == Status.Ok, Describe(error));
        Assert.Contains(Entries(raw), e => e.Type == MemoryType.SoftReserved);
        Assert.Contains(Entries(raw), e => e.Type == MemoryType.PersistentLegacy);
        var clean = SanitizedFromLog(log);
        Assert.Equal(LinuxNodeRanges(log), Usable(clean));
        Assert.True(clean.TotalBytes(MemoryType.Usable) > 250 * GiB);
    }

    [Fact]
    public void OldLinux26Format()
    {
        string log = MapFileText("vm-linux-2.6.log");
        var clean = SanitizedFromLog(log);
        Assert.Equal(new[]
        {
            (0x0UL, 0x1000UL, MemoryType.Reserved),
            (0x1000UL, 0x9f000UL, MemoryType.Usable),
            (0x9f800UL, 0xa0000UL, MemoryType.Reserved),
            (0xca000UL, 0xcc000UL, MemoryType.Reserved),
            (0xdc000UL, 0x100000UL, MemoryType.Reserved),
            (0x100000UL, 0xbfee0000UL, MemoryType.Usable),
            (0xbfee0000UL, 0xbfeff000UL, MemoryType.AcpiData),
            (0xbfeff000UL, 0xbff00000UL, MemoryType.AcpiNvs),
            (0xbff00000UL, 0xc0000000UL, MemoryType.Usable),
            (0xe0000000UL, 0xf0000000UL, MemoryType.Reserved),
            (0xfec00000UL, 0xfec10000UL, MemoryType.Reserved),
            (0xfee00000UL, 0xfee01000UL, MemoryType.Reserved),
            (0xfffe0000UL, 0x100000000UL, MemoryType.Reserved),
            (0x100000000UL, 0x140000000UL, MemoryType.Usable),
        }, Entries(clean));
    }

    [Fact]
    public void WindowsPaste_CrLf()
    {
        byte[] bytes = MapFile("pasted-crlf.log");
        Assert.Contains((byte)'\r', bytes);
        var raw = new MemoryMap();
        var st = Load(bytes, ref raw, out var error, out var format);
        Assert.True(st == Status.Ok, Describe(error));
        Assert.Equal(MapFormat.BootLog, format);
        var lf = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(MapFileText("qemu-pc-128m.log"), ref lf, out _));
        Assert.Equal(Entries(lf), Entries(raw));
    }

    [Fact]
    public void EveryMapFile_RoundTripsThroughTheWriter()
    {
        foreach (string name in new[] { "qemu-pc-128m.log", "qemu-q35-6g.log", "laptop-uefi.log", "desktop-bios.log", "server-newer-format.log", "vm-linux-2.6.log" })
        {
            var clean = SanitizedFromLog(MapFileText(name));
            var back = new MemoryMap();
            Assert.Equal(Status.Ok, ParseLog(Dump(clean), ref back, out _));
            Assert.Equal(Entries(clean), Entries(back));
        }
    }
}
