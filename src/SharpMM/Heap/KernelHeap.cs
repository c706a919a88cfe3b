using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// The kernel heap: kmalloc, kzalloc, krealloc, kfree and ksize over a frame allocator
/// (<typeparamref name="TFrames"/>: frames the direct map reaches, described by a frame table;
/// the buddy allocator's kernel class through <see cref="BuddyClassFrames"/>, or a wrapper).
///
/// Small requests (1..8192 bytes) go to one of 13 <see cref="SlabCache"/>s
/// (<see cref="KmallocClasses"/>, one table lookup), through the per-CPU hot slot and the
/// cache's magazine (see <see cref="SlabCache"/>). Larger requests (up to 4 MiB
/// minus the header) take the classic large path: a block of 2^order kernel frames, made
/// reachable by <typeparamref name="TMapper"/> (hosted: the direct map; the kernel: a free range
/// of its vmalloc window with a guard page), with a <see cref="LargeHeader"/> {size, magic} in
/// front; the returned pointer is the block's start + 16. The frames' owner words
/// (<see cref="FrameOwner"/>) mark the block's first frame (with its order) and its other frames.
///
/// kfree trusts nothing it is given. A pointer in a slab frame must be an object boundary (else
/// Misaligned) whose allocated byte is set (else DoubleFree: freed before, on any CPU, or never
/// handed out). Any other pointer must
/// translate to a frame of RAM (else OutOfRange) that starts a live large block (a freed one,
/// or any frame the allocator holds free: DoubleFree; another frame of a live one: Misaligned;
/// anything else: NotAllocated), sit exactly 16 bytes into it (else Misaligned), and its header's magic and
/// size must agree with each other, the size must be a large one and fit the block's order
/// (else Malformed). kfree(null) does nothing. A refused free changes nothing.
///
/// Several CPUs may call every operation at once: kmalloc and kfree of small objects touch only
/// the current CPU's hot slot and magazine (see <see cref="SlabCache"/>); large blocks take the
/// heap's page lock for the allocator and the counters (see <see cref="HeapPages"/>).
/// <see cref="Validate"/>, <see cref="Destroy"/> and the reports want every CPU quiescent.
/// The heap must not move after <see cref="Init"/> (its caches are pointed at). Not done here: large blocks built from scattered frames (a mapper maps one contiguous
/// buddy block), __GFP flags (every request may take kernel-zone memory), kmalloc_array
/// overflow helpers.
/// </summary>
public unsafe struct KernelHeap<TFrames, TMapper>
    where TFrames : unmanaged, IFrameTableAllocator
    where TMapper : struct, ILargeMapper
{
    /// <summary>Largest request the large path serves: a 4 MiB block minus the header.</summary>
    public const ulong MaxLargeSize = (PageSize.Bytes << (int)BuddyAllocator.MaxOrderValue) - LargeHeader.Bytes;

    private HeapPages _pages;
    private KmallocCacheArray _caches;
    private TMapper _mapper;
    private TFrames _frames;
    private bool _ready;

    /// <summary>
    /// Builds the heap over <paramref name="frames"/> (frames reached through
    /// <paramref name="map"/>; the heap keeps its copy, whose address the page source holds),
    /// with <paramref name="mapper"/> for large blocks. Takes, in debug mode, 16 KiB of debug
    /// state; slabs come on demand.
    /// Return: Ok; InvalidArgument (bad configuration, second Init); OutOfMemory (nothing held).
    /// </summary>
    public Status Init(TFrames frames, DirectMap map, TMapper mapper, HeapConfig config)
    {
        if (_ready) return Status.InvalidArgument;
        _frames = frames;
        TFrames* self = (TFrames*)Unsafe.AsPointer(ref _frames);
        Status s = _pages.Init(HeapPageSource.Over(self, map), frames.Map, config);
        if (s != Status.Ok) return s;
        HeapPages* pages = (HeapPages*)Unsafe.AsPointer(ref _pages);
        for (int i = 0; i < KmallocClasses.Count; i++)
        {
            s = _caches[i].Create(pages, KmallocClasses.Size(i), 8, KmallocClasses.Name(i));
            if (s != Status.Ok)
            {
                for (int k = 0; k < i; k++) _caches[k].Destroy();
                _pages.Release();
                return s;
            }
        }
        _mapper = mapper;
        _ready = true;
        return Status.Ok;
    }

    /// <summary>True after a successful <see cref="Init"/>.</summary>
    public readonly bool IsReady => _ready;

    /// <summary>The shared slab state (for custom caches: pass its address to
    /// <see cref="SlabCache.Create"/>; for reports: <see cref="HeapReport"/>).</summary>
    [UnscopedRef]
    public ref HeapPages Pages => ref _pages;

    /// <summary>The cache of kmalloc class <paramref name="i"/>.</summary>
    [UnscopedRef]
    public ref SlabCache Cache(int i)
    {
        if ((uint)i >= KmallocClasses.Count) Panic.Fail("heap: kmalloc class out of range", (ulong)i);
        return ref _caches[i];
    }

    // ---------------------------------------------------------------- kmalloc

    /// <summary>
    /// Allocates <paramref name="size"/> bytes (kmalloc), 8-byte aligned (16 for large blocks).
    /// Contents are undefined (0x5a in debug mode). Return: Ok and the pointer; OutOfMemory
    /// (nothing changed); InvalidArgument for size 0 or above <see cref="MaxLargeSize"/>, or a
    /// heap that is not initialised.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Kmalloc(ulong size, out void* ptr, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        void* p = size - 1 < KmallocClasses.MaxSmall
            ? SlabCache.AllocateFrom((HeapPages*)Unsafe.AsPointer(ref _pages),
                (SlabCache*)Unsafe.AsPointer(ref Unsafe.Add(ref _caches[0], KmallocClasses.Table[(int)((size + 7) >> 3)])), (uint)size, file, line)
            : KmallocLarge(size, file, line);
        // The failure path sets ptr to a constant, so the pointer is not live across the call
        // there (else the JIT keeps it on the stack on the fast path too).
        if (p != null) { ptr = p; return Status.Ok; }
        ptr = null;
        return _pages.TakeFailure();
    }

    /// <summary>kmalloc that zeroes the <paramref name="size"/> bytes (kzalloc). Same returns.</summary>
    public Status Kzalloc(ulong size, out void* ptr, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        Status s = Kmalloc(size, out ptr, file, line);
        if (s == Status.Ok) MemoryOps.Zero(ptr, size);
        return s;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* KmallocLarge(ulong size, string file, int line)
    {
        Status s = KmallocLarge(size, out void* p, file, line);
        if (s != Status.Ok) { _pages.SetFailure(s); return null; }
        return p;
    }

    private Status KmallocLarge(ulong size, out void* ptr, string file, int line)
    {
        ptr = null;
        if (!_ready || size == 0 || size > MaxLargeSize) return Status.InvalidArgument;
        uint order = OrderFor(size);
        Status s = _pages.AllocateBlock(order, out Pfn pfn, out _);
        if (s != Status.Ok) return s;
        s = _mapper.Map(pfn, order, out byte* virt);
        if (s != Status.Ok) { _pages.FreeBlock(pfn, order); return s; }
        ulong frames = 1UL << (int)order;
        _pages.SetOwner(pfn, 1, FrameOwner.LargeHeadOf(order));
        if (frames > 1) _pages.SetOwner(pfn.Add(1), frames - 1, FrameOwner.LargeTail);
        LargeHeader* h = (LargeHeader*)virt;
        h->Size = size;
        h->Magic = LargeHeader.MagicFor(size);
        h->Site = 0;
        byte* p = virt + LargeHeader.Bytes;
        if (_pages.IsDebug)
        {
            HeapDebug* dbg = _pages.Debug;
            h->Site = dbg->Site(file, line);
            dbg->Allocated(h->Site, size);
            MemoryOps.Fill(p, SlabCache.PoisonAlloc, size);
            MemoryOps.Fill(p + size, SlabCache.RedActive, (frames << PageSize.Shift) - LargeHeader.Bytes - size);
        }
        _pages.LargeChanged((long)frames, (long)size, 1);
        ptr = p;
        return Status.Ok;
    }

    private static uint OrderFor(ulong size) => BlockOrder.ForBytes(size + LargeHeader.Bytes);

    // ---------------------------------------------------------------- kfree

    /// <summary>
    /// Frees what <see cref="Kmalloc"/> returned (kfree); null is accepted and ignored. Return:
    /// Ok; otherwise (nothing changed) OutOfRange for a pointer outside the memory the heap
    /// covers, NotAllocated for memory the heap does not own, Misaligned for a pointer inside an
    /// object or block, DoubleFree for an object or block that is already free, Malformed for a
    /// large block whose header does not check out or (debug mode) an object whose red zone was
    /// overwritten.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Kfree(void* ptr, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        // The object this CPU's hot slot lent out: parked again with no lookup (see the file
        // SlabCache.LentFree.cs); anything else takes the plain path. With one CPU online the
        // CPU is 0; with more, the CPU when it is found with no call (the whole free moves out
        // of line where finding it is a call, as SlabCache.AllocateFrom explains).
        if (Cpu.Online == 1)
        {
            if (SlabCache.TryFreeLent((HeapPages*)Unsafe.AsPointer(ref _pages), 0, ptr)) return Status.Ok;
            return KfreePlain(ptr, file, line);
        }
        int cpu = Cpu.CurrentWithoutCall;
        if (cpu < 0) return KfreeOnCurrentCpu(ptr, file, line);
        return KfreeOn(cpu, ptr, file, line);
    }

    // The CPU is found once, with a call, and passed on.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status KfreeOnCurrentCpu(void* ptr, string file, int line) => KfreeOn(Cpu.Current, ptr, file, line);

    // A free with several CPUs online, on CPU `cpu`.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Status KfreeOn(int cpu, void* ptr, string file, int line)
    {
        HeapPages* hp = (HeapPages*)Unsafe.AsPointer(ref _pages);
        if (SlabCache.TryFreeLent(hp, cpu, ptr)) return Status.Ok;
        SlabDescriptor* d = _pages.SlabOf(ptr);
        if (d != null) return SlabCache.FreeObjectOn(hp, d, ptr, cpu, true, file, line);
        return FreeOther(ptr, file, line);
    }

    /// <summary><see cref="Kfree"/> without the lent-object shortcut: every pointer is looked
    /// up. The same results and the same heap state as <see cref="Kfree"/> (tests compare them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Status KfreePlain(void* ptr, string file = "", int line = 0)
    {
        SlabDescriptor* d = _pages.SlabOf(ptr);
        if (d != null) return SlabCache.FreeObject((HeapPages*)Unsafe.AsPointer(ref _pages), d, ptr, file, line);
        return FreeOther(ptr, file, line);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status FreeOther(void* ptr, string file, int line)
    {
        if (ptr == null) return Status.Ok;
        Status s = CheckLarge(ptr, out Pfn pfn, out uint order, out LargeHeader* h);
        if (s != Status.Ok) return Refused(ptr, s, file, line);
        byte* p = (byte*)ptr;
        ulong frames = 1UL << (int)order;
        ulong size = h->Size;
        if (_pages.IsDebug)
        {
            HeapDebug* dbg = _pages.Debug;
            ulong slack = (frames << PageSize.Shift) - LargeHeader.Bytes - size;
            for (ulong i = 0; i < slack; i++)
                if (p[size + i] != SlabCache.RedActive)
                {
                    dbg->Record(HeapEventKind.RedZoneOverflow, Status.Malformed, (ulong)ptr, h->Site, dbg->Site(file, line));
                    return Status.Malformed;
                }
            dbg->Released(h->Site, size);
            MemoryOps.Fill(p, SlabCache.PoisonFree, size);
        }
        h->Magic = 0;
        _mapper.Unmap((byte*)h, order);
        _pages.ReleaseOwner(pfn, frames);
        _pages.FreeBlock(pfn, order);
        _pages.LargeChanged(-(long)frames, -(long)size, -1);
        return Status.Ok;
    }

    // Is ptr a live large block? Reads only.
    private readonly Status CheckLarge(void* ptr, out Pfn pfn, out uint order, out LargeHeader* h)
    {
        pfn = default; order = 0; h = null;
        if (!_ready) return Status.InvalidArgument;
        if (!_mapper.TryTranslate(ptr, out Pfn page)) return Status.OutOfRange;
        if (!_pages.IsRam(page)) return Status.OutOfRange;
        if (!_pages.TryOwner(page, out ulong e)) return Status.DoubleFree; // the head of a free block
        if (e == FrameOwner.None && _pages.IsFree(page)) return Status.DoubleFree; // cached, or inside a free block
        ulong kind = FrameOwner.Kind(e);
        if (kind == FrameOwner.LargeTail) return Status.Misaligned;
        if (kind != FrameOwner.LargeHead) return Status.NotAllocated; // no owner, another owner, or a slab frame reached through the mapper
        if (((ulong)ptr & PageSize.OffsetMask) != LargeHeader.Bytes) return Status.Misaligned;
        LargeHeader* hdr = (LargeHeader*)((byte*)ptr - LargeHeader.Bytes);
        uint o = FrameOwner.LargeOrder(e);
        if (hdr->Magic != LargeHeader.MagicFor(hdr->Size) || hdr->Size <= KmallocClasses.MaxSmall
            || hdr->Size > MaxLargeSize || OrderFor(hdr->Size) > o)
            return Status.Malformed; // krealloc may shrink a block in place: the size must fit it
        pfn = page; order = o; h = hdr;
        return Status.Ok;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status Refused(void* ptr, Status s, string file, int line)
    {
        if (_pages.IsDebug)
        {
            HeapDebug* dbg = _pages.Debug;
            HeapEventKind kind = s == Status.DoubleFree ? HeapEventKind.DoubleFree
                : s == Status.Malformed ? HeapEventKind.CorruptHeader : HeapEventKind.InvalidFree;
            dbg->Record(kind, s, (ulong)ptr, 0, dbg->Site(file, line));
        }
        return s;
    }

    // ---------------------------------------------------------------- ksize, krealloc

    /// <summary>
    /// The usable size of a live allocation (ksize): the class size of a slab object, the
    /// block's pages minus the header for a large one; in debug mode the requested size (the
    /// rest is red zone). Return: Ok; the statuses of <see cref="Kfree"/> for a pointer that is
    /// not a live allocation (nothing is freed or changed).
    /// </summary>
    public Status Ksize(void* ptr, out ulong size)
    {
        Status s = Inspect(ptr, out _, out ulong capacity, out ulong used);
        size = s != Status.Ok ? 0 : _pages.IsDebug ? used : capacity;
        return s;
    }

    // Validates a live allocation without changing anything. capacity: what the allocation can
    // grow to in place; used: the bytes a move must copy.
    private readonly Status Inspect(void* ptr, out bool large, out ulong capacity, out ulong used)
    {
        large = false; capacity = 0; used = 0;
        if (ptr == null) return Status.InvalidArgument;
        SlabDescriptor* d = _pages.SlabOf(ptr);
        if (d != null)
        {
            ulong idx = SlabDescriptor.IndexOf(d, (ulong)ptr);
            if (idx >= d->Total) return Status.Misaligned;
            if (SlabDescriptor.AllocBytes(d)[idx] == 0) return Status.DoubleFree;
            SlabCache* c = d->Cache;
            uint bytes = (c->ObjectSize + c->Alignment - 1) & ~(c->Alignment - 1);
            if (_pages.IsDebug)
            {
                uint req = c->RequestedSize(ptr);
                if (req == 0) return Status.Malformed;
                capacity = bytes; used = req;
            }
            else { capacity = bytes; used = bytes; }
            return Status.Ok;
        }
        Status s = CheckLarge(ptr, out _, out uint order, out LargeHeader* h);
        if (s != Status.Ok) return s;
        large = true;
        capacity = (PageSize.Bytes << (int)order) - LargeHeader.Bytes;
        used = h->Size;
        return Status.Ok;
    }

    /// <summary>
    /// Resizes an allocation (krealloc). A null <paramref name="ptr"/> allocates; size 0 frees
    /// and returns null. A slab object that can hold the new size stays where it is (its class
    /// is not reduced); so does a large block whose pages can hold it (and that stays large);
    /// otherwise the contents (up to the smaller size) move to a new allocation and the old one
    /// is freed. Return: Ok and the (possibly same) pointer; for a bad <paramref name="ptr"/>
    /// the statuses of <see cref="Kfree"/>; OutOfMemory or InvalidArgument (size) as
    /// <see cref="Kmalloc"/>. On failure the old allocation is untouched and
    /// <paramref name="result"/> is null.
    /// </summary>
    public Status Krealloc(void* ptr, ulong newSize, out void* result, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        result = null;
        if (ptr == null) return Kmalloc(newSize, out result, file, line);
        if (newSize == 0) return Kfree(ptr, file, line);
        Status s = Inspect(ptr, out bool large, out ulong capacity, out ulong used);
        if (s != Status.Ok) return Refused(ptr, s, file, line);
        if (!large && newSize <= capacity)
        {
            if (_pages.IsDebug) _pages.SlabOf(ptr)->Cache->Resize(ptr, (uint)newSize);
            result = ptr;
            return Status.Ok;
        }
        if (large && newSize > KmallocClasses.MaxSmall && newSize <= capacity)
        {
            LargeHeader* h = (LargeHeader*)((byte*)ptr - LargeHeader.Bytes);
            ulong old = h->Size;
            byte* p = (byte*)ptr;
            if (_pages.IsDebug)
            {
                if (newSize > old) MemoryOps.Fill(p + old, SlabCache.PoisonAlloc, newSize - old);
                MemoryOps.Fill(p + newSize, SlabCache.RedActive, capacity - newSize);
                _pages.Debug->Resized(h->Site, old, newSize);
            }
            h->Size = newSize;
            h->Magic = LargeHeader.MagicFor(newSize);
            _pages.LargeChanged(0, (long)newSize - (long)old, 0);
            result = ptr;
            return Status.Ok;
        }
        s = Kmalloc(newSize, out void* q, file, line);
        if (s != Status.Ok) return s;
        Buffer.MemoryCopy(ptr, q, (long)newSize, (long)(used < newSize ? used : newSize));
        s = Kfree(ptr, file, line);
        if (s != Status.Ok)
        {
            // Debug mode found the old object's red zone overwritten: keep it, drop the copy.
            if (Kfree(q, file, line) != Status.Ok) Panic.Fail("heap: krealloc could not undo its new allocation", (ulong)q);
            return s;
        }
        result = q;
        return Status.Ok;
    }

    // ---------------------------------------------------------------- pressure, teardown, checks

    /// <summary>Flushes the current CPU's hot object and magazines and returns every empty slab
    /// (other CPUs drain theirs with <see cref="HeapPages.DrainCurrentCpu"/>). Return: pages
    /// given back to the buddy allocator.</summary>
    public ulong Shrink() => _pages.ShrinkAll();

    /// <summary>
    /// Tears the heap down and gives every page back to the buddy allocator. Every other CPU
    /// must have drained its cached objects (<see cref="HeapPages.DrainCurrentCpu"/>) and be
    /// done with the heap. Return: Ok; InvalidArgument (nothing freed; the current CPU's cached
    /// objects and empty slabs have been given back) while any kmalloc object or large block is
    /// live, another CPU still caches objects, or a custom cache still exists.
    /// </summary>
    public Status Destroy()
    {
        if (!_ready) return Status.InvalidArgument;
        _pages.ShrinkAll();
        if (_pages.LargeCount != 0) return Status.InvalidArgument;
        int registered = 0;
        for (SlabCache* c = _pages.FirstCache; c != null; c = c->NextCache) registered++;
        if (registered != KmallocClasses.Count) return Status.InvalidArgument;
        for (int i = 0; i < KmallocClasses.Count; i++)
            if (_caches[i].ActiveSlabs != 0) return Status.InvalidArgument;
        for (int i = 0; i < KmallocClasses.Count; i++)
            if (_caches[i].Destroy() != Status.Ok) Panic.Fail("heap: an idle kmalloc cache refused to be destroyed", (ulong)i);
        if (_pages.Release() != Status.Ok) Panic.Fail("heap: metadata still in use after every cache was destroyed");
        _ready = false;
        return Status.Ok;
    }

    /// <summary>
    /// O(frames of RAM + slabs) consistency check of the whole heap, with every CPU quiescent;
    /// panics naming the first broken invariant: every cache (<see cref="SlabCache.Validate"/>), slab pages equal the
    /// caches' slabs, descriptors in use equal the slabs, and the owner words' large-block
    /// marks equal the live large allocations and their pages.
    /// </summary>
    public readonly void Validate()
    {
        ulong slabPages = 0, slabs = 0;
        for (SlabCache* c = _pages.FirstCache; c != null; c = c->NextCache)
        {
            c->Validate();
            slabPages += c->Slabs * c->PagesPerSlab;
            slabs += c->Slabs;
        }
        if (slabPages != _pages.SlabPages) Panic.Fail("heap: slab page count disagrees with the caches", _pages.SlabPages);
        if (slabs != _pages.Descriptors) Panic.Fail("heap: descriptors in use disagree with the slabs", _pages.Descriptors);
        ulong heads = 0, pages = 0;
        FrameMap frames = _pages.Frames;
        for (uint sec = 0; sec < frames.SectionCount; sec++)
        {
            FrameMap.Section* section = frames.SectionAt(sec);
            for (ulong pfn = section->Lo; pfn < section->Hi; pfn++)
            {
                if (!frames.TryOwnerWord(Pfn.NewUnchecked(pfn), out ulong e)) continue;
                ulong kind = FrameOwner.Kind(e);
                if (kind == FrameOwner.LargeHead) { heads++; pages++; }
                else if (kind == FrameOwner.LargeTail) pages++;
            }
        }
        if (heads != _pages.LargeCount || pages != _pages.LargePages) Panic.Fail("heap: large-block marks disagree with the large counters", heads);
    }
}
