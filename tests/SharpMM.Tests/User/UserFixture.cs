using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Hosted;
using SharpMM.Hosted.Machine;
using SharpMM.Hosted.User;
using SharpMM.Paging;
using SharpMM.Paging.X86;
using SharpMM.Physical;
using SharpMM.Tests.Physical;
using SharpMM.User;
using Xunit;

namespace SharpMM.Tests.User;

/// <summary>What a test store does and has done; shared by every copy of a <see cref="TestStore"/>.</summary>
public struct StoreControl
{
    public long Writes, Reads, Flushes;
    /// <summary>The write that crashes (1-based): it is torn (its first <see cref="TearBytes"/>
    /// bytes land) and the store is dead afterwards (every call fails). 0: never.</summary>
    public long CrashAtWrite;
    /// <summary>Bytes of the crashing write that reach the store (a torn write; 0: none).</summary>
    public int TearBytes;
    public bool Dead;
    public bool FailReads;
}

/// <summary>A RAM-disk store with counters, read failures and crash injection.</summary>
public unsafe struct TestStore : IBackingStore
{
    public RamDiskStore Disk;
    public StoreControl* Control;

    public readonly ulong SlotCount => Disk.SlotCount;

    public readonly Status Read(ulong slot, byte* page)
    {
        if (Control->Dead || Control->FailReads) return Status.IoError;
        Control->Reads++;
        return Disk.Read(slot, page);
    }

    public readonly Status Write(ulong slot, byte* page)
    {
        if (Control->Dead) return Status.IoError;
        Control->Writes++;
        if (Control->CrashAtWrite != 0 && Control->Writes == Control->CrashAtWrite)
        {
            if (slot < Disk.SlotCount) Buffer.MemoryCopy(page, Disk.SlotPointer(slot), Control->TearBytes, Control->TearBytes);
            Control->Dead = true;
            return Status.IoError;
        }
        return Disk.Write(slot, page);
    }

    public readonly Status Flush()
    {
        if (Control->Dead) return Status.IoError;
        Control->Flushes++;
        return Status.Ok;
    }
}

/// <summary>
/// A private machine for user-memory tests: RAM, a buddy allocator over it (frames poisoned on
/// allocation and free), a kernel top-level table with one kernel page mapped, the MMU model
/// (strict TLB: a stale translation throws) whose page-fault handler is the library's, and a
/// store (a RAM disk with a persistent region's slots first, then swap slots).
///
///   physical: [0, 1 MiB) unused | [1 MiB, RamBytes) buddy frames
///   store:    [0, RegionSlots) persistent region | [RegionSlots, StoreSlots) swap
/// </summary>
public unsafe class UserFixture<TFormat> : IDisposable where TFormat : struct, IPagingFormat
{
    public const ulong FirstPfn = 256;
    public readonly ulong RamBytes;
    public readonly HostMemory Ram;
    public readonly BuddyFixture Buddy;
    public readonly Mmu Mmu;
    public MmuArchHooks Arch;
    public readonly UserMemory<TFormat, BuddyFrames, TestStore>* Mem;
    public readonly StoreControl* Control;
    public readonly UserLayout Layout;
    public readonly ulong KernelRoot;
    public readonly ulong KernelPageVa;
    public readonly ulong KernelPagePhys;
    public readonly List<FaultResult> Faults = new();
    public AddressSpace<TFormat>* Current;
    private readonly List<IntPtr> _allocations = new();
    private readonly byte* _store;
    private readonly void* _meta;
    public readonly ulong StoreSlots, RegionSlots;

    public static bool Is32Bit => TFormat.EntrySize == 4;

    public UserFixture(ulong ramBytes = 16UL << 20, ulong storeSlots = 4096, ulong regionPages = 64, byte[]? storeImage = null)
    {
        RamBytes = ramBytes;
        Ram = new HostMemory(ramBytes);
        ulong frames = (ramBytes >> PageSize.Shift) - FirstPfn;
        Buddy = BuddyFixture.Flat(FirstPfn, frames);
        Layout = Is32Bit ? UserLayout.I386HigherHalf() : UserLayout.X86_64();
        var dm = new DirectMap((ulong)Ram.Base);

        // The kernel's tables: one page mapped in the kernel half, supervisor only, global.
        var kframes = new BuddyFrames(Buddy.Buddy, Ram.Base);
        Assert.Equal(Status.Ok, Mapper<TFormat, DirectMapTableAccess>.Create(new DirectMapTableAccess(dm), ref kframes, out var kernel));
        Assert.Equal(Status.Ok, kframes.Allocate(0, out Pfn kp));
        KernelPagePhys = kp.Value << PageSize.Shift;
        KernelPageVa = Is32Bit ? 0xC0100000UL : 0xFFFFFFFF80100000UL;
        Assert.Equal(Status.Ok, kernel.Map(VirtAddr.NewTruncate(KernelPageVa), kp.ToAddr(), MappingSize.Size4KiB, PageFlags.Writable | PageFlags.Global, ref kframes, out _));
        if (Is32Bit)
            Assert.Equal(Status.Ok, RecursiveTableAccess<X86LegacyFormat, NoWindow>.InstallLoop(dm.ToVirt(kernel.RootPhys), kernel.RootPhys, 1023));
        KernelRoot = kernel.RootPhys;

        // Store: region slots first, then swap.
        StoreSlots = storeSlots;
        RegionSlots = PersistentRegion.SlotsFor(regionPages);
        _store = (byte*)NativeMemory.AllocZeroed((nuint)(storeSlots << PageSize.Shift));
        if (storeImage != null) storeImage.AsSpan().CopyTo(new Span<byte>(_store, (int)(storeSlots << PageSize.Shift)));
        Control = (StoreControl*)Alloc((ulong)sizeof(StoreControl));
        var store = new TestStore { Disk = new RamDiskStore(_store, storeSlots), Control = Control };
        uint swapSlots = (uint)(storeSlots - RegionSlots);
        _meta = Alloc(StoreSlots_BytesFor(swapSlots));
        var slots = new StoreSlots();
        slots.Init(_meta, RegionSlots, swapSlots);

        Mem = (UserMemory<TFormat, BuddyFrames, TestStore>*)Alloc((ulong)sizeof(UserMemory<TFormat, BuddyFrames, TestStore>));
        Mem->Init(new BuddyFrames(Buddy.Buddy, Ram.Base, poison: true), store, dm, slots);

        Mmu = new Mmu(Ram);
        Arch = Mmu.ArchHooks;
        Mmu.Cr4 = Cr4Flags.PageSizeExtensions | Cr4Flags.PageGlobalEnable;
        if (!Is32Bit) Mmu.Efer = EferFlags.NoExecuteEnable;
        Mmu.Cr0 = Cr0Flags.ProtectionEnable | Cr0Flags.WriteProtect;
        Mmu.EnablePaging(Is32Bit ? PagingMode.Bits32 : PagingMode.FourLevel, KernelRoot);
        Mmu.Tlb.PanicOnViolation = true;
        Mmu.FaultHandler = (mmu, fault) =>
        {
            if (Current == null) return FaultResolution.Fail;
            FaultResult r = Mem->HandleFault(Current, fault, ref Arch);
            Faults.Add(r);
            return r.IsResolved ? FaultResolution.Retry : FaultResolution.Fail;
        };
    }

    private static ulong StoreSlots_BytesFor(uint count) => SharpMM.User.StoreSlots.BytesFor(count);

    public void* Alloc(ulong bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)bytes);
        _allocations.Add((IntPtr)p);
        return p;
    }

    public ref UserMemory<TFormat, BuddyFrames, TestStore> M => ref *Mem;
    public ulong FreeFrames => Buddy.B.FreeFrames;
    public RamDiskStore Disk => Mem->Store.Disk;
    public byte* StoreMemory => _store;

    /// <summary>A copy of the store's bytes (what survives a restart).</summary>
    public byte[] StoreImage() => new Span<byte>(_store, (int)(StoreSlots << PageSize.Shift)).ToArray();

    /// <summary>A region of <paramref name="pages"/> pages at slot 0, formatted or opened, attached.</summary>
    public PersistentRegion* AttachRegion(ulong pages, bool format)
    {
        var r = (PersistentRegion*)Alloc((ulong)sizeof(PersistentRegion));
        byte* meta = (byte*)Alloc(PersistentRegion.MetadataBytes(pages));
        Status st = format ? r->Format(ref Mem->Store, 0, pages, meta) : r->Open(ref Mem->Store, 0, pages, meta);
        Assert.Equal(Status.Ok, st);
        Mem->AttachRegion(r);
        return r;
    }

    /// <summary>A new registered address space (not active).</summary>
    public AddressSpace<TFormat>* NewSpace()
    {
        var s = Blank();
        Assert.Equal(Status.Ok, Mem->CreateSpace(s, Layout, KernelRoot));
        return s;
    }

    /// <summary>Uninitialised memory for a fork child.</summary>
    public AddressSpace<TFormat>* Blank()
    {
        var s = (AddressSpace<TFormat>*)Alloc((ulong)sizeof(AddressSpace<TFormat>));
        _spaces.Add((IntPtr)s);
        return s;
    }

    /// <summary>Makes <paramref name="s"/> the running space (CR3 load).</summary>
    public void Switch(AddressSpace<TFormat>* s)
    {
        Arch.WriteCr3(s == null ? KernelRoot : s->RootPhys);
        Current = s;
    }

    public FaultKind? LastFault => Faults.Count == 0 ? null : Faults[^1].Kind;

    public AccessStatus Write(ulong va, ulong value) => Mmu.TryWrite64(va, value, Privilege.User);
    public AccessStatus Read(ulong va, out ulong value) => Mmu.TryRead64(va, Privilege.User, out value);
    public AccessStatus Fetch(ulong va) => Mmu.TryFetch(va, Privilege.User, out _);

    public ulong MustRead(ulong va)
    {
        var st = Read(va, out ulong v);
        Assert.True(st == AccessStatus.Ok, $"read of 0x{va:x}: {st}, last fault {LastFault}");
        return v;
    }

    public void MustWrite(ulong va, ulong value)
    {
        var st = Write(va, value);
        Assert.True(st == AccessStatus.Ok, $"write of 0x{va:x}: {st}, last fault {LastFault}");
    }

    public int Count(FaultKind k)
    {
        int n = 0;
        foreach (var f in Faults) if (f.Kind == k) n++;
        return n;
    }

    /// <summary>The frame mapped at <paramref name="va"/> in <paramref name="s"/>, or ulong.MaxValue.</summary>
    public ulong FrameAt(AddressSpace<TFormat>* s, ulong va)
    {
        ulong e = s->Entry(va);
        return TFormat.IsPresent(e) ? TFormat.Address(0, e) >> PageSize.Shift : ulong.MaxValue;
    }

    /// <summary>
    /// Checks every registered space against the metadata: entries only inside regions, device
    /// frames only in device regions, a frame mapped more than once writable only in shared regions, resident and swapped counts, each frame's mapping count
    /// equal to the entries naming it, each swap slot's count equal to the entries naming it
    /// plus the frames caching it, the user-frame total; and the tables of each user half
    /// (<see cref="CheckTables"/>).
    /// </summary>
    public void Validate(string context = "")
    {
        var refs = new Dictionary<ulong, int>();
        var slotRefs = new Dictionary<ulong, int>();
        foreach (IntPtr p in _spaces)
        {
            var s = (AddressSpace<TFormat>*)p;
            if (!s->IsLive) continue;
            s->Regions.Validate();
            var v = new Collect { Entries = new List<(ulong, ulong)>() };
            s->VisitEntries(ref v);
            ulong resident = 0, swapped = 0;
            foreach (var (va, e) in v.Entries)
            {
                int r = s->Regions.Find(va);
                Assert.True(r >= 0, $"{context}: entry 0x{e:x} at 0x{va:x} outside every region");
                if (TFormat.IsPresent(e))
                {
                    resident++;
                    if (s->Regions[r].Kind == VmaKind.Device) continue;
                    ulong pfn = TFormat.Address(0, e) >> PageSize.Shift;
                    refs[pfn] = refs.GetValueOrDefault(pfn) + 1;
                    if ((TFormat.Flags(0, e) & PageFlags.Writable) != 0 && s->Regions[r].Kind != VmaKind.Shared)
                        Assert.True(Mem->FrameTable[pfn].Refs == 1, $"{context}: copy-on-write frame {pfn} writable at 0x{va:x}");
                }
                else
                {
                    swapped++;
                    ulong slot = SwapEntry<TFormat>.SlotOf(e);
                    slotRefs[slot] = slotRefs.GetValueOrDefault(slot) + 1;
                }
            }
            Assert.True(resident == s->ResidentPages, $"{context}: resident {s->ResidentPages}, entries say {resident}");
            Assert.True(swapped == s->SwappedPages, $"{context}: swapped {s->SwappedPages}, entries say {swapped}");
            CheckTables(s, context);
        }
        var table = Mem->FrameTable;
        FrameMap frameMap = Mem->Frames.Map;
        ulong inUse = 0;
        for (ulong pfn = 0; pfn < table.EndPfn; pfn++)
        {
            UserFrame f = table.Get(Pfn.New(pfn));
            Assert.True(f.Refs == refs.GetValueOrDefault(pfn), $"{context}: frame {pfn} counts {f.Refs} mappings, entries say {refs.GetValueOrDefault(pfn)}");
            // A frame's owner mark is set once, when user memory claims it, and cleared when it
            // gives the frame back; so the marked frames are exactly the ones it holds, as when
            // every access to a held frame's word marked it again.
            Assert.True(frameMap.IsOwned(Pfn.New(pfn)) == (f.Refs != 0), $"{context}: frame {pfn} with {f.Refs} mappings is {(frameMap.IsOwned(Pfn.New(pfn)) ? "" : "not ")}marked as owned");
            if (f.Refs != 0) inUse++;
            if (f.HasSlot) slotRefs[f.Slot] = slotRefs.GetValueOrDefault(f.Slot) + 1;
        }
        Assert.True(inUse == Mem->UserFrames, $"{context}: {Mem->UserFrames} user frames counted, {inUse} in the table");
        var slots = Mem->Slots;
        for (ulong sl = slots.First; sl < slots.First + slots.Count; sl++)
            Assert.True(slots.RefCount(sl) == (uint)slotRefs.GetValueOrDefault(sl), $"{context}: slot {sl} counts {slots.RefCount(sl)}, holders say {slotRefs.GetValueOrDefault(sl)}");
    }

    private readonly List<IntPtr> _spaces = new();

    /// <summary>
    /// Reads the raw tables of <paramref name="s"/>'s user half (top-level entries
    /// [0, KernelFirstIndex)) and checks the walker's rule and counts: every
    /// table below the root holds a non-zero entry (a table goes with its last one); on x86-64
    /// the occupancy count in each PDPTE and PDE equals 1 + the non-zero entries of its table
    /// (swap entries included), so any entry written behind the walker's back (a raw store
    /// that made an entry zero or non-zero) shows up; and the tables add up to
    /// <see cref="AddressSpace{TFormat}.TablePages"/>.
    /// </summary>
    public void CheckTables(AddressSpace<TFormat>* s, string context = "")
    {
        int top = TFormat.Levels - 1;
        ulong tables = 1;
        void Check(int level, ulong phys, ulong pointer, ulong va)
        {
            byte* t = Ram.Base + phys;
            int used = 0;
            for (int i = 0; i < TFormat.EntriesPerTable(level); i++)
            {
                ulong e = TFormat.Read(t, i);
                if (e == 0) continue;
                used++;
                ulong child = va + ((ulong)i << TFormat.IndexShift(level));
                if (level > 0)
                {
                    Assert.True(TFormat.PointsToTable(level, e), $"{context}: level-{level} entry 0x{e:x} for 0x{child:x} is not a table pointer");
                    tables++;
                    Check(level - 1, TFormat.Address(level, e), e, child);
                }
            }
            Assert.True(used > 0, $"{context}: an empty level-{level} table at 0x{phys:x} (va 0x{va:x}) is still linked");
            if (typeof(TFormat) == typeof(X86LongModeFormat) && level < top - 1)
                Assert.True(Paging.PresentCounts.Field(pointer) == used + 1,
                    $"{context}: the level-{level} table at 0x{phys:x} (va 0x{va:x}) holds {used} non-zero entries, its entry 0x{pointer:x} counts {Paging.PresentCounts.Field(pointer) - 1}");
        }
        byte* root = Ram.Base + s->RootPhys;
        for (int i = 0; i < s->Layout.KernelFirstIndex; i++)
        {
            ulong e = TFormat.Read(root, i);
            if (e == 0) continue;
            tables++;
            Check(top - 1, TFormat.Address(top, e), e, (ulong)i << TFormat.IndexShift(top));
        }
        Assert.True(tables == s->TablePages, $"{context}: {tables} user tables in the walk, the space counts {s->TablePages}");
    }

    private struct Collect : IUserEntryVisitor
    {
        public List<(ulong, ulong)> Entries;
        public void Entry(ulong va, ulong entry) => Entries.Add((va, entry));
    }

    public void Dispose()
    {
        Mmu.FaultHandler = null;
        foreach (var p in _allocations) NativeMemory.Free((void*)p);
        NativeMemory.Free(_store);
        Buddy.Dispose();
        Ram.Dispose();
        GC.SuppressFinalize(this);
    }

    private struct NoWindow : IVirtualWindow
    {
        public byte* Pointer(ulong va) => null;
        public void Invalidate(ulong va) { }
    }
}
