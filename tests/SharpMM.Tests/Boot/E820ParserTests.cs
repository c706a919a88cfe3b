using System.Linq;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public unsafe class E820ParserTests
{
    private static Status Parse(byte[] bytes, int entrySize, ref MemoryMap raw, out MapError error)
    {
        fixed (byte* p = bytes) return E820Parser.Parse(p, bytes.Length, entrySize, ref raw, out error);
    }

    [Fact]
    public void TwentyByteEntries()
    {
        byte[] data = E820(20, (0, 0x9fc00, 1, 0), (0x9fc00, 0x400, 2, 0), (0x100000, 0x7ee0000, 1, 0));
        Assert.Equal(60, data.Length);
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, Parse(data, 20, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9fc00UL, MemoryType.Usable),
            (0x9fc00UL, 0xa0000UL, MemoryType.Reserved),
            (0x100000UL, 0x7fe0000UL, MemoryType.Usable),
        }, Entries(raw));
    }

    [Fact]
    public void TwentyFourByteEntries_Bit0ClearIgnored_NonVolatileRamReserved()
    {
        byte[] data = E820(24,
            (0x0, 0x9fc00, 1, 1),
            (0x200000, 0x1000, 1, 0),        // bit 0 clear: ignored
            (0x100000, 0x100000, 1, 3),      // non-volatile RAM: reserved
            (0x300000, 0x1000, 4, 3));       // non-volatile NVS keeps its type
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, Parse(data, 24, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9fc00UL, MemoryType.Usable),
            (0x100000UL, 0x200000UL, MemoryType.Reserved),
            (0x300000UL, 0x301000UL, MemoryType.AcpiNvs),
        }, Entries(raw));
    }

    [Fact]
    public void AllIgnored_IsEmptyMap()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.EmptyMap, Parse(E820(24, (0x100000, 0x1000, 1, 0)), 24, ref raw, out var error));
        Assert.Contains("ignored", error.Reason);
        Assert.Equal(Status.EmptyMap, Parse(new byte[0], 20, ref raw, out _));
    }

    [Fact]
    public void TruncatedBuffer_NamesTheEntry()
    {
        byte[] data = E820(20, (0, 0x9fc00, 1, 0), (0x100000, 0x1000, 1, 0));
        var raw = Map((0x1000, 0x2000, MemoryType.Reserved));
        Assert.Equal(Status.Malformed, Parse(data[..^3], 20, ref raw, out var error));
        Assert.Equal("entry 1: truncated entry", Describe(error));
        Assert.Equal(1, raw.Count);
    }

    [Fact]
    public void LengthOverflow_NamesTheEntry_ButExactTopIsFine()
    {
        var raw = new MemoryMap();
        byte[] top = E820(20, (0xfffffffffffff000, 0x1000, 2, 0));
        Assert.Equal(Status.Ok, Parse(top, 20, ref raw, out _));
        Assert.Equal(ulong.MaxValue, raw[0].End);

        byte[] wraps = E820(20, (0, 0x1000, 1, 0), (0, 0x1000, 1, 0), (0, 0x1000, 1, 0), (0xfffffffffffff000, 0x1001, 2, 0));
        var other = new MemoryMap();
        Assert.Equal(Status.Overflow, Parse(wraps, 20, ref other, out var error));
        Assert.Equal("entry 3: length overflows", Describe(error));
        Assert.Equal(0, other.Count);
    }

    [Fact]
    public void ZeroLengthEntry_IsKeptRaw()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, Parse(E820(20, (0x5000, 0, 1, 0)), 20, ref raw, out _));
        Assert.Equal((0x5000UL, 0x5000UL, MemoryType.Usable), Entries(raw)[0]);
    }

    [Fact]
    public void BadArguments()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.InvalidArgument, Parse(new byte[32], 16, ref raw, out _));
        fixed (byte* p = new byte[1]) Assert.Equal(Status.InvalidArgument, E820Parser.Parse(p, -1, 20, ref raw, out _));
    }

    [Fact]
    public void ThreeHundredEntries_NoSpaceAtEntry256()
    {
        var entries = Enumerable.Range(0, 300).Select(i => ((ulong)i * 0x2000, 0x1000UL, 1u, 0u)).ToArray();
        var raw = new MemoryMap();
        Assert.Equal(Status.NoSpace, Parse(E820(20, entries), 20, ref raw, out var error));
        Assert.Equal("entry 256: too many entries", Describe(error));
        Assert.Equal(0, raw.Count);
    }
}
