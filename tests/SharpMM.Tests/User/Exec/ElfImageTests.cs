using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.User;
using SharpMM.User.Exec;
using Xunit;

namespace SharpMM.Tests.User.Exec;

/// <summary>
/// The ELF parser: real musl binaries and hand-made files are read as their program headers
/// say; each rule broken gives its own problem and status; mutated and truncated files give a
/// status, never an exception or a read outside the file.
/// </summary>
public sealed unsafe class ElfImageTests
{
    private static ElfImage ParseOk(byte[] file, List<IntPtr> keep)
    {
        Status s = ElfFile.Parse(file, out ElfImage image, out IntPtr mem);
        keep.Add(mem);
        Assert.True(s == Status.Ok, $"parse: {s}, {ElfImage.Reason(image.Problem)} (header {image.ProblemHeader})");
        return image;
    }

    // Expect: the hand-made executable's fields, segments in order, AT_PHDR from PT_PHDR.
    [Fact]
    public void HandMadeExec64_IsReadAsItsHeadersSay()
    {
        var keep = new List<IntPtr>();
        ElfImage img = ParseOk(ElfFile.Exec64().Build(), keep);
        Assert.True(img.Is64);
        Assert.False(img.IsPositionIndependent);
        Assert.Equal(0x400800UL, img.Entry);
        Assert.Equal(0x400040UL, img.PhdrVaddr);
        Assert.Equal(5, img.PhCount);
        Assert.Equal(56, img.PhEntrySize);
        Assert.Equal(2, img.LoadCount);
        Assert.Equal(VmaProtection.ReadExecute, img.Load(0).Protection);
        Assert.Equal(VmaProtection.ReadWrite, img.Load(1).Protection);
        Assert.Equal(0x3000UL, img.Load(1).MemoryBytes);
        Assert.True(img.HasTls);
        Assert.Equal(0x40UL, img.Tls.MemoryBytes);
        Assert.False(img.ExecutableStack);
        Assert.Equal(0x400000UL, img.ImageStart);
        Assert.Equal(0x405000UL, img.ImageEnd);
        foreach (var p in keep) Marshal.FreeHGlobal(p);
    }

    // Expect: the ELF32 i386 shape parses the same way (4-byte fields, 32-byte headers); and
    // without PT_PHDR, AT_PHDR is found through the segment that holds e_phoff.
    [Fact]
    public void HandMadeExec32_AndPhdrFromTheCoveringSegment()
    {
        var keep = new List<IntPtr>();
        ElfImage img = ParseOk(ElfFile.Exec32().Build(), keep);
        Assert.False(img.Is64);
        Assert.Equal(ElfImage.EmI386, img.Machine);
        Assert.Equal(0x08048800UL, img.Entry);
        Assert.Equal(0x08048034UL, img.PhdrVaddr);
        Assert.Equal(32, img.PhEntrySize);
        Assert.Equal(0x0804A000UL, img.Load(1).Vaddr);
        var noPhdr = ElfFile.Exec64();
        noPhdr.Headers[0] = new Ph(4 /* PT_NOTE */, ElfFile.R, 0, 0, 0, 0, 4);
        img = ParseOk(noPhdr.Build(), keep);
        Assert.Equal(0x400040UL, img.PhdrVaddr);
        foreach (var p in keep) Marshal.FreeHGlobal(p);
    }

    public static IEnumerable<object[]> BrokenRules()
    {
        const uint R = ElfFile.R, W = ElfFile.W, X = ElfFile.X;
        ElfFile E() => ElfFile.Exec64();
        yield return Case("truncated", E().With(e => e.Length = 40), ElfProblem.TruncatedHeader, Status.Malformed);
        yield return Case("truncated 32", ElfFile.Exec32().With(e => e.Length = 50), ElfProblem.TruncatedHeader, Status.Malformed);
        yield return Case("magic", E(), ElfProblem.BadMagic, Status.Malformed, b => b[1] = (byte)'X');
        yield return Case("class", E(), ElfProblem.WrongClass, Status.Malformed, b => b[4] = 3);
        yield return Case("big-endian", E(), ElfProblem.WrongByteOrder, Status.Unsupported, b => b[5] = 2);
        yield return Case("ident version", E(), ElfProblem.WrongVersion, Status.Malformed, b => b[6] = 0);
        yield return Case("e_version", E().With(e => e.Version = 2), ElfProblem.WrongVersion, Status.Malformed);
        yield return Case("i386 in ELF64", E().With(e => e.Machine = ElfImage.EmI386), ElfProblem.WrongMachine, Status.Unsupported);
        yield return Case("aarch64", E().With(e => e.Machine = 183), ElfProblem.WrongMachine, Status.Unsupported);
        yield return Case("ET_REL", E().With(e => e.Type = 1), ElfProblem.WrongType, Status.Unsupported);
        yield return Case("ET_CORE", E().With(e => e.Type = 4), ElfProblem.WrongType, Status.Unsupported);
        yield return Case("phentsize", E().With(e => e.PhEntrySize = 55), ElfProblem.BadHeaderSize, Status.Malformed);
        yield return Case("ehsize", E().With(e => e.HeaderSize = 60), ElfProblem.BadHeaderSize, Status.Malformed);
        yield return Case("no headers", E().With(e => e.PhCount = 0), ElfProblem.NoProgramHeaders, Status.Malformed);
        yield return Case("PN_XNUM", E().With(e => e.PhCount = 0xFFFF), ElfProblem.TooManyProgramHeaders, Status.Unsupported);
        yield return Case("headers past end", E().With(e => e.Length = 64 + 5 * 56 - 1), ElfProblem.ProgramHeadersPastEnd, Status.Malformed);
        yield return Case("phoff huge", E().With(e => e.PhOffset = ulong.MaxValue - 8), ElfProblem.ProgramHeadersPastEnd, Status.Malformed);
        yield return Case("interpreter", E().With(e => e.Headers.Insert(1, new Ph(ElfImage.PtInterp, R, 0x1000, 0, 0x1c, 0x1c, 1))), ElfProblem.DynamicallyLinked, Status.Unsupported);
        yield return Case("two PT_TLS", E().With(e => e.Headers.Add(e.Headers[3])), ElfProblem.DuplicateHeader, Status.Malformed);
        yield return Case("two PT_PHDR", E().With(e => e.Headers.Add(e.Headers[0])), ElfProblem.DuplicateHeader, Status.Malformed);
        yield return Case("filesz > memsz", E().SetHeader(2, h => h with { FileBytes = 0x3001 }), ElfProblem.FileSizeAboveMemorySize, Status.Malformed);
        yield return Case("bytes past end", E().SetHeader(2, h => h with { FileBytes = 0x1101 }), ElfProblem.SegmentPastEnd, Status.Malformed);
        yield return Case("offset wraps", E().SetHeader(2, h => h with { Offset = ulong.MaxValue - 0xFFF, Vaddr = 0x402000 }), ElfProblem.SegmentPastEnd, Status.Malformed);
        yield return Case("align not power of two", E().SetHeader(2, h => h with { Align = 0x1800 }), ElfProblem.BadAlignment, Status.Malformed);
        yield return Case("vaddr != offset mod page", E().SetHeader(2, h => h with { Vaddr = 0x402010 }), ElfProblem.BadAlignment, Status.Malformed);
        yield return Case("above user space", E().SetHeader(2, h => h with { Vaddr = 0x7FFFFFFFE000 }), ElfProblem.SegmentOutsideUserSpace, Status.Malformed);
        yield return Case("end wraps", E().SetHeader(2, h => h with { Vaddr = 0xFFFFFFFFFFFFF000 }), ElfProblem.SegmentOutsideUserSpace, Status.Malformed);
        yield return Case("page 0", E().SetHeader(1, h => h with { Vaddr = 0 }).With(e => e.Entry = 0x800), ElfProblem.SegmentOutsideUserSpace, Status.Malformed);
        yield return Case("unsorted", E().With(e => (e.Headers[1], e.Headers[2]) = (e.Headers[2], e.Headers[1])), ElfProblem.SegmentsUnsorted, Status.Malformed);
        yield return Case("overlap", E().SetHeader(1, h => h with { MemoryBytes = 0x2800 }), ElfProblem.SegmentsOverlap, Status.Malformed);
        yield return Case("share a page", E().SetHeader(1, h => h with { FileBytes = 0xF00, MemoryBytes = 0xF00 }).SetHeader(2, h => h with { Offset = 0xF80, Vaddr = 0x400F80 }),
            ElfProblem.SegmentsOverlap, Status.Malformed);
        yield return Case("17 segments", E().With(e =>
        {
            e.Length = 0x12000;
            e.Headers.RemoveRange(1, 2);
            for (int i = 0; i < ElfImage.MaxLoadSegments + 1; i++) e.Headers.Insert(1 + i, new Ph(ElfImage.PtLoad, R | X, 0x1000UL * (ulong)i, 0x400000 + 0x1000UL * (ulong)i, 0x10, 0x10, 0x1000));
        }), ElfProblem.TooManySegments, Status.Unsupported);
        yield return Case("no PT_LOAD", E().SetHeader(1, h => h with { Type = 4 }).SetHeader(2, h => h with { MemoryBytes = 0, FileBytes = 0 }), ElfProblem.NoLoadSegments, Status.Malformed);
        yield return Case("W+X", E().SetHeader(2, h => h with { Flags = R | W | X }), ElfProblem.WritableAndExecutable, Status.Unsupported);
        yield return Case("entry in data", E().With(e => e.Entry = 0x402000), ElfProblem.EntryOutsideText, Status.Malformed);
        yield return Case("entry nowhere", E().With(e => e.Entry = 0), ElfProblem.EntryOutsideText, Status.Malformed);
        yield return Case("PT_PHDR unloaded", E().SetHeader(0, h => h with { Vaddr = 0x500000 }), ElfProblem.ProgramHeadersNotLoaded, Status.Malformed);
        yield return Case("phoff outside segments", E().With(e => e.Headers[0] = new Ph(4, R, 0, 0, 0, 0, 4)).SetHeader(1, h => h with { Offset = 0x1000, FileBytes = 0x100, Vaddr = 0x401000 }).With(e => e.Entry = 0x401010),
            ElfProblem.ProgramHeadersNotLoaded, Status.Malformed);
        yield return Case("TLS filesz > memsz", E().SetHeader(3, h => h with { FileBytes = 0x41 }), ElfProblem.BadTls, Status.Malformed);
        yield return Case("TLS outside", E().SetHeader(3, h => h with { Vaddr = 0x600000 }), ElfProblem.BadTls, Status.Malformed);
    }

    private static object[] Case(string name, ElfFile f, ElfProblem problem, Status status, Action<byte[]>? patch = null)
    {
        byte[] b = f.Build();
        patch?.Invoke(b);
        return new object[] { name, b, problem, status };
    }

    // Expect: each broken rule is named by its own problem, with its status, and a sentence.
    [Theory]
    [MemberData(nameof(BrokenRules))]
    public void EachBrokenRule_GivesItsProblem(string name, byte[] file, ElfProblem problem, Status status)
    {
        Status s = ElfFile.Parse(file, out ElfImage img, out IntPtr mem);
        try
        {
            Assert.True(s == status && img.Problem == problem,
                $"{name}: expected {problem} ({status}), got {img.Problem} ({s}): {ElfImage.Reason(img.Problem)}");
            Assert.Equal(0, img.LoadCount);
            Assert.NotEqual("unknown problem", ElfImage.Reason(problem));
        }
        finally { Marshal.FreeHGlobal(mem); }
    }

    // Expect: every problem has a case above (a rule nobody breaks in a test is an untested rule).
    [Fact]
    public void EveryProblem_IsCovered()
    {
        var seen = new HashSet<ElfProblem>();
        foreach (object[] c in BrokenRules()) seen.Add((ElfProblem)c[2]);
        foreach (ElfProblem p in Enum.GetValues<ElfProblem>())
            if (p != ElfProblem.None) Assert.True(seen.Contains(p), $"no test breaks the rule of {p}");
    }

    // Expect: musl's static executable: ET_EXEC at 0x400000, text executable, data writable
    // with bss, TLS reported, AT_PHDR at 0x400040 (the first segment holds the headers).
    [Fact]
    public void MuslStatic_Parses()
    {
        var keep = new List<IntPtr>();
        ElfImage img = ParseOk(MuslPrograms.Static, keep);
        Assert.False(img.IsPositionIndependent);
        Assert.Equal(0x400000UL, img.ImageStart);
        Assert.Equal(0x400040UL, img.PhdrVaddr);
        Assert.True(img.HasTls);
        bool text = false, data = false;
        for (int i = 0; i < img.LoadCount; i++)
        {
            ElfSegment s = img.Load(i);
            if (s.Protection == VmaProtection.ReadExecute && img.Entry >= s.Vaddr && img.Entry < s.Vaddr + s.MemoryBytes) text = true;
            if (s.Protection == VmaProtection.ReadWrite && s.MemoryBytes >= 100000 && s.FileBytes < s.MemoryBytes) data = true;
        }
        Assert.True(text, "no executable segment holds the entry");
        Assert.True(data, "no writable segment with the 100 KB bss");
        foreach (var p in keep) Marshal.FreeHGlobal(p);
    }

    // Expect: the static PIE is ET_DYN at address 0; the one linked with a dynamic linker is refused.
    [Fact]
    public void MuslStaticPie_Parses_AndInterpreterIsRefused()
    {
        var keep = new List<IntPtr>();
        ElfImage img = ParseOk(MuslPrograms.StaticPie, keep);
        Assert.True(img.IsPositionIndependent);
        Assert.Equal(0UL, img.ImageStart);
        Status s = ElfFile.Parse(MuslPrograms.WithInterpreter, out ElfImage dyn, out IntPtr mem);
        keep.Add(mem);
        Assert.Equal(Status.Unsupported, s);
        Assert.Equal(ElfProblem.DynamicallyLinked, dyn.Problem);
        foreach (var p in keep) Marshal.FreeHGlobal(p);
    }

    // Expect: 20,000 seeded mutations of real and hand-made headers (bytes of the ELF header and
    // program header table changed, files cut short) each give a status; an image that parses
    // keeps every segment inside the file. The seed is printed on failure.
    [Fact]
    public void MutatedHeaders_GiveAStatus_NeverACrash()
    {
        int seed = Environment.TickCount;
        var rng = new Random(seed);
        byte[][] bases = { MuslPrograms.Static, MuslPrograms.StaticPie, ElfFile.Exec64().Build(), ElfFile.Exec32().Build() };
        int ok = 0;
        for (int round = 0; round < 20000; round++)
        {
            byte[] b = (byte[])bases[rng.Next(bases.Length)].Clone();
            int headerEnd = Math.Min(b.Length, 64 + 16 * 56);
            int changes = 1 + rng.Next(6);
            for (int c = 0; c < changes; c++)
            {
                int at = rng.Next(headerEnd);
                switch (rng.Next(4))
                {
                    case 0: b[at] = (byte)rng.Next(256); break;
                    case 1: b[at] ^= (byte)(1 << rng.Next(8)); break;
                    case 2: b[at] = 0xFF; break;
                    default: b[at] = 0; break;
                }
            }
            int length = rng.Next(8) == 0 ? rng.Next(b.Length) : b.Length;
            byte[] cut = b[..length];
            Status s = default;
            ElfImage img = default;
            IntPtr mem = IntPtr.Zero;
            try
            {
                s = ElfFile.Parse(cut, out img, out mem);
                Assert.True(s is Status.Ok or Status.Malformed or Status.Unsupported, $"seed {seed}, round {round}: status {s}");
                Assert.True((s == Status.Ok) == (img.Problem == ElfProblem.None), $"seed {seed}, round {round}: {s} with problem {img.Problem}");
                if (s == Status.Ok)
                {
                    ok++;
                    for (int i = 0; i < img.LoadCount; i++)
                    {
                        ElfSegment seg = img.Load(i);
                        Assert.True(seg.Offset + seg.FileBytes <= (ulong)length && seg.FileBytes <= seg.MemoryBytes, $"seed {seed}, round {round}: segment {i} outside the file");
                        Assert.True(i == 0 || seg.Vaddr >= img.Load(i - 1).Vaddr + img.Load(i - 1).MemoryBytes, $"seed {seed}, round {round}: segments overlap");
                    }
                }
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                throw new Exception($"seed {seed}, round {round}: {e.GetType().Name}", e);
            }
            finally { Marshal.FreeHGlobal(mem); }
        }
        Assert.True(ok > 0, $"seed {seed}: no mutation parsed (the mutations are too blunt to test the accepting path)");
    }
}
