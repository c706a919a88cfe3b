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
/// The initial stack of an ELF32 i386 program (the i386 kernel's exec), read back as the process
/// sees it on 32-bit tables: the System V i386 picture, the same as x86-64's with 4-byte words
/// and AT_PLATFORM "i686".
/// </summary>
public sealed unsafe class InitialStack32Tests : InitialStackTestBase<X86LegacyFormat>
{
    private uint Word(ulong va) => (uint)f.MustRead(va);

    // Expect, from esp up in 4-byte words: argc, argv[], NULL, envp[], NULL, the 18 auxv pairs in
    // Linux's order; AT_PHDR at the ELF32 program headers (32 bytes each), AT_PLATFORM "i686",
    // AT_RANDOM's bytes, esp 16-aligned, 8 zero bytes at the top.
    [Fact]
    public void Elf32Program_GetsFourByteWords_AndThei686Platform()
    {
        byte[] file = ElfFile.Exec32().Build();
        Assert.Equal(Status.Ok, ElfFile.Parse(file, out ElfImage img, out IntPtr mem));
        _memory.Add(mem);
        Assert.False(img.Is64);
        var s = f.NewSpace();
        Assert.Equal(Status.Ok, ProgramLoader.Load(ref f.M, s, img, ProgramLoader.DefaultPieBase32, ref f.Arch, out LoadedProgram p));
        string[] argv = { "prog", "an argument with spaces" };
        string[] envp = { "TERM=dumb" };
        byte[] random = new byte[16];
        for (int i = 0; i < 16; i++) random[i] = (byte)(0x50 + i);
        var args = new ExecArguments { Argv = List(argv), Envp = List(envp), Random = Pinned(random) };
        Assert.Equal(Status.Ok, InitialStack.Build(ref f.M, s, p, args, ref f.Arch, out ulong esp));
        f.Switch(s);
        Assert.Equal(0UL, esp % 16);
        Assert.True(esp < 0xC0000000UL && esp > 0xC0000000UL - 4096, "esp in the stack's top page");
        ulong at = esp;
        uint Next() { uint w = Word(at); at += 4; return w; }
        Assert.Equal((uint)argv.Length, Next());
        foreach (string a in argv) Assert.Equal(a, UserString(Next()));
        Assert.Equal(0u, Next());
        foreach (string e in envp) Assert.Equal(e, UserString(Next()));
        Assert.Equal(0u, Next());
        var aux = new Dictionary<ulong, uint>();
        var order = new List<ulong>();
        for (; ; ) { ulong t = Next(); uint v = Next(); order.Add(t); aux[t] = v; if (t == InitialStack.AtNull) break; }
        Assert.Equal(new ulong[] { 16, 6, 17, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 23, 25, 31, 15, 0 }, order.ToArray());
        Assert.Equal(4096u, aux[InitialStack.AtPagesz]);
        Assert.Equal(0x08048034u, aux[InitialStack.AtPhdr]);
        Assert.Equal(32u, aux[InitialStack.AtPhent]);
        Assert.Equal((uint)img.PhCount, aux[InitialStack.AtPhnum]);
        Assert.Equal(0x08048800u, aux[InitialStack.AtEntry]);
        Assert.Equal("i686", UserString(aux[InitialStack.AtPlatform]));
        Assert.Equal("prog", UserString(aux[InitialStack.AtExecfn]));
        for (int i = 0; i < 16; i++) Assert.Equal(random[i], (byte)f.MustRead(aux[InitialStack.AtRandom] + (ulong)i));
        Assert.Equal(0UL, f.MustRead(f.Layout.StackTop - 8));
        Assert.Empty(f.Faults);
        f.Validate("after the stack");
    }
}
