using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using SharpMM.User.Exec;
using Xunit;

namespace SharpMM.Tests.User.Exec;

/// <summary>A program header for <see cref="ElfFile"/>.</summary>
public record struct Ph(uint Type, uint Flags, ulong Offset, ulong Vaddr, ulong FileBytes, ulong MemoryBytes, ulong Align);

/// <summary>
/// A hand-made ELF executable: the header at 0, the program headers right after it, then
/// recognisable bytes (offset * 31 + 1) to the end of the file. Tests change a field and expect
/// the parser to name exactly the rule it breaks.
/// </summary>
public sealed class ElfFile
{
    public bool Is64 = true;
    public ushort Type = ElfImage.EtExec, Machine = ElfImage.EmX86_64;
    public ulong Entry;
    public ulong? PhOffset;
    public int? PhCount;
    public int? PhEntrySize;
    public int? HeaderSize;
    public uint Version = 1;
    public int Length;
    public List<Ph> Headers = new();

    public const uint R = ElfImage.PfR, W = ElfImage.PfW, X = ElfImage.PfX;

    /// <summary>
    /// A valid static ET_EXEC (ELF64, 8 KiB + 256 bytes of file):
    ///   PT_PHDR    0x400040
    ///   PT_LOAD R X  file [0, 0x1000)       at 0x400000 (headers and text; entry 0x400800)
    ///   PT_LOAD RW   file [0x1000, 0x1100)  at 0x402000, memsz 0x3000 (data, then bss)
    ///   PT_TLS       file [0x1000, 0x1010)  at 0x402000, memsz 0x40
    ///   PT_GNU_STACK RW
    /// </summary>
    public static ElfFile Exec64()
    {
        var e = new ElfFile { Entry = 0x400800, Length = 0x2100 };
        e.Headers.Add(new Ph(ElfImage.PtPhdr, R, 64, 0x400040, 5 * 56, 5 * 56, 8));
        e.Headers.Add(new Ph(ElfImage.PtLoad, R | X, 0, 0x400000, 0x1000, 0x1000, 0x1000));
        e.Headers.Add(new Ph(ElfImage.PtLoad, R | W, 0x1000, 0x402000, 0x100, 0x3000, 0x1000));
        e.Headers.Add(new Ph(ElfImage.PtTls, R, 0x1000, 0x402000, 0x10, 0x40, 8));
        e.Headers.Add(new Ph(ElfImage.PtGnuStack, R | W, 0, 0, 0, 0, 16));
        return e;
    }

    /// <summary>The same shape as an ELF32 i386 executable at 0x08048000.</summary>
    public static ElfFile Exec32()
    {
        var e = new ElfFile { Is64 = false, Machine = ElfImage.EmI386, Entry = 0x08048800, Length = 0x2100 };
        e.Headers.Add(new Ph(ElfImage.PtPhdr, R, 52, 0x08048034, 4 * 32, 4 * 32, 4));
        e.Headers.Add(new Ph(ElfImage.PtLoad, R | X, 0, 0x08048000, 0x1000, 0x1000, 0x1000));
        e.Headers.Add(new Ph(ElfImage.PtLoad, R | W, 0x1000, 0x0804A000, 0x100, 0x3000, 0x1000));
        e.Headers.Add(new Ph(ElfImage.PtGnuStack, R | W, 0, 0, 0, 0, 16));
        return e;
    }

    public ElfFile With(Action<ElfFile> change) { change(this); return this; }

    public ElfFile SetHeader(int i, Func<Ph, Ph> change) { Headers[i] = change(Headers[i]); return this; }

    public static byte Fill(long offset) => (byte)(offset * 31 + 1);

    public byte[] Build()
    {
        int eh = Is64 ? 64 : 52, pe = Is64 ? 56 : 32;
        // Built at full size, then cut to Length (a truncated file keeps the bytes before the cut).
        var b = new byte[Math.Max(Length, eh + Headers.Count * pe)];
        for (int i = 0; i < b.Length; i++) b[i] = Fill(i);
        var w = new BinaryWriter(new MemoryStream(b));
        void At(long o) => w.Seek((int)o, SeekOrigin.Begin);
        At(0);
        w.Write(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', (byte)(Is64 ? 2 : 1), 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 });
        w.Write(Type); w.Write(Machine); w.Write(Version);
        ulong phoff = PhOffset ?? (ulong)eh;
        if (Is64) { w.Write(Entry); w.Write(phoff); w.Write(0UL); w.Write(0u); }
        else { w.Write((uint)Entry); w.Write((uint)phoff); w.Write(0u); w.Write(0u); }
        w.Write((ushort)(HeaderSize ?? eh)); w.Write((ushort)(PhEntrySize ?? pe)); w.Write((ushort)(PhCount ?? Headers.Count));
        w.Write((ushort)0); w.Write((ushort)0); w.Write((ushort)0);
        for (int i = 0; i < Headers.Count; i++)
        {
            Ph h = Headers[i];
            At(eh + i * pe);
            if (Is64) { w.Write(h.Type); w.Write(h.Flags); w.Write(h.Offset); w.Write(h.Vaddr); w.Write(h.Vaddr); w.Write(h.FileBytes); w.Write(h.MemoryBytes); w.Write(h.Align); }
            else { w.Write(h.Type); w.Write((uint)h.Offset); w.Write((uint)h.Vaddr); w.Write((uint)h.Vaddr); w.Write((uint)h.FileBytes); w.Write((uint)h.MemoryBytes); w.Write(h.Flags); w.Write((uint)h.Align); }
        }
        w.Flush();
        return b[..Length];
    }

    /// <summary>Parses <paramref name="file"/> (copied to unmanaged memory that lives as long as the test).</summary>
    public static unsafe Status Parse(byte[] file, out ElfImage image, out IntPtr memory)
    {
        memory = System.Runtime.InteropServices.Marshal.AllocHGlobal(Math.Max(file.Length, 1));
        System.Runtime.InteropServices.Marshal.Copy(file, 0, memory, file.Length);
        return ElfImage.Parse((byte*)memory, (ulong)file.Length, out image);
    }
}

/// <summary>
/// Small C programs compiled with musl-gcc once per test run: static (ET_EXEC at 0x400000),
/// static PIE (ET_DYN) and, to be refused, one with a dynamic linker. musl-gcc is required
/// (./test.sh installs musl-tools).
/// </summary>
public static class MuslPrograms
{
    public const string Source = """
        #include <stdio.h>
        #include <string.h>
        _Thread_local int counter = 5;
        int table[64] = { 1, 2, 3 };
        char zeros[100000];
        int main(int argc, char **argv, char **envp)
        {
            counter += argc;
            printf("%s %d %d %zu\n", argv[0], counter, table[1], strlen(zeros));
            for (char **e = envp; *e; e++) puts(*e);
            return 0;
        }
        """;

    private static readonly Lazy<string> Dir = new(Compile);

    /// <summary>musl-gcc -static.</summary>
    public static byte[] Static => File.ReadAllBytes(Path.Combine(Dir.Value, "static"));
    /// <summary>musl-gcc -static-pie, linked without a dynamic linker: ET_DYN with no PT_INTERP.</summary>
    public static byte[] StaticPie => File.ReadAllBytes(Path.Combine(Dir.Value, "pie"));
    /// <summary>musl-gcc -static-pie as Debian's musl-gcc links it: with a PT_INTERP.</summary>
    public static byte[] WithInterpreter => File.ReadAllBytes(Path.Combine(Dir.Value, "interp"));

    private static string Compile()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharpmm-elf-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string src = Path.Combine(dir, "hello.c");
        File.WriteAllText(src, Source);
        Run(dir, "-static -O1 -o static hello.c");
        Run(dir, "-static-pie -fPIE -O1 -Wl,--no-dynamic-linker -o pie hello.c");
        Run(dir, "-static-pie -fPIE -O1 -o interp hello.c");
        return dir;
    }

    private static void Run(string dir, string args)
    {
        var psi = new ProcessStartInfo("musl-gcc", args) { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("musl-gcc is required for the ELF loader's tests (apt-get install musl-tools; ./test.sh installs it): " + e.Message);
        }
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"musl-gcc {args} failed: {err}");
    }
}
