using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;

namespace SharpMM.Hosted.Workloads;

/// <summary>W4's figures (ns per operation) and the number of table pages the mapping took.</summary>
public struct W4Result
{
    public double MapNs, WalkNs, HitNs, UnmapNs;
    public ulong TablePages;
    public ulong Checksum;
}

/// <summary>
/// What every run of W4 shares, made once as the C reference makes it: the simulated RAM (1 GiB,
/// committed when mapped with MAP_POPULATE, so that no host page fault lands in a measured
/// phase) and the draws (seed 4: each page's frame, the unmap permutation, the translated pages).
/// </summary>
public sealed unsafe class W4Setup : IDisposable
{
    /// <summary>The simulated RAM.</summary>
    public HostMemory Ram { get; }
    /// <summary>Translations per phase.</summary>
    public long Translations { get; }
    internal uint* Perm, Target, Q;

    public W4Setup(long translations)
    {
        if (translations <= 0) throw new ArgumentOutOfRangeException(nameof(translations));
        Translations = translations;
        Ram = new HostMemory(MmuWorkloads.RamBytes, populate: true);
        const uint pages = MmuWorkloads.Pages;
        Perm = (uint*)NativeMemory.Alloc(pages, 4);
        Target = (uint*)NativeMemory.Alloc(pages, 4);
        Q = (uint*)NativeMemory.Alloc((nuint)translations, 4);
        var rng = new SplitMix64(4);
        for (uint i = 0; i < pages; i++) { Perm[i] = i; Target[i] = SplitMix64.Bound(rng.Next(), 1u << 24); }
        for (uint i = pages - 1; i > 0; i--) { uint j = SplitMix64.Bound(rng.Next(), i + 1); (Perm[i], Perm[j]) = (Perm[j], Perm[i]); }
        for (long k = 0; k < translations; k++) Q[k] = SplitMix64.Bound(rng.Next(), pages);
    }

    public void Dispose()
    {
        NativeMemory.Free(Perm); NativeMemory.Free(Target); NativeMemory.Free(Q);
        Perm = Target = Q = null;
        Ram.Dispose();
    }
}

/// <summary>
/// W4 of bench/peers/README.md: map 262,144 4 KiB pages at sequential virtual addresses from
/// 0x7f0000000000 to frames bound(next, 2^24) with the library's x86-64 mapper (table pages from
/// a buddy allocator over a 1 GiB simulated RAM, zeroed); then translations through the hosted
/// MMU model with a 64-entry direct-mapped TLB, as the C reference's software TLB: random pages
/// (every one a TLB miss and a 4-level walk of the real table bytes) and 32 hot pages (TLB hits);
/// then unmap everything in a random order, each change flushed with invlpg through the policy.
/// Draws are the C reference's: seed 4, the frames, the permutation, then the random pages.
/// The MMU model checks rights and sets Accessed on its walks (the reference does neither);
/// its stale-translation check is off for the timing, as hardware has none.
/// </summary>
public static unsafe class MmuWorkloads
{
    /// <summary>Pages mapped.</summary>
    public const uint Pages = 262_144;
    /// <summary>First virtual address.</summary>
    public const ulong VirtualBase = 0x00007f0000000000;

    /// <summary>Bytes of simulated RAM.</summary>
    public const ulong RamBytes = 1UL << 30;

    /// <summary>One run of W4 in <paramref name="setup"/>'s arena with its draws: a fresh buddy
    /// allocator, address space and MMU; the arena and the draws are reused as they are.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static W4Result W4(W4Setup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        HostMemory ram = setup.Ram;
        uint* perm = setup.Perm, target = setup.Target, q = setup.Q;
        long translations = setup.Translations;
        using var meta = new HostMemory(8UL << 20);
        var buddy = (BuddyAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BuddyAllocator));
        var result = new W4Result();
        try
        {
            // Table frames: every frame of the 1 GiB RAM but the first MiB, handed out zeroed by the mapper.
            var md = new HostMetadata(meta.Base, meta.Size, 1UL << 40);
            ReadOnlySpan<PhysRange> frames = stackalloc PhysRange[] { PhysRange.FromFrames(Pfn.New(256), Pfn.New(Pages)) };
            if (buddy->Init(ref md, frames, ZoneLayout.Flat(), PcpConfig.Off) != Status.Ok) throw new InvalidOperationException("buddy init");
            buddy->AddFreeRange(Pfn.New(256), Pfn.New(Pages));
            ulong free0 = buddy->FreeFrames;

            var mmu = new Mmu(ram, new MmuOptions { Tlb = TlbGeometry.DirectMapped64 });
            mmu.Tlb.StaleCheck = StaleCheck.Off;
            var access = new DirectMapTableAccess(new DirectMap((ulong)ram.Base));
            if (Mapper<X86LongModeFormat, DirectMapTableAccess>.Create(access, ref *buddy, out var mapper) != Status.Ok) throw new InvalidOperationException("mapper");
            mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable | Cr4Flags.PhysicalAddressExtension;
            mmu.Efer = EferFlags.NoExecuteEnable;
            mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
            mmu.EnablePaging(PagingMode.FourLevel, mapper.RootPhys);
            ulong sink = 0, failures = 0;

            if (sizeof(FlushPolicy) > 64 || Unsafe.SizeOf<MmuArchHooks>() != 8 || sizeof(Mapper<X86LongModeFormat, DirectMapTableAccess>) != 64)
                throw new InvalidOperationException("W4: PhaseContext's layout does not fit the policy, hooks and mapper");
            var c = new PhaseContext { Mapper = mapper, Buddy = buddy, Arch = mmu.ArchHooks, Policy = FlushPolicy.Default, Base = VirtualBase };

            long t0 = Stopwatch.GetTimestamp();
            failures += MapPhase(ref c, target);
            long t1 = Stopwatch.GetTimestamp();
            result.TablePages = free0 - buddy->FreeFrames;
            sink += WalkPhase(mmu, q, translations);
            long t2 = Stopwatch.GetTimestamp();
            sink += HitPhase(mmu, q, translations);
            long t3 = Stopwatch.GetTimestamp();
            failures += UnmapPhase(ref c, perm);
            long t4 = Stopwatch.GetTimestamp();
            if (failures != 0) throw new InvalidOperationException($"W4: {failures} map/unmap calls failed");
            // A failed translation adds 0 to the checksum and is counted by the MMU.
            if (mmu.Counters.PageFaults + mmu.Counters.GeneralProtection != 0) throw new InvalidOperationException("W4: a translation faulted");
            if (buddy->FreeFrames != free0 - 1) throw new InvalidOperationException("W4: table pages not returned after unmapping everything");
            double f = 1e9 / Stopwatch.Frequency;
            result.MapNs = (t1 - t0) * f / Pages;
            result.WalkNs = (t2 - t1) * f / translations;
            result.HitNs = (t3 - t2) * f / translations;
            result.UnmapNs = (t4 - t3) * f / Pages;
            result.Checksum = sink;
            return result;
        }
        finally
        {
            NativeMemory.Free(buddy);
        }
    }

    // Each phase is a method of its own, so that its loop keeps its few live values in
    // registers (inlined into one method, the loop counter and the checksum went to the stack).

    // What the map and unmap loops use, behind one reference: with the loop's pointer and
    // count and the frame allocator, few enough live values for the callee-saved registers.
    // The policy at offset 0 is the reference itself, so that passing it costs nothing (the
    // runtime would put the hooks' object reference first).
    [StructLayout(LayoutKind.Explicit)]
    private struct PhaseContext
    {
        [FieldOffset(0)] public FlushPolicy Policy;
        [FieldOffset(64)] public MmuArchHooks Arch;
        [FieldOffset(72)] public Mapper<X86LongModeFormat, DirectMapTableAccess> Mapper;
        [FieldOffset(136)] public BuddyAllocator* Buddy;
        [FieldOffset(144)] public ulong Failures;
        // VirtualBase, read as a memory operand (a constant would be a 10-byte move each time).
        [FieldOffset(152)] public ulong Base;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static ulong MapPhase(ref PhaseContext c, uint* target)
    {
        ulong failures = 0;
        for (uint i = 0; i < Pages; i++)
        {
            if (c.Mapper.Map(VirtAddr.NewUnchecked(VirtualBase + ((ulong)i << 12)), PhysAddr.NewUnchecked((ulong)target[i] << 12),
                MappingSize.Size4KiB, PageFlags.Writable, ref *c.Buddy, out FlushToken token) != Status.Ok) failures++;
            // A new x86 mapping needs no invalidation: the token is empty (Flush would return at once).
            if (!token.IsEmpty) token.Flush(ref c.Arch, ref c.Policy);
        }
        return failures;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static ulong WalkPhase(Mmu mmu, uint* q, long translations)
    {
        ulong sink = 0;
        for (long k = 0; k < translations; k++)
        {
            mmu.Translate(VirtualBase + ((ulong)q[k] << 12) + ((ulong)k & 4095), AccessKind.Read, Privilege.Supervisor, out ulong pa);
            sink += pa;
        }
        return sink;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static ulong HitPhase(Mmu mmu, uint* q, long translations)
    {
        ulong sink = 0;
        for (long k = 0; k < translations; k++)
        {
            mmu.Translate(VirtualBase + ((ulong)(q[k] & 31) << 12), AccessKind.Read, Privilege.Supervisor, out ulong pa);
            sink += pa;
        }
        return sink;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static ulong UnmapPhase(ref PhaseContext c, uint* perm)
    {
        ref BuddyAllocator buddy = ref *c.Buddy;
        c.Failures = 0;
        for (nuint i = 0; i < Pages; i++)
        {
            // The address first: the mapper's null check then folds into its first use of `c`.
            ulong va = ((ulong)perm[i] << 12) + c.Base;
            if (c.Mapper.Unmap(VirtAddr.NewUnchecked(va), ref buddy, out FlushToken token) != Status.Ok) c.Failures++;
            token.Flush(ref c.Arch, ref c.Policy);
        }
        return c.Failures;
    }
}
