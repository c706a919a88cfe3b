using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.Workloads;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;

namespace SharpMM.Benchmarks;

/// <summary>
/// W4's map and unmap phases (bench/peers/README.md) for the x86-64 mapper alone: 262,144
/// pages mapped at sequential virtual addresses to the C reference's frames (table frames from
/// a buddy allocator, zeroed by the mapper), then unmapped in the reference's random order
/// (tables freed as they empty). The simulated RAM is allocated and touched once, as the C
/// reference maps its arena with MAP_POPULATE, so no page fault lands in a measured region.
/// Each token is flushed through the policy into either arch hooks that only count
/// (<see cref="Invalidation.Count"/>: the mapper's own cost) or the hosted MMU model
/// (<see cref="Invalidation.Mmu"/>: what `sharpmm bench W4` measures).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(FullOptsConfig))]
public unsafe class MapperBenchmarks
{
    public enum Invalidation { Count, Mmu }

    private const uint Pages = MmuWorkloads.Pages;
    private const ulong VirtualBase = MmuWorkloads.VirtualBase;

    private HostMemory? _ram, _meta;
    private BuddyAllocator* _buddy;
    private uint* _target, _perm;
    private Mapper<X86LongModeFormat, DirectMapTableAccess> _mapper;
    private Mmu? _mmu;

    [Params(Invalidation.Count, Invalidation.Mmu)]
    public Invalidation Flush { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        _ram = new HostMemory(1UL << 30);
        for (ulong o = 0; o < _ram.Size; o += PageSize.Bytes) _ram.Base[o] = 0;
        _meta = new HostMemory(8UL << 20);
        _buddy = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        _target = (uint*)NativeMemory.Alloc(Pages, 4);
        _perm = (uint*)NativeMemory.Alloc(Pages, 4);
        var rng = new SplitMix64(4);
        for (uint i = 0; i < Pages; i++) { _perm[i] = i; _target[i] = SplitMix64.Bound(rng.Next(), 1u << 24); }
        for (uint i = Pages - 1; i > 0; i--) { uint j = SplitMix64.Bound(rng.Next(), i + 1); (_perm[i], _perm[j]) = (_perm[j], _perm[i]); }
    }

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        NativeMemory.Free(_buddy); NativeMemory.Free(_target); NativeMemory.Free(_perm);
        _ram!.Dispose(); _meta!.Dispose();
    }

    // A fresh buddy allocator over frames [256, Pages) and an empty address space.
    private void Fresh()
    {
        NativeMemory.Clear(_buddy, (nuint)sizeof(BuddyAllocator));
        var md = new HostMetadata(_meta!.Base, _meta.Size, 1UL << 40);
        ReadOnlySpan<PhysRange> ram = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(256), Pfn.New(Pages)) };
        if (_buddy->Init(ref md, ram, ZoneLayout.Flat(), PcpConfig.Off) != Status.Ok) throw new InvalidOperationException("buddy init");
        _buddy->AddFreeRange(Pfn.New(256), Pfn.New(Pages));
        var access = new DirectMapTableAccess(new DirectMap((ulong)_ram!.Base));
        if (Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(access, ref *_buddy, out _mapper) != Status.Ok) throw new InvalidOperationException("mapper");
        _mmu = new Mmu(_ram, new MmuOptions { Tlb = TlbGeometry.DirectMapped64 });
        _mmu.Tlb.StaleCheck = StaleCheck.Off;
        _mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension;
        _mmu.Efer = EferFlags.NoExecuteEnable;
        _mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
        _mmu.EnablePaging(PagingMode.FourLevel, _mapper.RootPhys);
    }

    [IterationSetup(Target = nameof(Map))]
    public void SetupMap() => Fresh();

    [IterationSetup(Target = nameof(Unmap))]
    public void SetupUnmap()
    {
        Fresh();
        var arch = new CountingArch();
        if (MapAll(ref arch) != 0) throw new InvalidOperationException("map failed");
    }

    /// <summary>ns per page: Map + token.Flush, sequential virtual addresses.</summary>
    [Benchmark(OperationsPerInvoke = (int)Pages)]
    public ulong Map()
    {
        ulong failures;
        if (Flush == Invalidation.Mmu) { var arch = _mmu!.ArchHooks; failures = MapAll(ref arch); }
        else { var arch = new CountingArch(); failures = MapAll(ref arch); }
        if (failures != 0) throw new InvalidOperationException("map failed");
        return failures;
    }

    /// <summary>ns per page: Unmap + token.Flush, random order, tables freed as they empty.</summary>
    [Benchmark(OperationsPerInvoke = (int)Pages)]
    public ulong Unmap()
    {
        ulong failures;
        if (Flush == Invalidation.Mmu) { var arch = _mmu!.ArchHooks; failures = UnmapAll(ref arch); }
        else { var arch = new CountingArch(); failures = UnmapAll(ref arch); }
        if (failures != 0 || _buddy->FreeFrames != Pages - 256 - 1) throw new InvalidOperationException("unmap failed or left tables");
        return failures;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong MapAll<TArch>(ref TArch arch) where TArch : struct, IArchHooks
    {
        FlushPolicy policy = FlushPolicy.Default;
        ulong failures = 0;
        for (uint i = 0; i < Pages; i++)
        {
            failures += _mapper.Map(VirtAddr.NewUnchecked(VirtualBase + ((ulong)i << 12)), PhysAddr.NewUnchecked((ulong)_target[i] << 12),
                MappingSize.Size4KiB, PageFlags.Writable, ref *_buddy, out FlushToken token) == Status.Ok ? 0UL : 1UL;
            token.Flush(ref arch, ref policy);
        }
        return failures;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ulong UnmapAll<TArch>(ref TArch arch) where TArch : struct, IArchHooks
    {
        FlushPolicy policy = FlushPolicy.Default;
        ulong failures = 0;
        for (uint i = 0; i < Pages; i++)
        {
            failures += _mapper.Unmap(VirtAddr.NewUnchecked(VirtualBase + ((ulong)_perm[i] << 12)), ref *_buddy, out FlushToken token) == Status.Ok ? 0UL : 1UL;
            token.Flush(ref arch, ref policy);
        }
        return failures;
    }

    /// <summary>Arch hooks that only count invalidations (an invlpg costs the mapper nothing).</summary>
    private struct CountingArch : IArchHooks
    {
        public ulong Invalidations;
        public readonly ulong ReadCr3() => 0;
        public void WriteCr3(ulong topLevelTablePhys) { }
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void InvalidatePage(ulong virtualAddress) => Invalidations++;
        public void FlushAll() { }
        public readonly bool HasInvalidatePage => true;
        public bool TryInvalidatePage(ulong virtualAddress)
        {
            InvalidatePage(virtualAddress);
            return true;
        }
    }
}
