using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpMM.Addressing;
using SharpMM.Heap;
using SharpMM.Hosted.Machine;
using SharpMM.Paging;
using SharpMM.Physical;
using SharpMM.User;
using SharpMM.Virtual;

namespace SharpMM.Hosted.User;

/// <summary>
/// A hosted machine running user processes: a layout booted by the higher-half boot sequence
/// (<see cref="LayoutBoot"/>: the kernel's own tables, the buddy allocator over QEMU's map for
/// the RAM size), the user memory manager over the buddy allocator and a file store, and the
/// MMU model as the CPU: processes' loads and stores go through it, its page faults go to the
/// library's handler, timed per fault kind. The TLB reports any stale translation as an error
/// (a missing flush fails the run).
/// </summary>
public sealed unsafe class UserMachine<TFormat> : IDisposable where TFormat : struct, IPagingFormat
{
    private readonly List<nint> _allocations = new();

    /// <summary>The booted kernel layout (RAM, buddy allocator, kernel tables, MMU).</summary>
    public LayoutBoot Boot { get; }
    /// <summary>The CPU model.</summary>
    public Mmu Mmu => Boot.Mmu;
    /// <summary>The arch hooks driving the MMU.</summary>
    public MmuArchHooks Arch;
    /// <summary>The user memory manager (native memory).</summary>
    public UserMemory<TFormat, BuddyFrames, FileBackingStore>* Mem { get; }
    /// <summary>The store's file.</summary>
    public StoreFile Store { get; }
    /// <summary>The user layout.</summary>
    public UserLayout Layout { get; }
    /// <summary>The running process (its space is in CR3).</summary>
    public AddressSpace<TFormat>* Current { get; private set; }
    /// <summary>Faults by kind.</summary>
    public long[] FaultCounts { get; } = new long[(int)FaultKind.Count];
    /// <summary>Stopwatch ticks spent in the handler, by kind.</summary>
    public long[] FaultTicks { get; } = new long[(int)FaultKind.Count];
    /// <summary>Each fault's handler time (ticks), by kind (for the median and tail).</summary>
    public List<long>[] FaultSamples { get; } = NewSamples();

    private static List<long>[] NewSamples()
    {
        var a = new List<long>[(int)FaultKind.Count];
        for (int i = 0; i < a.Length; i++) a[i] = new List<long>();
        return a;
    }
    /// <summary>The last fault result.</summary>
    public FaultResult LastFault { get; private set; }
    /// <summary>Free frames of the buddy allocator at the start (after <see cref="WarmUp"/>, if run).</summary>
    public ulong FreeFramesAtStart { get; private set; }
    /// <summary>TLB flush counters at the start (after <see cref="WarmUp"/>, if run).</summary>
    public FlushCounters FlushAtStart { get; private set; }

    /// <summary>Boots <paramref name="layout"/> on a QEMU pc map of <paramref name="ramBytes"/> and
    /// prepares a store of <paramref name="storeSlots"/> slots (a temporary file unless
    /// <paramref name="storePath"/> is given), the first <paramref name="regionSlots"/> of them
    /// for a persistent region. An existing file at <paramref name="storePath"/> that is not a
    /// store is refused (<see cref="StoreFileRefusedException"/>) unless
    /// <paramref name="replaceForeignStore"/>.</summary>
    public UserMachine(LayoutId layout, ulong ramBytes, string? storePath, ulong storeSlots, ulong regionSlots = 0, bool replaceForeignStore = false,
        HeapMode heapMode = HeapMode.Fast)
    {
        if (UserLayout.For(layout, out UserLayout ul) != Status.Ok) throw new ArgumentException($"layout {AddressSpaceLayout.NameOf(layout)} has no user space");
        Layout = ul;
        StoreFile.EnsureOpenable(storePath, replaceForeignStore); // before anything is allocated
        Boot = LayoutBoot.Run(layout, QemuMaps.ForMachine(ramBytes, "pc"));
        BuddyAllocator* buddy = &Boot.Machine.Memory->Buddy;
        var frames = new BuddyFrames(buddy, Boot.Machine.Ram.Base);
        var dm = Boot.Machine.DirectMap;
        Store = new StoreFile(storePath, storeSlots, replaceForeign: replaceForeignStore);
        uint swap = (uint)(storeSlots - regionSlots);
        var slots = new StoreSlots();
        slots.Init(Alloc(StoreSlots.BytesFor(swap)), regionSlots, swap);
        Mem = (UserMemory<TFormat, BuddyFrames, FileBackingStore>*)Alloc((ulong)sizeof(UserMemory<TFormat, BuddyFrames, FileBackingStore>));
        Mem->Init(frames, new FileBackingStore(Store), dm, slots);
        if (heapMode == HeapMode.Debug)
        {
            // Process structures from the kernel heap in debug mode: kfree checks every exit,
            // and the leak report names the processes never reaped.
            Heap = new MachineHeap(Boot.Machine, HeapMode.Debug);
            if (Heap.Heap == null) throw new InvalidOperationException($"kernel heap: {StatusNames.Name(Heap.Status)}");
            SpaceCache = (SlabCache*)Alloc((ulong)sizeof(SlabCache));
            Require(SpaceCache->Create((HeapPages*)Unsafe.AsPointer(ref Heap.Heap->Pages), (uint)sizeof(AddressSpace<TFormat>), 64, "mm_struct"), "mm_struct cache");
        }
        Arch = Mmu.ArchHooks;
        Mmu.Tlb.PanicOnViolation = true;
        Mmu.FaultHandler = OnFault;
        // Commit the simulated RAM now (it is reserved lazily by the host): a first touch costs a
        // host page fault that would otherwise be counted in the fault handler's time.
        byte* ram = Boot.Machine.Ram.Base;
        for (ulong off = 0; off < Boot.Machine.Ram.Size; off += 4096) ram[off] = ram[off];
        FreeFramesAtStart = frames.FreeFrames;
        FlushAtStart = Mem->FlushCounters;
    }

    /// <summary>
    /// Runs every fault path a few hundred times in a throwaway process (demand zero, stack
    /// growth, copy-on-write and reuse, page-out and page-in), so that the workload's timings
    /// are of compiled code; then zeroes the counters, the store's statistics and the samples.
    /// </summary>
    public void WarmUp()
    {
        var s = Spawn(4096, 4096);
        Switch(s);
        Require(Mem->MapAnonymous(s, 0, 512 * 4096, VmaProtection.ReadWrite, out ulong va), "warm-up map");
        for (ulong i = 0; i < 512; i++) Write(va + i * 4096, i);
        for (ulong i = 0; i < 64; i++) Write(Layout.StackTop - 8 - i * 4096, i);
        var c = Fork(s);
        Switch(c);
        for (ulong i = 0; i < 256; i++) Write(va + i * 4096, i + 1);
        Exit(c);
        Switch(s);
        for (ulong i = 0; i < 512; i++) Write(va + i * 4096, i + 2);
        Mem->Reclaim(1024, ref Arch);
        for (ulong i = 0; i < 512; i++) Read(va + i * 4096);
        Exit(s);
        Array.Clear(FaultCounts);
        Array.Clear(FaultTicks);
        foreach (var l in FaultSamples) l.Clear();
        Mem->Counters = default;
        Store.ResetStatistics();
        if (Heap != null) Heap.Heap->Shrink(); // the baseline holds no empty slab (Collect shrinks too)
        FreeFramesAtStart = Mem->Frames.FreeFrames;
        FlushAtStart = Mem->FlushCounters;
    }

    private FaultResolution OnFault(Mmu mmu, PageFault fault)
    {
        if (Current == null) return FaultResolution.Fail;
        long t0 = Stopwatch.GetTimestamp();
        FaultResult r = Mem->HandleFault(Current, fault, ref Arch);
        long dt = Stopwatch.GetTimestamp() - t0;
        FaultTicks[(int)r.Kind] += dt;
        FaultSamples[(int)r.Kind].Add(dt);
        FaultCounts[(int)r.Kind]++;
        if (Trace.TraceRecorder.Current is { } trace) trace.Fault((byte)r.Kind);
        LastFault = r;
        return r.IsResolved ? FaultResolution.Retry : FaultResolution.Fail;
    }

    private static void Require(Status s, string what)
    {
        if (s != Status.Ok) throw new InvalidOperationException($"{what}: {StatusNames.Name(s)}");
    }

    /// <summary>The kernel heap (debug mode) the process structures come from, or null: native memory.</summary>
    public MachineHeap? Heap { get; }

    /// <summary>The slab cache of process structures ("mm_struct", as Linux names it) on the
    /// debug heap, or null without one.</summary>
    public SlabCache* SpaceCache { get; }

    // A process structure: from the debug heap's mm_struct cache when there is one (freed at exit).
    private AddressSpace<TFormat>* NewSpaceStruct()
    {
        if (Heap == null) return (AddressSpace<TFormat>*)Alloc((ulong)sizeof(AddressSpace<TFormat>));
        Require(SpaceCache->Allocate(out void* p), "allocate process");
        NativeMemory.Clear(p, (nuint)sizeof(AddressSpace<TFormat>));
        return (AddressSpace<TFormat>*)p;
    }

    /// <summary>Native memory freed with the machine.</summary>
    public void* Alloc(ulong bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)bytes);
        _allocations.Add((nint)p);
        return p;
    }

    /// <summary>Formats (or opens) a persistent region of <paramref name="pages"/> pages at slot 0
    /// of the store and attaches it. Throws when the store refuses (Malformed: nothing to open).</summary>
    public PersistentRegion* AttachRegion(ulong pages, bool format)
    {
        var r = (PersistentRegion*)Alloc((ulong)sizeof(PersistentRegion));
        byte* meta = (byte*)Alloc(PersistentRegion.MetadataBytes(pages));
        Require(format ? r->Format(ref Mem->Store, 0, pages, meta) : r->Open(ref Mem->Store, 0, pages, meta), format ? "format region" : "open region");
        Mem->AttachRegion(r);
        return r;
    }

    /// <summary>A new process: an empty space with the kernel half, laid out by exec.</summary>
    public AddressSpace<TFormat>* Spawn(ulong textBytes, ulong dataBytes)
    {
        var s = NewSpaceStruct();
        Require(Mem->CreateSpace(s, Layout, Boot.FinalRoot), "create space");
        Require(Mem->Exec(s, textBytes, dataBytes, ref Arch), "exec");
        return s;
    }

    /// <summary>fork of <paramref name="parent"/>.</summary>
    public AddressSpace<TFormat>* Fork(AddressSpace<TFormat>* parent)
    {
        var c = NewSpaceStruct();
        Require(Mem->Fork(parent, c, ref Arch), "fork");
        return c;
    }

    /// <summary>Process exit: its space is destroyed (switching to the kernel's tables first if it runs).</summary>
    public void Exit(AddressSpace<TFormat>* s)
    {
        if (Current == s) Switch(null);
        Require(Mem->Destroy(s, ref Arch), "destroy");
        if (Heap != null) Require(SpaceCache->Free(s), "free process");
    }

    /// <summary>Runs <paramref name="s"/> (CR3 load); null: the kernel's tables.</summary>
    public void Switch(AddressSpace<TFormat>* s)
    {
        Arch.WriteCr3(s == null ? Boot.FinalRoot : s->RootPhys);
        Current = s;
    }

    /// <summary>A user-mode 8-byte store; false when it faulted (see <see cref="LastFault"/>).</summary>
    public bool TryWrite(ulong va, ulong value) => Mmu.TryWrite64(va, value, Privilege.User) == AccessStatus.Ok;

    /// <summary>A user-mode 8-byte load; false when it faulted.</summary>
    public bool TryRead(ulong va, out ulong value) => Mmu.TryRead64(va, Privilege.User, out value) == AccessStatus.Ok;

    /// <summary>A store that must succeed.</summary>
    public void Write(ulong va, ulong value)
    {
        if (!TryWrite(va, value)) throw new InvalidOperationException($"user write at 0x{va:x} failed: {FaultKindNames.Name(LastFault.Kind)}");
    }

    /// <summary>A load that must succeed.</summary>
    public ulong Read(ulong va)
    {
        if (!TryRead(va, out ulong v)) throw new InvalidOperationException($"user read at 0x{va:x} failed: {FaultKindNames.Name(LastFault.Kind)}");
        return v;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Mmu.FaultHandler = null;
        Heap?.Dispose(); // before the native allocations: the heap's list of caches holds SpaceCache
        foreach (nint p in _allocations) NativeMemory.Free((void*)p);
        Store.Dispose();
        Boot.Dispose();
    }
}
