using SharpMM.Addressing;
using System;
using System.Runtime.InteropServices;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Tests.Paging;
using SharpMM.Virtual;
using Xunit;
using Vm = SharpMM.Virtual.KernelVirtualMemory<SharpMM.Paging.X86.X86LongModeFormat, SharpMM.Paging.DirectMapTableAccess>;

namespace SharpMM.Tests.Virtual;

/// <summary>vmalloc, vfree and device mappings on x86-64 tables, checked through the hosted MMU
/// model with its TLB in strict mode (a stale translation after a missing flush throws).</summary>
public unsafe class KernelVirtualMemoryTests : IDisposable
{
    private const ulong VmallocBase = 0xFFFFC90000000000, DeviceBase = 0xFFFFD00000000000;
    private readonly TableRam _ram = new(4096);
    private readonly Vm* _vm = (Vm*)NativeMemory.AllocZeroed((nuint)sizeof(Vm));
    private TestFrames _frames;
    private readonly Mmu _mmu;
    private MmuArchHooks _arch;

    public KernelVirtualMemoryTests()
    {
        _frames = _ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(_ram.Access, ref _frames, out var mapper));
        Assert.Equal(Status.Ok, _vm->Init(mapper, VmallocBase, VmallocBase + (64UL << 20), DeviceBase, DeviceBase + (16UL << 20)));
        _mmu = new Mmu(_ram.Ram);
        _mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension;
        _mmu.Efer = EferFlags.NoExecuteEnable;
        _mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
        _mmu.EnablePaging(PagingMode.FourLevel, mapper.RootPhys);
        _mmu.Tlb.PanicOnViolation = true;
        _arch = _mmu.ArchHooks;
    }

    public void Dispose()
    {
        NativeMemory.Free(_vm);
        _ram.Dispose();
    }

    [Fact]
    public void Vmalloc_IsWritable_NotExecutable_WithAGuardAfter()
    {
        ulong free0 = _ram.Free;
        Assert.Equal(Status.Ok, _vm->Vmalloc(3 * 4096 + 1, ref _frames, ref _arch, out ulong va));
        Assert.Equal(4UL, _vm->VmallocPages);
        for (ulong off = 0; off < 4 * 4096; off += 4096) _mmu.Write64(va + off, 0x1234 + off);
        for (ulong off = 0; off < 4 * 4096; off += 4096) Assert.Equal(0x1234 + off, _mmu.Read64(va + off));
        Assert.Equal(TranslationResult.PageFault, _mmu.Translate(va, AccessKind.Fetch, Privilege.Supervisor, out _));
        Assert.Equal(TranslationResult.PageFault, _mmu.Translate(va + 4 * 4096, AccessKind.Read, Privilege.Supervisor, out _)); // guard
        Assert.Equal(Status.Ok, _vm->Vmalloc(4096, ref _frames, ref _arch, out ulong next));
        Assert.Equal(va + 5 * 4096, next);
        Assert.Equal(Status.Ok, _vm->Vfree(va, ref _frames, ref _arch));
        Assert.Equal(Status.Ok, _vm->Vfree(next, ref _frames, ref _arch));
        Assert.Equal(TranslationResult.PageFault, _mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out _)); // flushed
        Assert.Equal(free0, _ram.Free); // frames and table pages all back
    }

    [Fact]
    public void BadVfree_IsRefused()
    {
        Assert.Equal(Status.Ok, _vm->Vmalloc(8192, ref _frames, ref _arch, out ulong va));
        Assert.Equal(Status.NotAllocated, _vm->Vfree(va + 4096, ref _frames, ref _arch));
        Assert.Equal(Status.OutOfRange, _vm->Vfree(0x1000, ref _frames, ref _arch));
        Assert.Equal(Status.Ok, _vm->Vfree(va, ref _frames, ref _arch));
        Assert.Equal(Status.NotAllocated, _vm->Vfree(va, ref _frames, ref _arch));
    }

    // Out of frames at every step of a 16-page vmalloc: nothing stays mapped or allocated.
    [Fact]
    public void Vmalloc_OutOfMemory_AtEveryStep_RollsBack()
    {
        for (int failAt = 1; failAt <= 20; failAt++)
        {
            var frames = _ram.Frames(failAt);
            ulong free0 = _ram.Free;
            var st = _vm->Vmalloc(16 * 4096, ref frames, ref _arch, out ulong va);
            if (st == Status.Ok) { Assert.Equal(Status.Ok, _vm->Vfree(va, ref frames, ref _arch)); continue; }
            Assert.Equal(Status.OutOfMemory, st);
            Assert.Equal(free0, _ram.Free);
            Assert.Equal(0UL, _vm->VmallocPages);
            Assert.Equal(0, _vm->VmallocRanges.LiveCount);
        }
    }

    // ioremap of a range at or crossing 2^52 (x86-64 entries hold 52-bit addresses).
    // Expect: InvalidArgument, nothing mapped, the device window's range released (the next
    // mapping gets the same address), no table page taken.
    [Fact]
    public void MapDevice_BeyondTheFormatsPhysicalLimit_IsRefused_NothingChanged()
    {
        const ulong limit = 1UL << 52;
        ulong free = _frames.FreeFrames;
        Assert.Equal(Status.InvalidArgument, _vm->MapDevice(limit, 4096, CacheMode.Uncached, ref _frames, ref _arch, out ulong va));
        Assert.Equal(0UL, va);
        Assert.Equal(Status.InvalidArgument, _vm->MapDevice(limit - 4096, 2 * 4096, CacheMode.Uncached, ref _frames, ref _arch, out va));
        Assert.Equal(0UL, va);
        Assert.Equal(free, _frames.FreeFrames);
        Assert.Equal(TranslationResult.PageFault, _mmu.Translate(DeviceBase, AccessKind.Read, Privilege.Supervisor, out _));
        Assert.Equal(Status.Ok, _vm->MapDevice(limit - 4096, 4096, CacheMode.Uncached, ref _frames, ref _arch, out va));
        Assert.Equal(DeviceBase, va);
    }

    // The same on 32-bit tables (4 KiB entries hold addresses below 4 GiB): at and across 4 GiB.
    [Fact]
    public void MapDevice_BeyondFourGiB_On32BitTables_IsRefused_NothingChanged()
    {
        using var ram = new TableRam(64);
        TestFrames frames = ram.Frames();
        Assert.Equal(Status.Ok, Mapper<X86LegacyFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var mapper));
        var vm = new KernelVirtualMemory<X86LegacyFormat, DirectMapTableAccess>();
        Assert.Equal(Status.Ok, vm.Init(mapper, 0xE0000000, 0xE1000000, 0xF0000000, 0xF1000000));
        ulong free = frames.FreeFrames;
        var arch = new FakeArch();
        Assert.Equal(Status.InvalidArgument, vm.MapDevice(1UL << 32, 4096, CacheMode.Uncached, ref frames, ref arch, out ulong va));
        Assert.Equal(Status.InvalidArgument, vm.MapDevice((1UL << 32) - 4096, 2 * 4096, CacheMode.Uncached, ref frames, ref arch, out va));
        Assert.Equal(free, frames.FreeFrames);
        Assert.NotEqual(Status.Ok, mapper.Translate(VirtAddr.NewUnchecked(0xF0000000), out _));
        Assert.Equal(Status.Ok, vm.MapDevice((1UL << 32) - 4096, 4096, CacheMode.Uncached, ref frames, ref arch, out va));
        Assert.Equal(0xF0000000UL, va);
    }

    [Fact]
    public void MapDevice_IsUncached_AndKeepsTheCallersFrames()
    {
        const ulong mmio = 0xFEC00000; // an IOAPIC-like register page, outside RAM
        Assert.Equal(Status.Ok, _vm->MapDevice(mmio, 4096, CacheMode.Uncached, ref _frames, ref _arch, out ulong va));
        Assert.Equal(TranslationResult.Ok, _mmu.Translate(va + 0x10, AccessKind.Read, Privilege.Supervisor, out ulong pa));
        Assert.Equal(mmio + 0x10, pa);
        var m = new Mapper<X86LongModeFormat, DirectMapTableAccess>(_mmu.Cr3 & ~0xFFFUL, _ram.Access);
        Assert.Equal(Status.Ok, m.Translate(SharpMM.Addressing.VirtAddr.NewTruncate(va), out Translation t));
        Assert.True((t.Flags & PageFlags.CacheDisable) != 0 && (t.Flags & PageFlags.Executable) == 0);
        Assert.Equal(Status.Misaligned, _vm->MapDevice(mmio + 8, 4096, CacheMode.Uncached, ref _frames, ref _arch, out _));
        ulong free = _ram.Free;
        Assert.Equal(Status.Ok, _vm->UnmapDevice(va, ref _frames, ref _arch));
        Assert.Equal(TranslationResult.PageFault, _mmu.Translate(va, AccessKind.Read, Privilege.Supervisor, out _));
        Assert.True(_ram.Free >= free); // only table pages come back, never the device's frames
    }
}
