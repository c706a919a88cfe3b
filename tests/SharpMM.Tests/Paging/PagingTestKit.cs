using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Diagnostics;
using SharpMM.Hosted;
using Hw = SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Physical;

namespace SharpMM.Tests.Paging;

/// <summary>
/// Simulated RAM for page tables: a host mapping used as physical memory from address 0, and a
/// bitmap frame allocator over frames [1, frameCount) (frame 0 stays out, as on real machines).
/// Tables are reached through <see cref="DirectMap"/>(RAM base).
/// </summary>
public sealed unsafe class TableRam : IDisposable
{
    public readonly HostMemory Ram;
    public readonly BitmapFrameAllocator* Allocator;
    private readonly ulong* _bits;
    public readonly ulong FrameCount;

    public TableRam(ulong frameCount = 8192)
    {
        FrameCount = frameCount;
        Ram = new HostMemory(frameCount << PageSize.Shift);
        _bits = (ulong*)NativeMemory.AllocZeroed((nuint)(BitmapFrameAllocator.MetadataWords(frameCount - 1) * sizeof(ulong)));
        Allocator = (BitmapFrameAllocator*)NativeMemory.AllocZeroed((nuint)sizeof(BitmapFrameAllocator));
        Allocator->Init(_bits, 1, frameCount);
        Allocator->AddFreeRange(Pfn.New(1), Pfn.New(frameCount));
    }

    public DirectMap Dm => new((ulong)Ram.Base);
    public DirectMapTableAccess Access => new(Dm);
    public ulong Free => Allocator->FreeFrames;

    /// <summary>A frame source over this RAM that poisons frames on allocation and on free, so
    /// a table the mapper forgot to zero (or used after freeing) shows up as garbage entries.</summary>
    public TestFrames Frames(int failAt = 0) => new() { Inner = Allocator, RamBase = Ram.Base, FailAt = failAt, Poison = true };

    public byte* Ptr(ulong phys) => Ram.Base + phys;

    public void Dispose()
    {
        NativeMemory.Free(Allocator);
        NativeMemory.Free(_bits);
        Ram.Dispose();
    }
}

/// <summary>
/// A frame allocator wrapper for tests: counts allocations, fails exactly the
/// <see cref="FailAt"/>-th one (1-based; 0 = never) with OutOfMemory, and fills frames with
/// 0xA5 when handed out and 0x6B when given back (both patterns have the x86 P and RISC-V V
/// bits set, so stale contents read as present entries).
/// </summary>
public unsafe struct TestFrames : IFrameAllocator
{
    public BitmapFrameAllocator* Inner;
    public byte* RamBase;
    public int FailAt;
    public int Allocations;
    public int Frees;
    public bool Poison;

    public Status Allocate(uint order, out Pfn pfn)
    {
        Allocations++;
        if (FailAt != 0 && Allocations == FailAt) { pfn = default; return Status.OutOfMemory; }
        Status s = Inner->Allocate(order, out pfn);
        if (s == Status.Ok && Poison) MemoryOps.Fill(RamBase + (pfn.Value << PageSize.Shift), 0xA5, PageSize.Bytes << (int)order);
        return s;
    }

    public Status Free(Pfn pfn, uint order)
    {
        Frees++;
        Status s = Inner->Free(pfn, order);
        if (s == Status.Ok && Poison) MemoryOps.Fill(RamBase + (pfn.Value << PageSize.Shift), 0x6B, PageSize.Bytes << (int)order);
        return s;
    }

    public readonly uint MaxOrder => Inner->MaxOrder;
    public readonly bool CanFree => true;
    public readonly ulong FreeFrames => Inner->FreeFrames;
    public readonly ulong ManagedFrames => Inner->ManagedFrames;
}

/// <summary>Collects every leaf of a walk.</summary>
public struct LeafList : IPageTableVisitor
{
    public List<LeafMapping> Leaves;
    public List<(int level, ulong va, ulong phys)> Tables;

    public static LeafList New() => new() { Leaves = new(), Tables = new() };
    public void Table(int level, ulong firstVa, ulong tablePhys) => Tables.Add((level, firstVa, tablePhys));
    public void Leaf(in LeafMapping mapping) => Leaves.Add(mapping);
}

/// <summary>An <see cref="IArchHooks"/> that records every call in order.</summary>
public struct FakeArch : IArchHooks
{
    public List<string> Log;
    public ulong Cr3;
    public bool Invlpg;

    public static FakeArch New(bool hasInvalidatePage = true, ulong cr3 = 0x1000) => new() { Log = new(), Cr3 = cr3, Invlpg = hasInvalidatePage };

    public ulong ReadCr3() => Cr3;
    public void WriteCr3(ulong topLevelTablePhys) { Log.Add($"cr3 {topLevelTablePhys:x}"); Cr3 = topLevelTablePhys; }
    public void InvalidatePage(ulong virtualAddress) => Log.Add($"invlpg {virtualAddress:x}");
    public void FlushAll() => Log.Add("flushall");
    public readonly bool HasInvalidatePage => Invlpg;
    public bool TryInvalidatePage(ulong virtualAddress)
    {
        if (!Invlpg) return false;
        InvalidatePage(virtualAddress & ~0xFFFUL);   // any address in the page: logged as the page
        return true;
    }
}

/// <summary>A window that records its invalidations and knows how to flush a batch on its machine.</summary>
public interface IRecordingWindow : IVirtualWindow
{
    List<ulong> Invalidated { get; }
    /// <summary>Flushes (or, with no TLB, drops) a batch.</summary>
    void Flush(ref FlushBatch batch, ref FlushPolicy policy);
    /// <summary>Fails the test if the machine saw something wrong.</summary>
    void Verify();
}

/// <summary>
/// The recursive accessor's window on the hosted MMU model: pointers come from the model's own
/// translation (TLB included, strict: a stale translation throws), invalidations are invlpg.
/// </summary>
public unsafe struct MmuWindow : IRecordingWindow
{
    public Hw.Mmu Mmu;
    public List<ulong> Invalidated { get; private set; }

    public static MmuWindow Boot(TableRam ram, Hw.PagingMode mode, ulong root)
    {
        var mmu = new Hw.Mmu(ram.Ram);
        mmu.Cr4 = Hw.Cr4Flags.PageSizeExtensions | Hw.Cr4Flags.PageGlobalEnable;
        if (mode != Hw.PagingMode.Bits32) mmu.Efer = Hw.EferFlags.NoExecuteEnable;
        mmu.Cr0 = Hw.Cr0Flags.ProtectionEnable | Hw.Cr0Flags.WriteProtect;
        mmu.EnablePaging(mode, root);
        mmu.Tlb.PanicOnViolation = true;
        return new MmuWindow { Mmu = mmu, Invalidated = new() };
    }

    public byte* Pointer(ulong va)
    {
        var r = Mmu.Translate(va, Hw.AccessKind.Write, Hw.Privilege.Supervisor, out ulong pa);
        if (r != Hw.TranslationResult.Ok) throw new InvalidOperationException($"MMU: {r} at 0x{va:x}");
        return Mmu.Ram.Base + pa;
    }

    public void Invalidate(ulong va)
    {
        Invalidated.Add(va);
        Mmu.InvalidatePage(va);
    }

    public void Flush(ref FlushBatch batch, ref FlushPolicy policy)
    {
        var arch = Mmu.ArchHooks;
        batch.Flush(ref arch, ref policy);
    }

    public readonly void Verify()
    {
        if (Mmu.Tlb.ViolationCount != 0) throw new InvalidOperationException($"{Mmu.Tlb.ViolationCount} stale translations");
    }
}

/// <summary>
/// The MMU's view for the recursive accessor, done in software: a page walk from the root over
/// the real table bytes (so the self-map resolves exactly as on hardware), returning the host
/// pointer of the byte. Invalidations are recorded. A walk that faults throws, naming the address.
/// </summary>
public unsafe struct SoftWalkWindow<TFormat> : IRecordingWindow where TFormat : struct, IPagingFormat
{
    public DirectMap Dm;
    public ulong RootPhys;
    public List<ulong> Invalidated { get; private set; }

    public static SoftWalkWindow<TFormat> New(DirectMap dm, ulong root) => new() { Dm = dm, RootPhys = root, Invalidated = new() };

    public byte* Pointer(ulong va)
    {
        ulong table = RootPhys;
        for (int level = TFormat.Levels - 1; level >= 0; level--)
        {
            int i = (int)((va >> TFormat.IndexShift(level)) & (ulong)(TFormat.EntriesPerTable(level) - 1));
            ulong e = TFormat.Read(Dm.ToVirt(table), i);
            if (!TFormat.IsPresent(e)) throw new InvalidOperationException($"software walk: page fault at 0x{va:x} (level {level})");
            // At level 0 every present entry maps a page: x86 reads a directory entry used there as a PTE.
            if (level == 0 || TFormat.IsLeaf(level, e))
                return Dm.ToVirt(TFormat.Address(level, e) + (va & ((1UL << TFormat.IndexShift(level)) - 1)));
            table = TFormat.Address(level, e);
        }
        throw new InvalidOperationException("unreachable");
    }

    public void Invalidate(ulong va) => Invalidated.Add(va);

    /// <summary>No TLB: nothing to flush.</summary>
    public void Flush(ref FlushBatch batch, ref FlushPolicy policy) => batch.Ignore(ref policy);

    public readonly void Verify() { }
}

public static class PagingAssert
{
    /// <summary>Expands every leaf into 4 KiB pages: va -> (pa, flags).</summary>
    public static Dictionary<ulong, (ulong pa, PageFlags flags)> Pages(IEnumerable<LeafMapping> leaves)
    {
        var d = new Dictionary<ulong, (ulong, PageFlags)>();
        foreach (var l in leaves)
            for (ulong off = 0; off < l.Bytes; off += PageSize.Bytes)
                d.Add(l.Start.Value + off, (l.Phys.Value + off, l.Flags));
        return d;
    }

    public static VirtAddr V(ulong va) => VirtAddr.NewUnchecked(va);
    public static PhysAddr P(ulong pa) => PhysAddr.NewUnchecked(pa);
}
