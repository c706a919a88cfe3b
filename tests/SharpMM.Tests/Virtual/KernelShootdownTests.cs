using System;
using System.Runtime.InteropServices;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
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

    //   CPU 1 reads a vmalloc area (cached)   CPU 0 vfrees it   CPU 1 reads it again
    // Expect: the second read faults; the area's frames and tables are all back; one shootdown.
    [Fact]
    public void Vfree_OnOneCpu_IsSeenByTheOther() => Assert.Equal(0, VfreeWhileCached(skipShootdown: false));

    // Same without the shootdown: CPU 1 still reads the freed frame, a violation.
    [Fact]
    public void Vfree_WithoutShootdown_IsAStaleTlbViolation() => Assert.True(VfreeWhileCached(skipShootdown: true) > 0);

    private static long VfreeWhileCached(bool skipShootdown)
    {
        using var ram = new TableRam(4096);
        var vm = (Vm*)NativeMemory.AllocZeroed((nuint)sizeof(Vm));
        try
        {
            TestFrames frames = ram.Frames();
            Assert.Equal(Status.Ok, Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(ram.Access, ref frames, out var mapper));
            Assert.Equal(Status.Ok, vm->Init(mapper, VmallocBase, VmallocBase + (64UL << 20), DeviceBase, DeviceBase + (16UL << 20)));
            var mmu = new Mmu(ram.Ram);
            mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension;
            mmu.Efer = EferFlags.NoExecuteEnable;
            mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
            mmu.EnablePaging(PagingMode.FourLevel, mapper.RootPhys);
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
