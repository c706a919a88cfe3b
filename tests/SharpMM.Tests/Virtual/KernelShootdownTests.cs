using System;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.Tests.Concurrency;
using SharpMM.Tests.Paging;
using SharpMM.Tests.User;
using Xunit;
using Vm = SharpMM.Virtual.KernelVirtualMemory<SharpMM.Paging.X86.X86LongModeFormat, SharpMM.Paging.DirectMapTableAccess>;

namespace SharpMM.Tests.Virtual;

/// <summary>Kernel mappings on two simulated CPUs: a vfree on one CPU reaches the other's TLB
/// (kernel mappings are shot down on every CPU online, whatever space it runs), and without the
/// shootdown the other CPU's use of the freed area is a stale-TLB violation.</summary>
[Collection(CpuCollection.Name)]
public unsafe class KernelShootdownTests
{
    private const ulong VmallocBase = 0xFFFFC90000000000, DeviceBase = 0xFFFFD00000000000;

    // The kernel's address space on fresh tables: vm initialised with its vmalloc and device
    // windows, and an MMU in four-level paging on the mapper's root (one MMU; the test makes
    // its CPUs from it).
    private static Mmu Boot<TFrames>(TableRam ram, ref TFrames frames, Vm* vm) where TFrames : struct, IFrameAllocator
    {
        Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var mapper));
        Assert.Equal(Status.Ok, vm->Init(mapper, VmallocBase, VmallocBase + (64UL << 20), DeviceBase, DeviceBase + (16UL << 20)));
        var mmu = new Mmu(ram.Ram);
        mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension;
        mmu.Efer = EferFlags.NoExecuteEnable;
        mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
        mmu.EnablePaging(PagingMode.FourLevel, mapper.RootPhys);
        return mmu;
    }

    //   CPU 1 reads a vmalloc area (cached)   CPU 0 vfrees it   CPU 1 reads it again
    // Expect: the second read faults; the area's frames and tables are all back; one shootdown.
    [Fact]
    public void Vfree_OnOneCpu_IsSeenByTheOther() => Assert.Equal(0, VfreeWhileCached(skipShootdown: false));

    // Same without the shootdown: CPU 1 still reads the freed frame, a violation.
    [Fact]
    public void Vfree_WithoutShootdown_IsAStaleTlbViolation() => Assert.True(VfreeWhileCached(skipShootdown: true) > 0);

    //   Two CPUs online. CPU 0 vmallocs a page in the empty window: the data frame and the
    //   page-directory-pointer table are given, the page directory's frame is refused.
    // Expect: OutOfMemory; the table made and taken out again is shot down on CPU 1 (its walks
    // may have cached the entry that pointed at it) before it goes back; every frame back.
    [Fact]
    public void TableMadeByAFailedVmalloc_IsShotDownBeforeItIsFreed()
    {
        using var ram = new TableRam(4096);
        var vm = (Vm*)NativeMemory.AllocZeroed((nuint)sizeof(Vm));
        try
        {
            TestFrames frames = ram.Frames();
            Mmu mmu = Boot(ram, ref frames, vm);
            using var cpus = new MmuCpus(mmu, 2);
            TlbShootdown.ResetCounters();
            var arch = default(CpuMmuHooks);
            ulong free0 = ram.Free;
            var barrier = new SpinBarrier(2);
            Status s = Status.Ok;
            HostedCpus.Run(2, cpu =>
            {
                if (cpu == 0)
                {
                    frames.Allocations = 0;
                    frames.FailAt = 3; // 1: the data frame, 2: the PDPT, 3: the page directory
                    s = vm->Vmalloc(4096, ref frames, ref arch, out _);
                    frames.FailAt = 0;
                }
                barrier.Wait();
            });
            Assert.Equal(Status.OutOfMemory, s);
            Assert.True(TlbShootdown.TotalSent.Shootdowns >= 1 && TlbShootdown.TotalSent.Pages >= 1,
                $"no shootdown of the unlinked table: shootdowns {TlbShootdown.TotalSent.Shootdowns}, pages {TlbShootdown.TotalSent.Pages}");
            Assert.Equal(free0, ram.Free);
            Assert.Equal(0, cpus.ViolationCount);
        }
        finally
        {
            NativeMemory.Free(vm);
        }
    }

    //   Two CPUs online. CPU 0 ioremaps 2 MiB + 4 KiB in the empty device window: the
    //   page-directory-pointer table, the page directory and the first page table are given,
    //   the second page table (for the last page) is refused, after 512 pages were mapped.
    // Expect: OutOfMemory; the rollback unmaps the 512 pages, and the three tables it took out
    // go back only after a shootdown reached CPU 1 (no table freed before any shootdown was
    // sent); every frame back, the window range free again (the same ioremap then succeeds).
    [Fact]
    public void TablesOfAFailedIoremap_AreFreedOnlyAfterTheShootdown()
    {
        using var ram = new TableRam(4096);
        var vm = (Vm*)NativeMemory.AllocZeroed((nuint)sizeof(Vm));
        try
        {
            var frames = new ShootdownProbeFrames { Inner = ram.Frames() };
            Mmu mmu = Boot(ram, ref frames, vm);
            using var cpus = new MmuCpus(mmu, 2);
            TlbShootdown.ResetCounters();
            var arch = default(CpuMmuHooks);
            ulong free0 = ram.Free;
            const ulong bytes = (2UL << 20) + 4096, phys = 0xFE000000;
            var barrier = new SpinBarrier(2);
            Status s = Status.Ok;
            HostedCpus.Run(2, cpu =>
            {
                if (cpu == 0)
                {
                    frames.Inner.Allocations = 0;
                    frames.Inner.FailAt = 4; // PDPT, page directory, first page table; the second is refused
                    s = vm->MapDevice(phys, bytes, SharpMM.Virtual.CacheMode.Uncached, ref frames, ref arch, out _);
                    frames.Inner.FailAt = 0;
                }
                barrier.Wait();
            });
            Assert.Equal(Status.OutOfMemory, s);
            Assert.Equal(3, frames.Inner.Frees);
            Assert.Equal(0, frames.FreedBeforeAnyShootdown);
            Assert.True(TlbShootdown.TotalSent.Shootdowns >= 1, "no shootdown before the rollback's tables were freed");
            Assert.Equal(free0, ram.Free);
            Assert.Equal(0, cpus.ViolationCount);
            Assert.Equal(Status.Ok, vm->MapDevice(phys, bytes, SharpMM.Virtual.CacheMode.Uncached, ref frames, ref arch, out ulong va));
            Assert.Equal(DeviceBase, va);
        }
        finally
        {
            NativeMemory.Free(vm);
        }
    }

    // Test frames that count the frees made while no shootdown had been sent yet.
    private struct ShootdownProbeFrames : IFrameAllocator
    {
        public TestFrames Inner;
        public int FreedBeforeAnyShootdown;

        public Status Allocate(uint order, out Pfn pfn) => Inner.Allocate(order, out pfn);

        public Status Free(Pfn pfn, uint order)
        {
            if (TlbShootdown.TotalSent.Shootdowns == 0) FreedBeforeAnyShootdown++;
            return Inner.Free(pfn, order);
        }

        public readonly uint MaxOrder => Inner.MaxOrder;
        public readonly bool CanFree => true;
        public readonly ulong FreeFrames => Inner.FreeFrames;
        public readonly ulong ManagedFrames => Inner.ManagedFrames;
    }

    private static long VfreeWhileCached(bool skipShootdown)
    {
        using var ram = new TableRam(4096);
        var vm = (Vm*)NativeMemory.AllocZeroed((nuint)sizeof(Vm));
        try
        {
            TestFrames frames = ram.Frames();
            Mmu mmu = Boot(ram, ref frames, vm);
            using var cpus = new MmuCpus(mmu, 2);
            TlbShootdown.ResetCounters();
            var arch = default(CpuMmuHooks);
            ulong free0 = ram.Free;
            Assert.Equal(Status.Ok, vm->Vmalloc(2 * 4096, ref frames, ref arch, out ulong va));
            mmu.Write64(va + 4096, 42);
            var barrier = new SpinBarrier(2);
            bool readAfter = false;
            HostedCpus.Run(2, cpu =>
            {
                if (cpu == 1) Assert.Equal(42UL, cpus.Current.Read64(va + 4096));
                barrier.Wait();
                if (cpu == 0)
                {
                    TlbShootdown.SkipForTesting = skipShootdown;
                    Assert.Equal(Status.Ok, vm->Vfree(va, ref frames, ref arch));
                    TlbShootdown.SkipForTesting = false;
                }
                barrier.Wait();
                if (cpu == 1) readAfter = cpus.Current.TryRead64(va + 4096, Privilege.Supervisor, out _) == AccessStatus.Ok;
            });
            Assert.Equal(skipShootdown, readAfter);
            Assert.Equal(free0, ram.Free);
            Assert.Equal(skipShootdown ? 0UL : 1UL, TlbShootdown.TotalSent.Shootdowns);
            return cpus.ViolationCount;
        }
        finally
        {
            TlbShootdown.SkipForTesting = false;
            NativeMemory.Free(vm);
        }
    }
}
