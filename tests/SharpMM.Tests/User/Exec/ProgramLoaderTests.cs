using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using SharpMM.Addressing;
using SharpMM.Hosted.Machine;
using SharpMM.Paging.X86;
using SharpMM.User;
using SharpMM.User.Exec;
using Xunit;

namespace SharpMM.Tests.User.Exec;

/// <summary>
/// Loading executables into a fresh x86-64 address space on the MMU model, and building their
/// initial stack: what the process then reads in user mode is checked byte for byte against
/// the file, word for word against the System V ABI's picture.
/// </summary>
public sealed unsafe class ProgramLoaderTests : IDisposable
{
    private readonly UserFixture<X86LongModeFormat> f = new();
    private readonly List<IntPtr> _memory = new();

    public void Dispose()
    {
        foreach (var p in _memory) Marshal.FreeHGlobal(p);
        f.Dispose();
    }

    private ElfImage Parse(byte[] file)
    {
        Status s = ElfFile.Parse(file, out ElfImage img, out IntPtr mem);
        _memory.Add(mem);
        Assert.True(s == Status.Ok, ElfImage.Reason(img.Problem));
        return img;
    }

    private byte[] UserBytes(AddressSpace<X86LongModeFormat>* s, ulong va, int n)
    {
        var b = new byte[n];
        fixed (byte* p = b) Assert.Equal(Status.Ok, UserCopy.FromUser(ref f.M, s, va, p, (ulong)n, ref f.Arch));
        return b;
    }

    private Vma RegionAt(AddressSpace<X86LongModeFormat>* s, ulong va)
    {
        int i = s->Regions.Find(va);
        Assert.True(i >= 0, $"no region at 0x{va:x}");
        return s->Regions[i];
    }

    // Loads `file` at `base` and checks, through the process's own reads: every segment's file
    // bytes at its address, zero bss up to its end, each segment's rights (a fetch from text, a
    // write to data; a write to text and a fetch from data refused), the break and entry.
    private LoadedProgram LoadAndCheck(byte[] file, ulong loadBase, out AddressSpace<X86LongModeFormat>* space)
    {
        ElfImage img = Parse(file);
        var s = f.NewSpace();
        space = s;
        Assert.Equal(Status.Ok, ProgramLoader.Load(ref f.M, s, img, loadBase, ref f.Arch, out LoadedProgram p));
        ulong bias = img.IsPositionIndependent ? loadBase : 0;
        Assert.Equal(bias, p.LoadBias);
        Assert.Equal(img.Entry + bias, p.Entry);
        Assert.Equal(img.PhdrVaddr + bias, p.PhdrVa);
        ElfSegment last = img.Load(img.LoadCount - 1);
        Assert.Equal((last.Vaddr + last.MemoryBytes + bias + 4095) & ~4095UL, p.BrkStart);
        Assert.Equal(p.BrkStart, s->BrkStart);
        f.Switch(s);
        for (int i = 0; i < img.LoadCount; i++)
        {
            ElfSegment seg = img.Load(i);
            ulong va = seg.Vaddr + bias;
            Assert.Equal(seg.Protection, RegionAt(s, va).Protection);
            Assert.Equal(file[(int)seg.Offset..(int)(seg.Offset + seg.FileBytes)], UserBytes(s, va, (int)seg.FileBytes));
            ulong bss = seg.MemoryBytes - seg.FileBytes;
            if (bss != 0) Assert.All(UserBytes(s, va + seg.FileBytes, (int)bss), b => Assert.Equal(0, b));
            // The process's own access, through the MMU model in user mode.
            Assert.Equal(AccessStatus.Ok, f.Read(va & ~7UL, out _));
            if ((seg.Flags & ElfImage.PfX) != 0)
            {
                Assert.Equal(AccessStatus.Ok, f.Fetch(va));
                Assert.Equal(AccessStatus.PageFault, f.Write(va & ~7UL, 1));
                Assert.Equal(FaultKind.AccessViolation, f.LastFault);
            }
            else
            {
                Assert.Equal(AccessStatus.PageFault, f.Fetch(va));
                Assert.Equal(FaultKind.AccessViolation, f.LastFault);
            }
            if ((seg.Flags & ElfImage.PfW) != 0) f.MustWrite((va + seg.MemoryBytes - 8) & ~7UL, 0x1234);
        }
        Assert.Equal(AccessStatus.Ok, f.Fetch(p.Entry));
        // AT_PHDR points at the program headers, as the file has them.
        Assert.Equal(file[(int)img.PhOffset..(int)(img.PhOffset + (ulong)(img.PhCount * img.PhEntrySize))], UserBytes(s, p.PhdrVa, img.PhCount * img.PhEntrySize));
        f.Validate("after load");
        return p;
    }

    [Fact]
    public void MuslStatic_LoadsAtItsAddresses()
    {
        LoadedProgram p = LoadAndCheck(MuslPrograms.Static, 0, out _);
        Assert.Equal(0x400000UL, p.ImageStart);
        Assert.Equal(0x400040UL, p.PhdrVa);
    }

    [Fact]
    public void MuslStaticPie_LoadsAtTheBaseGiven()
    {
        LoadedProgram p = LoadAndCheck(MuslPrograms.StaticPie, ProgramLoader.DefaultPieBase, out _);
        Assert.Equal(ProgramLoader.DefaultPieBase, p.ImageStart);
        LoadAndCheck(MuslPrograms.StaticPie, 0x7000_0000, out _);
    }

    [Fact]
    public void HandMade_BssAcrossPages_IsZero_AndBrkStartsAfterIt()
    {
        ElfImage img = Parse(ElfFile.Exec64().Build());
        var fresh = f.NewSpace();
        Assert.Equal(Status.Ok, ProgramLoader.Load(ref f.M, fresh, img, 0, ref f.Arch, out _));
        // Only pages holding file bytes are populated by the load: bss pages after them stay
        // demand-zero until touched (0x402000 holds the data's 0x100 bytes, 0x403000 is bss).
        Assert.NotEqual(0UL, fresh->Entry(0x402000));
        Assert.Equal(0UL, fresh->Entry(0x403000));
        LoadedProgram p = LoadAndCheck(ElfFile.Exec64().Build(), 0, out var s);
        Assert.Equal(0x405000UL, p.BrkStart);
        Assert.Equal(Status.Ok, f.M.SetBrk(s, 0x406000, ref f.Arch, out ulong brk));
        Assert.Equal(0x406000UL, brk);
    }

    // Expect: refused inputs change nothing: a space with regions, a misaligned or too high
    // base, a segment in the stack's reach.
    [Fact]
    public void BadPlacements_AreRefused_WithNothingMapped()
    {
        ElfImage pie = Parse(MuslPrograms.StaticPie);
        var s = f.NewSpace();
        Assert.Equal(Status.Misaligned, ProgramLoader.Load(ref f.M, s, pie, ProgramLoader.DefaultPieBase + 8, ref f.Arch, out _));
        Assert.Equal(Status.OutOfRange, ProgramLoader.Load(ref f.M, s, pie, 0x0000800000000000, ref f.Arch, out _)); // beyond user space
        Assert.Equal(Status.OutOfRange, ProgramLoader.Load(ref f.M, s, pie, 0xFFFFFFFFFFFF0000, ref f.Arch, out _)); // wraps
        Assert.Equal(Status.Overlap, ProgramLoader.Load(ref f.M, s, pie, f.Layout.StackTop - 0x100000, ref f.Arch, out _));
        Assert.Equal(0, s->Regions.Count);
        Assert.Equal(Status.Ok, f.M.MapAnonymous(s, 0, 4096, VmaProtection.ReadWrite, out _));
        Assert.Equal(Status.InvalidArgument, ProgramLoader.Load(ref f.M, s, pie, ProgramLoader.DefaultPieBase, ref f.Arch, out _));
        Assert.Equal(1, s->Regions.Count);
    }

    // Expect: with k free frames for every k until the load fits, a failed load is OutOfMemory
    // and leaves the space empty with every frame back; then the load succeeds.
    [Fact]
    public void OutOfMemory_AtEveryStep_LeavesTheSpaceEmpty()
    {
        using var g = new UserFixture<X86LongModeFormat>(storeSlots: PersistentRegion.SlotsFor(64)); // no swap
        Status st = ElfFile.Parse(MuslPrograms.Static, out ElfImage img, out IntPtr mem);
        _memory.Add(mem);
        Assert.Equal(Status.Ok, st);
        var s = g.NewSpace();
        var held = new List<Pfn>();
        while (g.M.Frames.Allocate(0, out Pfn pfn) == Status.Ok) held.Add(pfn);
        int failures = 0;
        for (int k = 0; ; k++)
        {
            Assert.True(k < 64, "the load never fitted");
            ulong free = g.FreeFrames;
            Status r = ProgramLoader.Load(ref g.M, s, img, 0, ref g.Arch, out _);
            if (r == Status.Ok) break;
            failures++;
            Assert.Equal(Status.OutOfMemory, r);
            Assert.Equal(0, s->Regions.Count);
            Assert.Equal(0UL, s->ResidentPages);
            Assert.Equal(1UL, s->TablePages);
            Assert.Equal(free, g.FreeFrames);
            g.Validate($"after a load failed with {k} frames");
            Assert.Equal(Status.Ok, g.M.Frames.Free(held[^1], 0));
            held.RemoveAt(held.Count - 1);
        }
        Assert.True(failures > 3, $"only {failures} failed loads: the test did not reach the later steps");
        g.Validate("after the load");
    }
}
