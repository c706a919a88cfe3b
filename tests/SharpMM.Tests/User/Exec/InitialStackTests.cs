using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.User.Exec;
using Xunit;

namespace SharpMM.Tests.User.Exec;

/// <summary>
/// The initial stack of a loaded musl program, read back word by word as the process sees it
/// (user-mode reads on the MMU model), against the System V x86-64 ABI and Linux's auxv.
/// </summary>
public sealed unsafe class InitialStackTests : InitialStackTestBase<X86LongModeFormat>
{
    /// <summary>A musl program loaded into a fresh space (a pointer cannot be a tuple element).</summary>
    private struct Case
    {
        public AddressSpace<X86LongModeFormat>* Space;
        public LoadedProgram Program;
        public byte[] File;
        public ElfImage Image;
    }

    private Case Loaded()
    {
        byte[] file = MuslPrograms.Static;
        Assert.Equal(Status.Ok, ElfFile.Parse(file, out ElfImage img, out IntPtr mem));
        _memory.Add(mem);
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, ProgramLoader.Load(ref f.M, s, img, 0, ref f.Arch, out LoadedProgram p));
        return new Case { Space = s, Program = p, File = file, Image = img };
    }

    private ExecArguments Args(StringList argv, StringList envp, byte[] random) => new()
    {
        Argv = argv, Envp = envp, Random = Pinned(random), ExecFn = Pinned("/usr/bin/hello\0"u8.ToArray()),
        Uid = 1000, Euid = 1001, Gid = 100, Egid = 101,
    };

    // Expect, from rsp up: argc, argv[], NULL, envp[], NULL, the 18 auxv pairs in Linux's order
    // with their values; the strings they point at; AT_PHDR at the program headers; AT_RANDOM's
    // 16 bytes; 8 zero bytes at the top; rsp 16-aligned.
    [Fact]
    public void Stack_IsTheAbisPicture_WordByWord()
    {
        var c = Loaded();
        var s = c.Space; var p = c.Program; var file = c.File; var img = c.Image;
        string[] argv = { "hello", "-v", "an argument with spaces" };
        string[] envp = { "HOME=/root", "PATH=/bin:/usr/bin", "" };
        byte[] random = new byte[16];
        for (int i = 0; i < 16; i++) random[i] = (byte)(0xA0 + i);
        Assert.Equal(Status.Ok, InitialStack.Build(ref f.M, s, p, Args(List(argv), List(envp), random), ref f.Arch, out ulong rsp));
        f.Switch(s);
        Assert.Equal(0UL, rsp % 16);
        ulong at = rsp;
        ulong Next() { ulong word = f.MustRead(at); at += 8; return word; }
        Assert.Equal((ulong)argv.Length, Next());
        var argPtrs = new List<ulong>();
        foreach (string a in argv) { ulong ptr = Next(); argPtrs.Add(ptr); Assert.Equal(a, UserString(ptr)); }
        Assert.Equal(0UL, Next());
        foreach (string e in envp) Assert.Equal(e, UserString(Next()));
        Assert.Equal(0UL, Next());
        var aux = new List<(ulong, ulong)>();
        for (; ; ) { ulong t = Next(), val = Next(); aux.Add((t, val)); if (t == InitialStack.AtNull) break; }
        ulong[] order = { 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 31, 15, 0 };
        Assert.Equal(order, aux.ConvertAll(x => x.Item1).ToArray());
        var v = new Dictionary<ulong, ulong>();
        foreach (var (t, val) in aux) v[t] = val;
        Assert.Equal(0UL, v[InitialStack.AtHwcap]);
        Assert.Equal(4096UL, v[InitialStack.AtPagesz]);
        Assert.Equal(100UL, v[InitialStack.AtClktck]);
        Assert.Equal(0x400040UL, v[InitialStack.AtPhdr]);
        Assert.Equal(56UL, v[InitialStack.AtPhent]);
        Assert.Equal((ulong)img.PhCount, v[InitialStack.AtPhnum]);
        Assert.Equal(0UL, v[InitialStack.AtBase]);
        Assert.Equal(0UL, v[InitialStack.AtFlags]);
        Assert.Equal(img.Entry, v[InitialStack.AtEntry]);
        Assert.Equal(1000UL, v[InitialStack.AtUid]);
        Assert.Equal(1001UL, v[InitialStack.AtEuid]);
        Assert.Equal(100UL, v[InitialStack.AtGid]);
        Assert.Equal(101UL, v[InitialStack.AtEgid]);
        Assert.Equal(0UL, v[InitialStack.AtSecure]);
        Assert.Equal("/usr/bin/hello", UserString(v[InitialStack.AtExecfn]));
        Assert.Equal("x86_64", UserString(v[InitialStack.AtPlatform]));
        ulong r = v[InitialStack.AtRandom];
        for (int i = 0; i < 16; i++) Assert.Equal(random[i], (byte)(f.MustRead((r + (ulong)i) & ~7UL) >> (int)(8 * ((r + (ulong)i) & 7))));
        // The program headers through AT_PHDR, as musl's startup finds PT_TLS.
        for (int i = 0; i < img.PhCount * 56; i += 8)
            Assert.Equal(BitConverter.ToUInt64(file, (int)img.PhOffset + i), f.MustRead(v[InitialStack.AtPhdr] + (ulong)i));
        // Strings: argv's packed, envp's right after them, AT_EXECFN above, 8 zero bytes at the top.
        ulong envStart = argPtrs[0] + (ulong)(Encoding.UTF8.GetByteCount(string.Join("\0", argv)) + 1);
        Assert.Equal("HOME=/root", UserString(envStart));
        Assert.Equal(f.Layout.StackTop - 8 - 15, v[InitialStack.AtExecfn]);
        Assert.Equal(0UL, f.MustRead(f.Layout.StackTop - 8));
        Assert.True(at <= r, "the auxv runs into the random bytes");
        Assert.True(r + 16 <= v[InitialStack.AtPlatform] && v[InitialStack.AtPlatform] + 7 <= argPtrs[0], "the strings overlap");
        Assert.Empty(f.Faults); // everything the process reads was populated by the build
        f.Validate("after the stack");
    }

    // Expect: no ExecFn: AT_EXECFN is argv[0]'s text; argc 0 and no environment still make a
    // valid stack (argc 0, two NULLs, auxv).
    [Fact]
    public void EmptyLists_AndExecFnFromArgv0()
    {
        var c = Loaded();
        var s = c.Space; var p = c.Program;
        var a = Args(List("prog"), List(), new byte[16]);
        a.ExecFn = null;
        Assert.Equal(Status.Ok, InitialStack.Build(ref f.M, s, p, a, ref f.Arch, out ulong rsp));
        f.Switch(s);
        Assert.Equal(1UL, f.MustRead(rsp));
        Assert.Equal(0UL, f.MustRead(rsp + 16));
        Assert.Equal(0UL, f.MustRead(rsp + 24));
        ulong at = rsp + 32;
        while (f.MustRead(at) != InitialStack.AtExecfn) at += 16;
        Assert.Equal("prog", UserString(f.MustRead(at + 8)));

        var c2 = Loaded();
        var s2 = c2.Space; var p2 = c2.Program;
        Assert.Equal(Status.Ok, InitialStack.Build(ref f.M, s2, p2, Args(List(), List(), new byte[16]), ref f.Arch, out rsp));
        f.Switch(s2);
        Assert.Equal(0UL, f.MustRead(rsp));
        Assert.Equal(0UL, f.MustRead(rsp + 8));
        Assert.Equal(0UL, f.MustRead(rsp + 16));
        Assert.Equal(InitialStack.AtHwcap, f.MustRead(rsp + 24));
    }

    // Expect: arguments past a quarter of the stack limit (2 MiB) or one string above 128 KiB
    // are Overflow (E2BIG); a list whose count disagrees with its strings is InvalidArgument;
    // nothing is left mapped: the space has only the program's regions and its frames are as before.
    [Fact]
    public void TooMuch_OrMalformed_IsRefused_WithNoStackLeft()
    {
        var c = Loaded();
        var s = c.Space; var p = c.Program;
        int regions = s->Regions.Count;
        ulong resident = s->ResidentPages;
        string chunk = new('x', 100_000);
        var many = new string[24];
        Array.Fill(many, chunk);
        Assert.Equal(Status.Overflow, InitialStack.Build(ref f.M, s, p, Args(List(many), List(), new byte[16]), ref f.Arch, out _));
        Assert.Equal(Status.Overflow, InitialStack.Build(ref f.M, s, p, Args(List("a"), List(new string('y', 131_072)), new byte[16]), ref f.Arch, out _));
        var bad = List("one", "two");
        bad.Count = 3;
        Assert.Equal(Status.InvalidArgument, InitialStack.Build(ref f.M, s, p, Args(bad, List(), new byte[16]), ref f.Arch, out _));
        var noRandom = Args(List("a"), List(), new byte[16]);
        noRandom.Random = null;
        Assert.Equal(Status.InvalidArgument, InitialStack.Build(ref f.M, s, p, noRandom, ref f.Arch, out _));
        Assert.Equal(regions, s->Regions.Count);
        Assert.Equal(resident, s->ResidentPages);
        // Just under the limit works (20 x 100,000 bytes: 2,000,020 with the NULs and pointers).
        Assert.Equal(Status.Ok, InitialStack.Build(ref f.M, s, p, Args(List(many[..20]), List(), new byte[16]), ref f.Arch, out ulong rsp));
        Assert.Equal(regions + 1, s->Regions.Count);
        f.Switch(s);
        Assert.Equal(20UL, f.MustRead(rsp));
        Assert.Equal(Status.Overlap, InitialStack.Build(ref f.M, s, p, Args(List("a"), List(), new byte[16]), ref f.Arch, out _));
        f.Validate("after the stacks");
    }

    // Expect: a build that runs out of frames part way is OutOfMemory and removes the stack
    // region with every page it had (no swap, so nothing can be reclaimed).
    [Fact]
    public void OutOfMemory_RemovesTheStack()
    {
        using var g = new UserFixture<X86LongModeFormat>(storeSlots: PersistentRegion.SlotsFor(64));
        Assert.Equal(Status.Ok, ElfFile.Parse(MuslPrograms.Static, out ElfImage img, out IntPtr mem));
        _memory.Add(mem);
        var s = g.NewSpace();
        Assert.Equal(Status.Ok, ProgramLoader.Load(ref g.M, s, img, 0, ref g.Arch, out LoadedProgram p));
        int regions = s->Regions.Count;
        ulong resident = s->ResidentPages;
        var held = new List<SharpMM.Addressing.Pfn>();
        while (g.M.Frames.Allocate(0, out var pfn) == Status.Ok) held.Add(pfn);
        for (int i = 0; i < 3; i++) { Assert.Equal(Status.Ok, g.M.Frames.Free(held[^1], 0)); held.RemoveAt(held.Count - 1); }
        ulong free = g.FreeFrames;
        string big = new('z', 100_000); // 25 pages of strings: more than 3 frames
        Assert.Equal(Status.OutOfMemory, InitialStack.Build(ref g.M, s, p, Args(List(big), List(), new byte[16]), ref g.Arch, out _));
        Assert.Equal(regions, s->Regions.Count);
        Assert.Equal(resident, s->ResidentPages);
        Assert.Equal(free, g.FreeFrames);
        g.Validate("after the failed stack");
    }
}
