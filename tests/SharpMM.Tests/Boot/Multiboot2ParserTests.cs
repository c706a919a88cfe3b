using System;
using System.Collections.Generic;
using System.Text;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public unsafe class Multiboot2ParserTests
{
    private static readonly (ulong, ulong, uint)[] QemuPc =
    {
        (0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2), (0x100000, 0x7ee0000, 1),
        (0x7fe0000, 0x20000, 2), (0xfeffc000, 0x4000, 2), (0xfffc0000, 0x40000, 2),
    };

    private static byte[] Str(string s) => Encoding.ASCII.GetBytes(s + "\0");

    private static byte[] ModulePayload(uint start, uint end, string cmdline)
    {
        var b = new List<byte>();
        PutU32(b, start); PutU32(b, end); b.AddRange(Str(cmdline));
        return b.ToArray();
    }

    private static byte[] FullInfo() => Mb2Info(
        Mb2Tag(Multiboot2Parser.TagCommandLine, Str("console=ttyS0 mem=64M")),
        Mb2Tag(Multiboot2Parser.TagBootLoaderName, Str("GRUB 2.12")),
        Mb2Tag(Multiboot2Parser.TagModule, ModulePayload(0x200000, 0x240000, "initrd")),
        Mb2Tag(Multiboot2Parser.TagModule, ModulePayload(0x240000, 0x250123, "fonts.psf")),
        Mb2Tag(Multiboot2Parser.TagBasicMemoryInfo, new byte[] { 0x7f, 0x02, 0, 0, 0x00, 0xfc, 0x01, 0 }),
        Mb2MmapTag(24, QemuPc));

    private static Status ParseInfo(byte[] info, ref MemoryMap raw, out MapError error)
    {
        fixed (byte* p = info) return Multiboot2Parser.ParseBootInfo(p, (uint)info.Length, ref raw, out error);
    }

    private static Status ParseTag(byte[] tag, ref MemoryMap raw, out MapError error)
    {
        fixed (byte* p = tag) return Multiboot2Parser.ParseMemoryMapTag(p, (uint)tag.Length, ref raw, out error);
    }

    [Fact]
    public void BootInfo_FindsTheMemoryMapTag()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseInfo(FullInfo(), ref raw, out _));
        Assert.Equal(7, raw.Count);
        Assert.Equal((0x100000UL, 0x7fe0000UL, MemoryType.Usable), Entries(raw)[3]);
        Assert.Equal((0xfffc0000UL, 0x100000000UL, MemoryType.Reserved), Entries(raw)[6]);
    }

    [Fact]
    public void BootInfo_CommandLineAndModules()
    {
        byte[] info = FullInfo();
        fixed (byte* p = info)
        {
            uint n = (uint)info.Length;
            Assert.True(Multiboot2Parser.TryGetCommandLine(p, n, out byte* text, out int length));
            Assert.Equal("console=ttyS0 mem=64M", Encoding.ASCII.GetString(text, length));
            Assert.Equal(2, Multiboot2Parser.ModuleCount(p, n));
            Assert.True(Multiboot2Parser.TryGetModule(p, n, 1, out var m));
            Assert.Equal(0x240000u, m.Start);
            Assert.Equal(0x250123u, m.End);
            Assert.Equal("fonts.psf", Encoding.ASCII.GetString(m.CommandLine, m.CommandLineLength));
            Assert.False(Multiboot2Parser.TryGetModule(p, n, 2, out _));
            Assert.False(Multiboot2Parser.TryGetModule(p, n, -1, out _));
        }
    }

    [Fact]
    public void BootInfo_WithoutMemoryMap_UsesBasicMemoryInfo()
    {
        byte[] info = Mb2Info(Mb2Tag(Multiboot2Parser.TagBasicMemoryInfo, new byte[] { 0x7f, 0x02, 0, 0, 0x00, 0xfc, 0x01, 0 }));
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseInfo(info, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9f000UL, MemoryType.Usable),
            (0x100000UL, 0x100000UL + 0x1fc00UL * 1024, MemoryType.Usable),
        }, Entries(raw));

        Assert.Equal(Status.EmptyMap, ParseInfo(Mb2Info(Mb2Tag(1, Str("quiet"))), ref raw, out var error));
        Assert.Contains("no memory-map tag", error.Reason);
    }

    [Fact]
    public void MemoryMapTag_LargerEntrySize()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseTag(Mb2MmapTag(32, QemuPc), ref raw, out _));
        Assert.Equal(7, raw.Count);
        Assert.Equal(0xf0000UL, raw[2].Start);
    }

    [Fact]
    public void MemoryMapTag_Validation()
    {
        var raw = Map((0x1000, 0x2000, MemoryType.Reserved));
        byte[] tag = Mb2MmapTag(24, QemuPc);

        byte[] small = (byte[])tag.Clone();
        small[8] = 16;
        Assert.Equal(Status.Malformed, ParseTag(small, ref raw, out var error));
        Assert.Equal("entry_size below 24", error.Reason);

        byte[] ragged = (byte[])tag.Clone();
        ragged[4] -= 4;
        Assert.Equal(Status.Malformed, ParseTag(ragged, ref raw, out error));
        Assert.Equal("entry 6: truncated entry", Describe(error));

        Assert.Equal(Status.Malformed, ParseTag(tag[..^8], ref raw, out error));
        Assert.Equal("memory-map tag runs past the buffer", error.Reason);

        byte[] wrongType = (byte[])tag.Clone();
        wrongType[0] = 5;
        Assert.Equal(Status.Malformed, ParseTag(wrongType, ref raw, out _));

        Assert.Equal(Status.EmptyMap, ParseTag(Mb2MmapTag(24), ref raw, out _));
        Assert.Equal(Status.Malformed, ParseTag(tag[..12], ref raw, out _));
        Assert.Equal(1, raw.Count);
    }

    [Fact]
    public void MemoryMapTag_LengthOverflow()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Overflow, ParseTag(Mb2MmapTag(24, (0, 0x1000, 1), (0xffffffffffff0000, 0x20000, 2)), ref raw, out var error));
        Assert.Equal("entry 1: length overflows", Describe(error));
    }

    [Fact]
    public void BootInfo_Validation_NamesTheTag()
    {
        byte[] info = FullInfo();
        var raw = new MemoryMap();

        // total_size larger than what may be read
        fixed (byte* p = info)
        {
            Assert.Equal(Status.Malformed, Multiboot2Parser.ParseBootInfo(p, (uint)info.Length - 8, ref raw, out var e));
            Assert.Equal("total_size runs past the buffer", e.Reason);
            Assert.Equal(Status.Malformed, Multiboot2Parser.ParseBootInfo(p, 4, ref raw, out e));
        }

        // tag 1 (boot-loader name) claims to run past total_size
        byte[] longTag = (byte[])info.Clone();
        int tag1 = 8 + Pad8(8 + 22);
        BitConverter.TryWriteBytes(longTag.AsSpan(tag1 + 4, 4), (uint)info.Length);
        Assert.Equal(Status.Malformed, ParseInfo(longTag, ref raw, out var error));
        Assert.Equal("tag 1: tag runs past total_size", Describe(error));

        byte[] tinyTag = (byte[])info.Clone();
        BitConverter.TryWriteBytes(tinyTag.AsSpan(tag1 + 4, 4), 4u);
        Assert.Equal(Status.Malformed, ParseInfo(tinyTag, ref raw, out error));
        Assert.Equal("tag 1: tag size below 8", Describe(error));

        // no end tag: cut it off and shrink total_size
        byte[] noEnd = info[..^8];
        BitConverter.TryWriteBytes(noEnd.AsSpan(0, 4), (uint)noEnd.Length);
        Assert.Equal(Status.Malformed, ParseInfo(noEnd, ref raw, out error));
        Assert.Equal("no end tag before total_size", error.Reason);

        Assert.Equal(0, raw.Count);
    }

    private static int Pad8(int n) => (n + 7) & ~7;
}
