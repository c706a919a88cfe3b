using System.Text;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public class MapLoaderTests
{
    private static readonly (ulong, ulong, uint)[] Qemu =
    {
        (0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2), (0x100000, 0x7ee0000, 1),
        (0x7fe0000, 0x20000, 2), (0xfeffc000, 0x4000, 2), (0xfffc0000, 0x40000, 2),
    };

    private static (ulong, ulong, uint, uint)[] WithAttributes((ulong B, ulong L, uint T)[] e)
        => System.Array.ConvertAll(e, x => (x.B, x.L, x.T, 1u));

    private static MapFormat Detect(byte[] bytes, out MemoryMap raw, out Status status)
    {
        raw = new MemoryMap();
        status = Load(bytes, ref raw, out _, out var format);
        return format;
    }

    [Fact]
    public void DetectsEachFormat_AndReadsTheSameMap()
    {
        var expected = new MemoryMap();
        Assert.Equal(Status.Ok, ParseLog(MapFileText("qemu-pc-128m.log"), ref expected, out _));

        var inputs = new (byte[] Bytes, MapFormat Format)[]
        {
            (MapFile("qemu-pc-128m.log"), MapFormat.BootLog),
            (Mb2Info(Mb2Tag(1, Encoding.ASCII.GetBytes("quiet\0")), Mb2MmapTag(24, Qemu)), MapFormat.Multiboot2Info),
            (Mb2MmapTag(24, Qemu), MapFormat.Multiboot2MemoryMapTag),
            (Mb1Mmap(20, Qemu), MapFormat.Multiboot1Mmap),
            (E820(24, WithAttributes(Qemu)), MapFormat.E820Entries24),
            (E820(20, System.Array.ConvertAll(Qemu, x => (x.Item1, x.Item2, x.Item3, 0u))), MapFormat.E820Entries20),
        };
        foreach (var (bytes, format) in inputs)
        {
            Assert.Equal(format, Detect(bytes, out var raw, out var status));
            Assert.Equal(Status.Ok, status);
            Assert.Equal(Entries(expected), Entries(raw));
        }
    }

    [Fact]
    public void AmbiguousLength_Prefers24ByteEntries()
    {
        // 5 entries of 24 bytes = 6 entries of 20 bytes = 120 bytes.
        var five = new (ulong, ulong, uint, uint)[] { (0, 0x9fc00, 1, 1), (0x9fc00, 0x400, 2, 1), (0xf0000, 0x10000, 2, 1), (0x100000, 0x7ee0000, 1, 1), (0x7fe0000, 0x20000, 2, 1) };
        Assert.Equal(MapFormat.E820Entries24, Detect(E820(24, five), out var raw, out _));
        Assert.Equal(5, raw.Count);
        var six = new (ulong, ulong, uint, uint)[] { (0, 0x9fc00, 1, 0), (0x9fc00, 0x400, 2, 0), (0xf0000, 0x10000, 2, 0), (0x100000, 0x7ee0000, 1, 0), (0x7fe0000, 0x20000, 2, 0), (0xfffc0000, 0x40000, 2, 0) };
        Assert.Equal(MapFormat.E820Entries20, Detect(E820(20, six), out raw, out _));
        Assert.Equal(6, raw.Count);
    }

    [Fact]
    public void TextWithoutMapLines_IsEmptyBootLog()
    {
        Assert.Equal(MapFormat.BootLog, Detect(Encoding.ASCII.GetBytes("hello\nworld\n"), out _, out var status));
        Assert.Equal(Status.EmptyMap, status);
    }

    [Fact]
    public void ParserErrorsKeepTheFormat()
    {
        var raw = new MemoryMap();
        byte[] log = Encoding.ASCII.GetBytes("x\nBIOS-e820: [mem 0x0000000000200000-0x00000000000fffff] usable\n");
        Assert.Equal(Status.EndBeforeStart, Load(log, ref raw, out var error, out var format));
        Assert.Equal(MapFormat.BootLog, format);
        Assert.Equal("line 2: end before start", Describe(error));
    }

    [Fact]
    public void Garbage_IsUnknown()
    {
        byte[] junk = new byte[37];
        for (int i = 0; i < junk.Length; i++) junk[i] = (byte)(i * 7);
        Assert.Equal(MapFormat.Unknown, Detect(junk, out _, out var status));
        Assert.Equal(Status.Malformed, status);
        Assert.Equal(MapFormat.Unknown, Detect(new byte[0], out _, out status));
        Assert.Equal(Status.EmptyMap, status);
        Assert.Equal(MapFormat.Unknown, Detect(new byte[40], out _, out _)); // type 0 is not plausible
    }

    [Fact]
    public void TruncatedBinary_FallsToUnknownOrReportsTheParser()
    {
        byte[] mb1 = Mb1Mmap(20, Qemu);
        Assert.Equal(MapFormat.Unknown, Detect(mb1[..^5], out _, out var status));
        Assert.Equal(Status.Malformed, status);
    }
}
