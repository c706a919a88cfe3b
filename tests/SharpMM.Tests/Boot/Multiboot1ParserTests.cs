using System.Collections.Generic;
using SharpMM.Boot;
using Xunit;
using static SharpMM.Tests.Boot.BootTestKit;

namespace SharpMM.Tests.Boot;

public unsafe class Multiboot1ParserTests
{
    private static Status ParseMmap(byte[] bytes, ref MemoryMap raw, out MapError error)
    {
        fixed (byte* p = bytes) return Multiboot1Parser.ParseMmap(p, (uint)bytes.Length, ref raw, out error);
    }

    [Fact]
    public void EntriesAdvanceBySizePlusFour()
    {
        byte[] data = Mb1Mmap(20, (0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0x100000, 0x7ee0000, 1));
        Assert.Equal(72, data.Length);
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseMmap(data, ref raw, out _));
        Assert.Equal(new[]
        {
            (0x0UL, 0x9fc00UL, MemoryType.Usable),
            (0x9fc00UL, 0xa0000UL, MemoryType.Reserved),
            (0x100000UL, 0x7fe0000UL, MemoryType.Usable),
        }, Entries(raw));
    }

    [Fact]
    public void LargerSizeField_SkipsExtraBytes()
    {
        byte[] data = Mb1Mmap(28, (0, 0x9fc00, 1), (0x100000, 0x100000, 3));
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, ParseMmap(data, ref raw, out _));
        Assert.Equal(2, raw.Count);
        Assert.Equal(MemoryType.AcpiData, raw[1].Type);
    }

    [Fact]
    public void SizeFieldRunningPastTheBuffer_NamesTheEntry()
    {
        byte[] data = Mb1Mmap(20, (0, 0x9fc00, 1), (0x100000, 0x100000, 1));
        data[24] = 0x40; // second entry claims 64 bytes
        var raw = Map((0x1000, 0x2000, MemoryType.Reserved));
        Assert.Equal(Status.Malformed, ParseMmap(data, ref raw, out var error));
        Assert.Equal("entry 1: size field runs past the buffer", Describe(error));
        Assert.Equal(1, raw.Count);
    }

    [Fact]
    public void TruncatedBuffer_AndTinySizeField()
    {
        byte[] data = Mb1Mmap(20, (0, 0x9fc00, 1), (0x100000, 0x100000, 1));
        var raw = new MemoryMap();
        Assert.Equal(Status.Malformed, ParseMmap(data[..^1], ref raw, out var error));
        Assert.Equal("entry 1: size field runs past the buffer", Describe(error));
        Assert.Equal(Status.Malformed, ParseMmap(data[..26], ref raw, out error));
        Assert.Equal("entry 1: buffer ends inside a size field", Describe(error));
        data[0] = 8;
        Assert.Equal(Status.Malformed, ParseMmap(data, ref raw, out error));
        Assert.Equal("entry 0: size field below 20", Describe(error));
        Assert.Equal(Status.EmptyMap, ParseMmap(new byte[0], ref raw, out _));
        Assert.Equal(0, raw.Count);
    }

    [Fact]
    public void LengthOverflow()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Overflow, ParseMmap(Mb1Mmap(20, (0xffffffff00000000, 0x100000000, 2), (0x10, ulong.MaxValue, 1)), ref raw, out var error));
        Assert.Equal("entry 1: length overflows", Describe(error));
    }

    private static byte[] Info(uint flags, uint memLower, uint memUpper, uint cmdline, uint modsCount, uint modsAddr, uint mmapLength, uint mmapAddr)
    {
        var b = new List<byte>();
        PutU32(b, flags); PutU32(b, memLower); PutU32(b, memUpper); PutU32(b, 0x8000ffff);
        PutU32(b, cmdline); PutU32(b, modsCount); PutU32(b, modsAddr);
        for (int i = 0; i < 16; i++) b.Add(0);
        PutU32(b, mmapLength); PutU32(b, mmapAddr);
        return b.ToArray();
    }

    [Fact]
    public void Info_ReadsFieldsByFlag()
    {
        byte[] info = Info(Multiboot1Info.FlagMemory | Multiboot1Info.FlagCommandLine | Multiboot1Info.FlagModules | Multiboot1Info.FlagMemoryMap,
            639, 130048, 0x10000, 2, 0x11000, 72, 0x9000);
        Assert.Equal(Multiboot1Info.MinimumSize, info.Length);
        Multiboot1Info mbi;
        fixed (byte* p = info) mbi = Multiboot1Info.Read(p);
        Assert.True(mbi.HasMemoryBounds);
        Assert.Equal(639u, mbi.MemLowerKiB);
        Assert.Equal(130048u, mbi.MemUpperKiB);
        Assert.Equal(0x10000u, mbi.CommandLineAddr);
        Assert.Equal(2u, mbi.ModuleCount);
        Assert.Equal(0x11000u, mbi.ModulesAddr);
        Assert.Equal(72u, mbi.MmapLength);
        Assert.Equal(0x9000u, mbi.MmapAddr);

        byte[] mmap = Mb1Mmap(20, (0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0x100000, 0x7ee0000, 1));
        var raw = new MemoryMap();
        fixed (byte* p = mmap) Assert.Equal(Status.Ok, mbi.AppendMemoryMap(p, ref raw, out _));
        Assert.Equal(3, raw.Count);
    }

    [Fact]
    public void Info_WithoutMmap_SynthesizesAsLinux()
    {
        byte[] info = Info(Multiboot1Info.FlagMemory, 639, 130048, 0xdead, 5, 0xbeef, 72, 0x9000);
        Multiboot1Info mbi;
        fixed (byte* p = info) mbi = Multiboot1Info.Read(p);
        Assert.False(mbi.HasMemoryMap);
        Assert.False(mbi.HasCommandLine);
        Assert.Equal(0u, mbi.CommandLineAddr);
        Assert.Equal(0u, mbi.ModuleCount);
        Assert.Equal(0u, mbi.MmapLength);
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, mbi.AppendMemoryMap(null, ref raw, out _));
        // Low RAM stops at 0x9f000 (Linux's LOWMEMSIZE), high RAM is mem_upper KiB from 1 MiB.
        Assert.Equal(new[]
        {
            (0x0UL, 0x9f000UL, MemoryType.Usable),
            (0x100000UL, 0x100000UL + 130048UL * 1024, MemoryType.Usable),
        }, Entries(raw));
    }

    [Fact]
    public void Info_WithNeitherFlag_IsEmptyMap()
    {
        byte[] info = Info(0, 639, 130048, 0, 0, 0, 0, 0);
        Multiboot1Info mbi;
        fixed (byte* p = info) mbi = Multiboot1Info.Read(p);
        var raw = new MemoryMap();
        Assert.Equal(Status.EmptyMap, mbi.AppendMemoryMap(null, ref raw, out var error));
        Assert.Contains("flag bit 6", error.Reason);
    }

    [Fact]
    public void Synthesize_SmallLowMemoryKept_ZeroSizesLeftOut()
    {
        var raw = new MemoryMap();
        Assert.Equal(Status.Ok, Multiboot1Parser.Synthesize(512, 0, ref raw, out _));
        Assert.Equal(new[] { (0x0UL, 0x80000UL, MemoryType.Usable) }, Entries(raw));
        Assert.Equal(Status.EmptyMap, Multiboot1Parser.Synthesize(0, 0, ref raw, out _));
    }

    [Fact]
    public void ReadModule()
    {
        var b = new List<byte>();
        PutU32(b, 0x200000); PutU32(b, 0x240000); PutU32(b, 0x9500); PutU32(b, 0);
        PutU32(b, 0x240000); PutU32(b, 0x250123); PutU32(b, 0x9600); PutU32(b, 0);
        byte[] mods = b.ToArray();
        Multiboot1Module m;
        fixed (byte* p = mods) m = Multiboot1Info.ReadModule(p, 1);
        Assert.Equal(0x240000u, m.Start);
        Assert.Equal(0x250123u, m.End);
        Assert.Equal(0x9600u, m.CommandLineAddr);
    }
}
