using System.Linq;
using System;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Paging;
using SharpMM.Paging.RiscV;
using SharpMM.Paging.X86;
using Xunit;
using static SharpMM.Tests.Paging.PagingAssert;

namespace SharpMM.Tests.Paging;

/// <summary>The ptdump-style report and the per-level walk report, compared as text.</summary>
public sealed unsafe class PageTableDumpTests : IDisposable
{
    private readonly TableRam _ram = new(4096);
    private TestFrames _frames;
    private FlushBatch _b;

    public PageTableDumpTests() { _frames = _ram.Frames(); }
    public void Dispose() => _ram.Dispose();

    [Fact]
    public void LongMode_MergesRunsOfEqualSizeAndFlags()
    {
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        // User text: 512 read-only executable 4 KiB pages (physically scattered), then data.
        for (ulong i = 0; i < 512; i++)
            Assert.Equal(Status.Ok, m.Map(V(0x40_0000 + i * 4096), P(0x100_0000 + (i * 7919 % 512) * 4096), MappingSize.Size4KiB, PageFlags.User | PageFlags.Executable | (i % 2 == 1 ? PageFlags.Accessed : PageFlags.None), ref _frames, out _));
        Assert.Equal(Status.Ok, m.MapRange(V(0x60_0000), P(0x200_0000), 3 * 4096, PageFlags.User | PageFlags.Writable, ref _frames, ref _b));
        // The direct map: 1 GiB pages, then 2 MiB, global, not executable.
        Assert.Equal(Status.Ok, m.MapRange(V(0xFFFF_8880_0000_0000), P(0), (2UL << 30) + (4UL << 20), PageFlags.Writable | PageFlags.Global, ref _frames, ref _b));
        // Device memory, uncached.
        Assert.Equal(Status.Ok, m.Map(V(0xFFFF_C900_0000_0000), P(0xFEE0_0000), MappingSize.Size4KiB, PageFlags.Writable | PageFlags.CacheDisable | PageFlags.WriteThrough, ref _frames, out _));

        var w = StringSink.NewWriter();
        PageTableDump.Write(ref m, ref w);
        string expected =
            $"x86-64 4-level, root 0x{m.RootPhys:x16}\n" +
            "0x0000000000400000-0x0000000000600000      2M  4K  USR ro x\n" +
            "0x0000000000600000-0x0000000000603000     12K  4K  USR RW NX\n" +
            "0xffff888000000000-0xffff888080000000      2G  1G      RW NX GLB\n" +
            "0xffff888080000000-0xffff888080400000      4M  2M      RW NX GLB\n" +
            "0xffffc90000000000-0xffffc90000001000      4K  4K      RW NX     PWT PCD\n" +
            "tables: PML4 1, PDPT 3, PD 3, PT 3 (40 KiB); leaves: 4K 516, 2M 2, 1G 2\n";
        Assert.Equal(expected, w.Sink.Text.ToString());
    }

    [Fact]
    public void Legacy32_ListsFourMegabytePages()
    {
        Assert.Equal(Status.Ok, Mapper<X86LegacyFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        Assert.Equal(Status.Ok, m.MapRange(V(0xC000_0000), P(0), 8UL << 20, PageFlags.Writable | PageFlags.Global, ref _frames, ref _b));
        Assert.Equal(Status.Ok, m.MapRange(V(0xFFC0_0000), P(0x80_0000), 4UL << 20, PageFlags.None, ref _frames, ref _b));
        var w = StringSink.NewWriter();
        PageTableDump.Write(ref m, ref w);
        Assert.Equal(
            $"x86 32-bit, root 0x{m.RootPhys:x10}\n" +
            "0xc0000000-0xc0800000      8M  4M      RW x  GLB\n" +
            "0xffc00000-0x100000000     4M  4M      ro x\n" + // ends the address space: 2^32, columns kept
            "tables: PD 1 (4 KiB); leaves: 4M 3\n",
            w.Sink.Text.ToString());
    }

    [Fact]
    public void RightsAreWhatTheWholeWalkAllows()
    {
        // A user page whose PDE someone made supervisor-only and read-only: the leaf still says
        // USR RW, the MMU grants neither, and the report shows what the MMU grants.
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        Assert.Equal(Status.Ok, m.Map(V(0x40_0000), P(0x100_0000), MappingSize.Size4KiB, PageFlags.User | PageFlags.Writable, ref _frames, out _));
        Assert.Equal(Status.Ok, m.Map(V(0x80_0000), P(0x100_1000), MappingSize.Size4KiB, PageFlags.User | PageFlags.Writable, ref _frames, out _));
        PageWalk walk = m.Walk(V(0x40_0000));
        WalkStep pde = walk[2];
        Assert.Equal(1, pde.Level);
        ulong* entry = (ulong*)_ram.Ptr(pde.TablePhys) + pde.Index;
        *entry &= ~0b110UL; // R/W (bit 1) and U/S (bit 2)

        var leaves = LeafList.New();
        m.Visit(ref leaves);
        Assert.Equal(PageFlags.User | PageFlags.Writable, leaves.Leaves[0].Flags & (PageFlags.User | PageFlags.Writable));
        Assert.Equal(PageFlags.None, leaves.Leaves[0].Effective & (PageFlags.User | PageFlags.Writable));
        Assert.Equal(PageFlags.User | PageFlags.Writable, leaves.Leaves[1].Effective & (PageFlags.User | PageFlags.Writable));

        var w = StringSink.NewWriter();
        PageTableDump.Write(ref m, ref w);
        string[] lines = w.Sink.Text.ToString().Split('\n');
        Assert.Equal("0x0000000000400000-0x0000000000401000      4K  4K      ro NX", lines[1]);
        Assert.Equal("0x0000000000800000-0x0000000000801000      4K  4K  USR RW NX", lines[2]);

        var ww = StringSink.NewWriter();
        PageTableDump.WriteWalk(ref m, V(0x40_0123), ref ww);
        Assert.EndsWith("=> 0x0000000001000123  4K page     ro NX\n", ww.Sink.Text.ToString());
    }

    // Expect: a walk names the software bits set in an entry (here SW1 and SW57 in the PTE).
    [Fact]
    public void Walk_NamesSoftwareBits()
    {
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        Assert.Equal(Status.Ok, m.Map(V(0x40_0000), P(0x100_0000), MappingSize.Size4KiB, PageFlags.Writable, ref _frames, out _));
        PageWalk walk = m.Walk(V(0x40_0000));
        WalkStep pte = walk[walk.Count - 1];
        *((ulong*)_ram.Ptr(pte.TablePhys) + pte.Index) |= (1UL << 9) | (1UL << 57);
        var w = StringSink.NewWriter();
        PageTableDump.WriteWalk(ref m, V(0x40_0000), ref w);
        string pteLine = w.Sink.Text.ToString().Split('\n').Single(l => l.TrimStart().StartsWith("PT "));
        Assert.Contains(" P RW SW1 SW57 XD  -> page ", pteLine);
    }

    [Fact]
    public void TheLastPageOfA64BitSpaceEndsAt2To64()
    {
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        Assert.Equal(Status.Ok, m.Map(V(0xFFFF_FFFF_FFFF_F000), P(0x100_0000), MappingSize.Size4KiB, PageFlags.Writable, ref _frames, out _));
        var w = StringSink.NewWriter();
        PageTableDump.Write(ref m, ref w);
        Assert.Equal("0xfffffffffffff000-0x10000000000000000     4K  4K      RW NX", w.Sink.Text.ToString().Split('\n')[1]);
    }

    [Fact]
    public void Walk_ListsEveryLevel()
    {
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        Assert.Equal(Status.Ok, m.Map(V(0xFFFF_8000_0020_0000), P(0x4000_0000), MappingSize.Size2MiB, PageFlags.Writable | PageFlags.Global | PageFlags.Dirty, ref _frames, out _));
        var w = StringSink.NewWriter();
        PageTableDump.WriteWalk(ref m, V(0xFFFF_8000_0021_2345), ref w);
        string text = w.Sink.Text.ToString();
        string[] lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("walk 0xffff800000212345 (x86-64 4-level, root 0x", lines[0]);
        Assert.StartsWith("  PML4[256] @0x", lines[1]);
        Assert.EndsWith(" P RW US  -> table 0x" + PdptPhys(m).ToString("x16"), lines[1]);
        Assert.StartsWith("  PDPT[  0] @0x", lines[2]);
        Assert.Contains("[  1] @0x", lines[3]);
        Assert.Contains("= 0x80000000400001c3  P RW D PS G XD  -> page 0x0000000040000000", lines[3]);
        Assert.Equal("  => 0x0000000040012345  2M page     RW NX GLB", lines[4]); // flag columns as in the dump

        w = StringSink.NewWriter();
        PageTableDump.WriteWalk(ref m, V(0x1000), ref w);
        Assert.EndsWith("= 0x0000000000000000  not present\n  => not mapped\n", w.Sink.Text.ToString());
        w = StringSink.NewWriter();
        PageTableDump.WriteWalk(ref m, V(0x0000_8000_0000_0000), ref w);
        Assert.EndsWith("  not a canonical address\n", w.Sink.Text.ToString());
    }

    [Fact]
    public void Walk_Sv39_NamesRiscVBits()
    {
        Assert.Equal(Status.Ok, Mapper<Sv39Format, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var m));
        Assert.Equal(Status.Ok, m.Map(V(0x8000_1000), P(0x8020_0000), MappingSize.Size4KiB, PageFlags.Executable | PageFlags.Accessed, ref _frames, out _));
        var w = StringSink.NewWriter();
        PageTableDump.WriteWalk(ref m, V(0x8000_1000), ref w);
        string text = w.Sink.Text.ToString();
        Assert.Contains("  L2  [  2] @0x", text);
        Assert.Contains("  L0  [  1] @0x", text);
        Assert.Contains(" V R X A  -> page 0x0000000080200000", text);
        Assert.Contains("  => 0x0000000080200000  4K page     ro x\n", text);
    }

    private ulong PdptPhys(Mapper<X86LongModeFormat, DirectMapTableAccess> m) =>
        X86LongModeFormat.Address(3, X86LongModeFormat.Read(_ram.Ptr(m.RootPhys), 256));
}
