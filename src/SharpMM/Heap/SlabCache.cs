using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Threading;
using SpinLock = SharpMM.Concurrency.SpinLock;
using SharpMM.Addressing;
using SharpMM.Concurrency;
using SharpMM.Diagnostics;
using SharpMM.Physical;

namespace SharpMM.Heap;

/// <summary>
/// A slab cache: objects of one size and alignment carved from slabs of 2^order buddy pages.
///
/// Algorithm. Each slab has an off-slab <see cref="SlabDescriptor"/> (a byte per object: handed
/// out; a bitmap: free in the slab) and sits on a list by how many of its objects are in use: full,
/// partial (binned by log2 of the objects free), empty. In front of the lists sit two per-CPU
/// layers that hold object pointers, never links inside objects: this cache's
/// <see cref="Magazine"/> (a stack, refilled and flushed a batch at a time) and the heap's
/// <see cref="HotSlot"/> (the one object freed last, whatever its cache).
///
/// Allocation: the hot object when it belongs to this cache; else a magazine pop; either sets
/// the object's allocated byte. An empty magazine is refilled from the fullest partial slabs
/// first, then kept empty slabs, then a new slab.
/// Free (<see cref="FreeObject"/>): the pointer is looked up in the frame table (its frame's
/// owner word), must be an object boundary (else Misaligned) with its allocated byte set (else
/// DoubleFree); the byte is cleared and the object parked in the hot slot; the object parked
/// there before moves on, into its cache's magazine (a full magazine first returns its oldest
/// batch to the slabs) or, when its slab is at least a quarter free, straight back to that slab
/// so sparse slabs drain. Only refills and flushes touch the lists. Empty slabs beyond
/// <see cref="HeapConfig.KeepEmptySlabs"/> go back to the buddy allocator as soon as they are
/// empty; <see cref="Shrink"/> empties the current CPU's layers and every CPU's inbox and
/// returns every empty slab.
///
/// Several CPUs. The per-CPU layers belong to their CPU: its fast paths read and write them
/// without a lock or a locked instruction, and no other CPU touches them (an object freed on a
/// CPU that does not own its slab goes home: see "Slab ownership" below). The
/// lists, the free bitmaps, InUse, the slab owners and the counts are under the cache's lock (<see cref="LockRank.SlabCache"/>), taken only by refills,
/// flushes, returns to a sparse slab, debug mode and shrinking. Pages for a new slab are
/// allocated with the lock released (the heap's page lock and the buddy allocator's zone lock
/// come after it in the lock order, and memory pressure makes the heap shrink every cache).
/// A CPU's layers are given back by that CPU only (<see cref="DrainCpu"/>), when the heap asks
/// (<see cref="HeapPages"/>: drain on demand).
///
/// Slab ownership. A refill makes the slabs it takes objects from its CPU's (the descriptor's
/// Owner byte, and the slab moves to that CPU's full and partial lists): a CPU refills first
/// from its own slabs, fullest first, then takes a shared partial slab or an empty one whole,
/// then a new one; it never takes objects from another CPU's slab. A free on a CPU that does not
/// own the object's slab (several CPUs online) does not park the object: it joins the CPU's
/// returns, which go home a batch at a time: to the owner's <see cref="Inbox"/> (under that
/// inbox's lock, <see cref="LockRank.SlabInbox"/>), which the owner's next refill empties before
/// it looks at the lists, or, for shared slabs and what an inbox has no room for, back to the
/// slabs under one acquisition of the cache lock. So a CPU's
/// magazines and hot slot hold objects of its own slabs, and on their fast paths two CPUs never
/// write one slab descriptor (the allocated bytes, InUse read by the hot-slot eviction).
/// A slab stops being its CPU's when it becomes empty (the empty list is shared) or when its
/// CPU drains (<see cref="DrainCpu"/>: its slabs go to the shared lists). With one CPU online
/// the free path skips the owner test (every slab a refill touched is CPU 0's).
///
/// Why a double free is caught although freed objects wait in per-CPU layers: an object's
/// allocated byte is cleared when it is freed and set when it is handed out again, whichever
/// CPU does either, so the byte means "handed out" wherever the object waits. Two frees of one
/// object racing on two CPUs may both pass the check (a check and clear in one step would need
/// a locked instruction on every free).
///
/// Geometry: slot = object size rounded up to the alignment (at least 8); the slab order is the
/// smallest of 0..3 that holds at least 8 objects (larger when one object needs more), at most
/// 512 objects per slab. Debug mode adds, per slot, a red zone before (16 bytes or the
/// alignment) and after (16 bytes) the object and a 16-byte trailer (allocation site, free
/// site, requested size):
/// <code>
///   fast:  [obj][obj][obj]...
///   debug: [red 0xbb/0xcc][obj 0x6b free / 0x5a new][slack+red 0xbb/0xcc][trailer]...
/// </code>
/// In debug mode the magazines are not used (as SLUB's debug caches skip the CPU fast path):
/// every operation checks the object on the slab lists.
///
/// A cache lives where its creator put it and must not move while it exists (descriptors and
/// the heap's registry point at it). Not done: NUMA nodes, constructors, RCU-deferred freeing,
/// merging of caches with the same geometry.
/// </summary>
public unsafe partial struct SlabCache
{
    /// <summary>Most objects in one slab (the bitmaps' size).</summary>
    public const uint MaxObjectsPerSlab = 512;
    /// <summary>Largest alignment.</summary>
    public const uint MaxAlignment = 4096;
    /// <summary>Bytes of the name kept.</summary>
    public const int NameBytes = 24;
    /// <summary>Red zone after each object in debug mode (before it: this or the alignment).</summary>
    public const uint RedZoneBytes = 16;
    /// <summary>Debug trailer per object.</summary>
    public const uint TrailerBytes = 16;
    /// <summary>Poison of a free object (Linux POISON_FREE).</summary>
    public const byte PoisonFree = 0x6b;
    /// <summary>Fill of a newly allocated object (Linux POISON_INUSE).</summary>
    public const byte PoisonAlloc = 0x5a;
    /// <summary>Red zone of a free object (Linux SLUB_RED_INACTIVE).</summary>
    public const byte RedInactive = 0xbb;
    /// <summary>Red zone of an allocated object (Linux SLUB_RED_ACTIVE).</summary>
    public const byte RedActive = 0xcc;
    private const uint TrailerMagic = 0x534C4142; // "SLAB"

    // Slab lists by owner and fill level: for each CPU and for the shared slabs (a group each),
    // full and partial in nine bins by floor(log2(objects free)) (1, 2-3, 4-7, ..., 256-511
    // free); one list of empty slabs, which no CPU owns.
    private const int FullList = 0, FirstPartial = 1, PartialBins = 9, GroupLists = FirstPartial + PartialBins;
    private const int SharedGroup = Cpu.MaxCpus, EmptyList = (SharedGroup + 1) * GroupLists, Lists = EmptyList + 1;

    private struct Trailer
    {
        public uint AllocSite;
        public uint FreeSite;
        public uint Requested;
        public uint Magic;
    }

    // Read by every CPU's allocations and frees, written only when the cache is set up or
    // registered: the heap, the geometry, the name. First, where the JIT's null checks of a
    // SlabCache pointer read; then a gap, so that no CPU's magazine shares their lines (CPU 0's
    // count on the line every CPU reads made two CPUs slower than one).
    private HeapPages* _pages;
    private uint _objectSize;
    private uint _objectBytes;
    private uint _align;
    private uint _slot;
    private uint _order;
    private uint _objects;
    private uint _words;
    private uint _descBytes;
    private ulong _inverse;
    private byte _shift;
    private uint _leftPad;
    private uint _keepEmpty;
    private bool _debug;
    private bool _live;
    private int _nameLength;
    private fixed byte _name[NameBytes];

    /// <summary>Next cache in the heap's registry.</summary>
    public SlabCache* NextCache;
    /// <summary>Previous cache in the heap's registry.</summary>
    public SlabCache* PrevCache;
    private CacheLineGap _afterSettings;

    // Each CPU's magazine (each leaves a line unused after it: see Magazine).
    private PerCpuMagazines _cpu;

    // Each CPU's inbox: objects of its slabs freed on other CPUs (a page each, under its own
    // lock, taken by the CPU's first refill with several CPUs online: see Inbox). Written by the
    // owner only (0 to the page, at creation; back to 0 at Destroy).
    private PerCpuInboxes _inbox;

    // The lists, their counts, the slabs' free bitmaps and InUse, _inUse and the slab counters.
    private SpinLock _lock;
    private fixed ulong _head[Lists];
    private fixed ulong _count[Lists];
    private ulong _inUse;
    private ulong _slabsCreated;
    private ulong _slabsReleased;

    private SlabCache* Self => (SlabCache*)Unsafe.AsPointer(ref this);
    private readonly SlabCache* ReadonlySelf => (SlabCache*)Unsafe.AsPointer(ref Unsafe.AsRef(in this));

    // ---------------------------------------------------------------- creation

    /// <summary>
    /// Creates the cache in place (kmem_cache_create): objects of <paramref name="objectSize"/>
    /// bytes aligned to <paramref name="alignment"/> (a power of two up to 4096; 0 means 8),
    /// named <paramref name="name"/> (the first 24 characters kept; anything but printable ASCII
    /// other than a quote or backslash becomes '?'). The cache must stay
    /// at this address until <see cref="Destroy"/>. Return: Ok; InvalidArgument for a zero or
    /// too large size (a slot beyond 4 MiB), a bad alignment, a heap that is not ready or a
    /// cache that is already live. Takes no memory until the first allocation.
    /// </summary>
    public Status Create(HeapPages* pages, uint objectSize, uint alignment, string name)
    {
        if (_live || pages == null || !pages->IsReady || objectSize == 0) return Status.InvalidArgument;
        uint align = alignment == 0 ? 8 : alignment;
        if (!BitOperations.IsPow2(align) || align > MaxAlignment) return Status.InvalidArgument;
        if (align < 8) align = 8;
        if (objectSize > (PageSize.Bytes << 10)) return Status.InvalidArgument;
        bool debug = pages->IsDebug;
        uint objectBytes = (objectSize + align - 1) & ~(align - 1);
        uint leftPad = debug ? (align > RedZoneBytes ? align : RedZoneBytes) : 0;
        uint slot = debug ? (leftPad + objectBytes + RedZoneBytes + TrailerBytes + align - 1) & ~(align - 1) : objectBytes;
        if (slot > (PageSize.Bytes << 10)) return Status.InvalidArgument;
        uint order = 0;
        while (order < 3 && (PageSize.Bytes << (int)order) / slot < 8) order++;
        while ((PageSize.Bytes << (int)order) / slot < 1) order++;
        uint objects = (uint)((PageSize.Bytes << (int)order) / slot);
        if (objects > MaxObjectsPerSlab) objects = MaxObjectsPerSlab;

        this = default;
        _pages = pages;
        _objectSize = objectSize;
        _objectBytes = objectBytes;
        _align = align;
        _slot = slot;
        _order = order;
        _objects = objects;
        _words = SlabDescriptor.WordsFor(objects);
        _descBytes = SlabDescriptor.BytesFor(objects);
        SlabDescriptor.DivisorFor(slot, out _inverse, out _shift);
        _leftPad = leftPad;
        _keepEmpty = pages->Config.KeepEmptySlabs;
        _debug = debug;
        uint cap = 0;
        if (!debug)
        {
            cap = pages->Config.MagazineCapacity;
            uint bySize = 65536 / slot;
            if (bySize < 8) bySize = 8;
            if (cap > bySize) cap = bySize;
        }
        for (int c = 0; c < Cpu.MaxCpus; c++)
        {
            ref Magazine m = ref _cpu[c];
            m.Count = 0;
            m.Returning = 0;
            m.Capacity = cap;
            m.Batch = cap == 0 ? 0 : (cap + 1) / 2;
        }
        _lock.Init(LockRank.SlabCache);
        int n = 0;
        if (name != null)
            for (; n < name.Length && n < NameBytes; n++)
            {
                char ch = name[n];
                _name[n] = (byte)(ch > ' ' && ch < 127 && ch != '"' && ch != '\\' ? ch : '?');
            }
        _nameLength = n;
        _live = true;
        pages->Register(Self);
        return Status.Ok;
    }

    /// <summary>
    /// Destroys the cache (kmem_cache_destroy): flushes the current CPU's magazine and returns
    /// every slab. Objects cached by other CPUs must have been drained first
    /// (<see cref="HeapPages.DrainCurrentCpu"/> on each), and nothing may use the cache
    /// meanwhile. Return: Ok; InvalidArgument when the cache is not live or objects are still
    /// allocated or cached (then the cache stays usable; only its cached memory has been given back).
    /// </summary>
    public Status Destroy()
    {
        if (!_live) return Status.InvalidArgument;
        Shrink();
        if (ActiveSlabs != 0) return Status.InvalidArgument;
        for (int c = 0; c < Cpu.MaxCpus; c++)
        {
            Inbox* box = InboxOf(c);
            if (box == null) continue;
            _inbox[c] = 0;
            _pages->FreeInboxPage((byte*)box);
        }
        _pages->Unregister(Self);
        _live = false;
        return Status.Ok;
    }

    // ---------------------------------------------------------------- queries

    /// <summary>True between <see cref="Create"/> and <see cref="Destroy"/>.</summary>
    public readonly bool IsLive => _live;
    /// <summary>Object size asked for at creation.</summary>
    public readonly uint ObjectSize => _objectSize;
    /// <summary>Bytes between objects in a slab.</summary>
    public readonly uint SlotSize => _slot;
    /// <summary>Alignment of objects.</summary>
    public readonly uint Alignment => _align;
    /// <summary>Objects per slab.</summary>
    public readonly uint ObjectsPerSlab => _objects;
    /// <summary>Pages per slab.</summary>
    public readonly uint PagesPerSlab => 1u << (int)_order;
    /// <summary>Buddy order of a slab.</summary>
    public readonly uint SlabOrder => _order;
    /// <summary>Slabs held (all lists).</summary>
    public readonly ulong Slabs => ActiveSlabs + _count[EmptyList];
    /// <summary>Slabs with at least one object in use.</summary>
    public readonly ulong ActiveSlabs => FullSlabs + PartialSlabs;
    /// <summary>Empty slabs kept.</summary>
    public readonly ulong EmptySlabs => _count[EmptyList];
    /// <summary>Partially used slabs.</summary>
    public readonly ulong PartialSlabs
    {
        get
        {
            ulong n = 0;
            for (int g = 0; g <= SharedGroup; g++)
                for (int l = FirstPartial; l < GroupLists; l++) n += _count[g * GroupLists + l];
            return n;
        }
    }
    /// <summary>Fully used slabs.</summary>
    public readonly ulong FullSlabs
    {
        get
        {
            ulong n = 0;
            for (int g = 0; g <= SharedGroup; g++) n += _count[g * GroupLists + FullList];
            return n;
        }
    }
    /// <summary>Slabs with objects in use that CPU <paramref name="cpu"/> owns (its magazines
    /// refill from them first; a snapshot while other CPUs run).</summary>
    public readonly ulong SlabsOwnedBy(int cpu)
    {
        if ((uint)cpu >= Cpu.MaxCpus) return 0;
        ulong n = 0;
        for (int l = 0; l < GroupLists; l++) n += _count[cpu * GroupLists + l];
        return n;
    }
    /// <summary>Objects in all slabs.</summary>
    public readonly ulong TotalObjects => Slabs * _objects;
    /// <summary>Objects parked in the per-CPU magazines, returns, inboxes and hot slots (of
    /// every CPU: a snapshot while other CPUs run).</summary>
    public readonly ulong CpuCachedObjects
    {
        get
        {
            ulong n = 0;
            for (int c = 0; c < Cpu.MaxCpus; c++)
            {
                n += _cpu[c].Count + _cpu[c].Returning;
                Inbox* box = InboxOf(c);
                if (box != null) n += box->Count;
                if (_live && _pages->Hot[c].OwnerWord == (ulong)ReadonlySelf) n++;
            }
            return n;
        }
    }

    /// <summary>The cache lock's statistics (acquisitions, contention, spin time).</summary>
    public readonly LockStats LockStats => _lock.Stats;
    /// <summary>The CPUs' inbox locks' statistics, summed.</summary>
    public readonly LockStats InboxLockStats
    {
        get
        {
            LockStats sum = default;
            for (int c = 0; c < Cpu.MaxCpus; c++)
            {
                Inbox* box = InboxOf(c);
                if (box != null) sum.Add(in box->Lock.Stats);
            }
            return sum;
        }
    }
    /// <summary>Objects waiting in CPU <paramref name="cpu"/>'s inbox (a snapshot while other
    /// CPUs run; 0 when it has none).</summary>
    public readonly uint InboxCount(int cpu)
    {
        Inbox* box = (uint)cpu < Cpu.MaxCpus ? InboxOf(cpu) : null;
        return box != null ? box->Count : 0;
    }
    /// <summary>CPUs that have an inbox in this cache.</summary>
    public readonly uint Inboxes
    {
        get
        {
            uint n = 0;
            for (int c = 0; c < Cpu.MaxCpus; c++) if (InboxOf(c) != null) n++;
            return n;
        }
    }
    /// <summary>Most objects each CPU's inbox in this cache holds (0: magazines off, no inboxes).</summary>
    public readonly uint InboxCapacity => _cpu[0].Capacity == 0 ? 0 : Inbox.CapacityFor(_cpu[0].Capacity);

    // CPU cpu's inbox, or null while it has none (read by other CPUs, so read once, whole).
    private readonly Inbox* InboxOf(int cpu) => (Inbox*)Volatile.Read(ref Unsafe.AsRef(in _inbox[cpu]));
    /// <summary>Objects handed out to callers.</summary>
    public readonly ulong ActiveObjects => _inUse - CpuCachedObjects;
    /// <summary>Slabs taken from the buddy allocator so far.</summary>
    public readonly ulong SlabsCreated => _slabsCreated;
    /// <summary>Slabs given back so far.</summary>
    public readonly ulong SlabsReleased => _slabsReleased;
    /// <summary>Magazine capacity (0: no per-CPU layer).</summary>
    public readonly uint MagazineCapacity => _cpu[0].Capacity;

    /// <summary>Writes the cache's name.</summary>
    public readonly void WriteName<TSink>(ref TextWriter<TSink> w) where TSink : struct, ITextSink
    {
        for (int i = 0; i < _nameLength; i++) w.Char((char)_name[i]);
    }

    /// <summary>Characters in the name.</summary>
    public readonly int NameLength => _nameLength;

    /// <summary>Character <paramref name="i"/> of the name.</summary>
    public readonly char NameChar(int i) => (uint)i < (uint)_nameLength ? (char)_name[i] : '\0';

    // ---------------------------------------------------------------- allocation

    /// <summary>Allocates one object (kmem_cache_alloc). Return: Ok and the object;
    /// OutOfMemory (nothing changed); InvalidArgument when the cache is not live.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Allocate(out void* obj, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        if (_pages == null) { obj = null; return Status.InvalidArgument; } // never created
        void* p = AllocateSized(_objectSize, file, line);
        obj = p;
        if (p == null) return _pages->TakeFailure();
        CacheEvents.Allocated(Self, p);
        return Status.Ok;
    }

    /// <summary>Allocation for a request of <paramref name="requested"/> bytes (at most the
    /// object size), so that debug mode guards the bytes past the request.
    /// Returns the object, or null with the reason left in <see cref="HeapPages.TakeFailure"/>.
    /// The pointer comes back in a register, not through an out parameter: a non-inlined slow
    /// path taking the caller's variable by reference would keep it in memory on the fast path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void* AllocateSized(uint requested, string file, int line) => AllocateFrom(_pages, Self, requested, file, line);

    /// <summary>The allocation fast path, given the heap and the cache (kmalloc passes both
    /// from addresses it already has, so no load stands between the call and the hot-slot
    /// check): the CPU's hot slot when it holds an object of this cache, else the CPU's
    /// magazine. Touches nothing another CPU writes (the allocated byte is the object's own).
    /// <para>With one CPU online the CPU is 0 and the path contains no call. With more, the
    /// path is the same with the CPU found inline (<see cref="Cpu.CurrentWithoutCall"/>, from the
    /// stack pointer on a stack the host registered), or the whole operation moves out of line
    /// where finding the CPU is a call (the host's hook): a call inside the fast path makes the JIT keep the
    /// caller's values on the stack on every operation (W3 measured 2x slower), a tail call
    /// costs only the call. Inline, W6 on one of two CPUs online went from 28-30 to 24-25 CPU
    /// ns per pair; the one-CPU hot pair (W3h) paid 2.46 -> 2.73 ns for the larger inlined
    /// body.</para></summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void* AllocateFrom(HeapPages* hp, SlabCache* c, uint requested, string file, int line)
    {
        if (Cpu.Online == 1) return AllocateOn(hp, c, 0, requested, file, line);
        int cpu = Cpu.CurrentWithoutCall;
        if (cpu < 0) return AllocateOnCurrentCpu(hp, c, requested, file, line);
        return AllocateOn(hp, c, cpu, requested, file, line);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void* AllocateOnCurrentCpu(HeapPages* hp, SlabCache* c, uint requested, string file, int line) =>
        AllocateOn(hp, c, Cpu.Current, requested, file, line);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void* AllocateOn(HeapPages* hp, SlabCache* c, int cpu, uint requested, string file, int line)
    {
        ref HotSlot hot = ref hp->Hot[cpu];
        if (hot.OwnerWord == (ulong)c)
        {
            // The object freed last on this CPU: hand it out again; the slot remembers it (lent),
            // so that freeing it here again needs no lookup (TryFreeLent).
            // The slab-release count is read now, while the object still keeps its slab in use
            // (read on every park instead, every free would read a line other CPUs' slab
            // releases write).
            *(byte*)hot.Mark = 1;
            hot.Releases = hp->SlabReleases;
            hot.OwnerWord = (ulong)c | HotSlot.Lent;
            return (void*)hot.Object;
        }
        ref Magazine m = ref c->_cpu[cpu];
        uint n = m.Count;
        if (n == 0) return c->AllocateSlow(cpu, requested, file, line);
        n--;
        ref MagazineEntry e = ref m.At(n);
        m.Count = n;
        *(byte*)e.Mark = 1;
        return (void*)e.Object;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void* AllocateSlow(int cpu, uint requested, string file, int line)
    {
        Status s = AllocateSlow(cpu, requested, out void* obj, file, line);
        if (s != Status.Ok) { _pages->SetFailure(cpu, s); return null; }
        return obj;
    }

    private Status AllocateSlow(int cpu, uint requested, out void* obj, string file, int line)
    {
        obj = null;
        if (!_live) return Status.InvalidArgument;
        if (_debug) return AllocateDebug(requested, out obj, file, line);
        // A safe point (no lock held, no per-CPU layer half changed): answer a drain request.
        if (_pages->DrainRequested(cpu)) _pages->DrainCpu(cpu);
        ref Magazine m = ref _cpu[cpu];
        Status s;
        if (m.Capacity == 0)
        {
            s = TakeOne(out SlabDescriptor* d, out uint idx);
            if (s != Status.Ok) return s;
            SlabDescriptor.AllocBytes(d)[idx] = 1;
            obj = (void*)(d->Start + (ulong)idx * _slot);
            return Status.Ok;
        }
        if (m.Count == 0)
        {
            s = Refill(ref m, cpu);
            if (s != Status.Ok) return s;
        }
        obj = AllocateFrom(_pages, Self, requested, file, line);
        return Status.Ok;
    }

    // Fills an empty magazine with up to a batch of objects: the fullest partial slabs first,
    // then kept empty slabs, then new slabs. Lowest addresses end on top. A new slab is
    // allocated with the lock released, and may meet memory pressure: the reclaim that follows
    // drains this CPU's layers too, but leaves the batch being assembled alone (Refilling), or
    // it would give back what this refill took and the refill would start over for ever.
    // m.Count stays current entry by entry.
    private Status Refill(ref Magazine m, int cpu)
    {
        m.Refilling = 1;
        Status s = RefillBatch(ref m, cpu);
        m.Refilling = 0;
        return s;
    }

    private Status RefillBatch(ref Magazine m, int cpu)
    {
        uint target = m.Batch;
        Inbox* box = (Inbox*)_inbox[cpu];
        if (box == null && Cpu.Online > 1 && m.InboxRefused == 0) box = CreateInbox(ref m, cpu);
        if (box != null) TakeFromInbox(ref m, box, m.Capacity);
        if (m.Count >= target) return Status.Ok;
        _lock.Acquire();
        while (m.Count < target)
        {
            SlabDescriptor* d = FullestWithFree(cpu);
            if (d == null)
            {
                _lock.Release();
                Status s = NewSlab(out d);
                _lock.Acquire();
                if (s != Status.Ok) break;
                LinkNewSlab(d);
                continue; // another CPU may have returned objects meanwhile: fullest first still
            }
            Adopt(d, cpu);
            uint before = d->InUse;
            byte* a = SlabDescriptor.AllocBytes(d);
            ulong* f = SlabDescriptor.FreeBits(d);
            for (uint w = 0; w < _words && m.Count < target; w++)
            {
                ulong bits = f[w];
                uint taken = 0;
                while (bits != 0 && m.Count < target)
                {
                    int b = BitOperations.TrailingZeroCount(bits);
                    bits &= bits - 1;
                    uint idx = w * 64 + (uint)b;
                    ref MagazineEntry e = ref m.At(m.Count);
                    e.Object = d->Start + (ulong)idx * _slot;
                    e.Mark = (ulong)(a + idx);
                    m.Count++;
                    taken++;
                }
                f[w] = bits;
                d->InUse = (ushort)(d->InUse + taken);
                _inUse += taken;
            }
            Reclassify(d, before);
        }
        _lock.Release();
        uint n = m.Count;
        if (n == 0) return Status.OutOfMemory;
        for (uint i = 0, j = n - 1; i < j; i++, j--)
        {
            MagazineEntry t = m.At(i);
            m.At(i) = m.At(j);
            m.At(j) = t;
        }
        return Status.Ok;
    }

    // CPU cpu's inbox in this cache (cpu is the caller, the only CPU that writes its slot): a
    // page, published once it is ready. Without one, other CPUs send this CPU's objects back to
    // their slabs, as with one CPU online. Return: the inbox, or null.
    private Inbox* CreateInbox(ref Magazine m, int cpu)
    {
        if (_pages->AllocateInboxPage(out byte* page) != Status.Ok)
        {
            m.InboxRefused = 1;
            return null;
        }
        Inbox* box = (Inbox*)page;
        box->Lock.Init(LockRank.SlabInbox);
        box->Count = 0;
        Volatile.Write(ref _inbox[cpu], (nint)box);
        return box;
    }

    // Objects of this CPU's slabs that other CPUs freed, from its inbox into the magazine, up to
    // target. The count is read first without the lock, so an empty inbox costs no lock.
    private static void TakeFromInbox(ref Magazine m, Inbox* box, uint target)
    {
        if (Volatile.Read(ref box->Count) == 0) return;
        box->Lock.Acquire();
        uint c = box->Count;
        uint n = m.Count;
        while (c != 0 && n < target) m.At(n++) = box->At(--c);
        m.Count = n;
        box->Count = c;
        box->Lock.Release();
    }

    // One object straight from the slab lists (debug mode, or magazines off): the lowest free
    // object of the fullest partial (else empty, else new) slab. Its allocated byte is left to
    // the caller. Takes the lock.
    private Status TakeOne(out SlabDescriptor* d, out uint idx)
    {
        idx = 0;
        _lock.Acquire();
        d = FullestWithFree(SharedGroup);
        while (d == null)
        {
            _lock.Release();
            Status s = NewSlab(out d);
            if (s != Status.Ok) return s;
            _lock.Acquire();
            LinkNewSlab(d);
            d = FullestWithFree(SharedGroup);
        }
        ulong* f = SlabDescriptor.FreeBits(d);
        uint w = 0;
        while (f[w] == 0)
            if (++w == _words) Panic.Fail("heap: slab on the partial or empty list has no free object", (ulong)d);
        int b = BitOperations.TrailingZeroCount(f[w]);
        f[w] &= f[w] - 1;
        idx = w * 64 + (uint)b;
        uint before = d->InUse;
        d->InUse = (ushort)(d->InUse + 1);
        _inUse++;
        Reclassify(d, before);
        _lock.Release();
        return Status.Ok;
    }

    // ---------------------------------------------------------------- free

    /// <summary>
    /// Frees an object of this cache (kmem_cache_free). Return: Ok; InvalidArgument when the
    /// object belongs to another cache; OutOfRange / NotAllocated when it is in no slab;
    /// Misaligned for a pointer inside an object; DoubleFree for an object that is free
    /// (freed before, or never handed out); in debug mode Malformed when its red zone was
    /// overwritten (the object stays allocated). Any failure changes nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Status Free(void* obj, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        Status s = FreeUnreported(obj, file, line);
        if (s == Status.Ok && obj != null) CacheEvents.Freed(Self, obj);
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Status FreeUnreported(void* obj, string file, int line)
    {
        if (_pages == null) return Status.InvalidArgument; // never created
        if (obj == null) return Status.Ok;
        SlabDescriptor* d = _pages->SlabOf(obj);
        if (d == null || d->Cache != Self) return RejectForeign(obj, d, file, line);
        return FreeObject(_pages, d, obj, file, line);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status RejectForeign(void* obj, SlabDescriptor* d, string file, int line)
    {
        Status s = d != null ? Status.InvalidArgument
            : _pages->IsRam(_pages->PfnOf(obj)) ? Status.NotAllocated : Status.OutOfRange;
        if (_pages->IsDebug) _pages->Debug->Record(HeapEventKind.InvalidFree, s, (ulong)obj, 0, _pages->Debug->Site(file, line));
        return s;
    }

    /// <summary>
    /// The free path shared by <see cref="Free"/> and kfree, once the frame's owner word has named the
    /// slab <paramref name="d"/> holding <paramref name="p"/>: checks the boundary and the
    /// allocated byte, clears it, moves the CPU's parked hot object into its cache's magazine
    /// and parks <paramref name="p"/> in the hot slot. Debug mode and magazines off go to the
    /// slab lists instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Status FreeObject(HeapPages* hp, SlabDescriptor* d, void* p, string file, int line)
    {
        // One CPU online: CPU 0; more: the CPU when found with no call, else out of line (see
        // AllocateFrom).
        if (Cpu.Online == 1) return FreeObjectOn(hp, d, p, 0, false, file, line);
        int cpu = Cpu.CurrentWithoutCall;
        if (cpu < 0) return FreeObjectOnCurrentCpu(hp, d, p, file, line);
        return FreeObjectOn(hp, d, p, cpu, true, file, line);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Status FreeObjectOnCurrentCpu(HeapPages* hp, SlabDescriptor* d, void* p, string file, int line) =>
        FreeObjectOn(hp, d, p, Cpu.Current, true, file, line);

    // several: more than one CPU online, so the object's slab may be another CPU's.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Status FreeObjectOn(HeapPages* hp, SlabDescriptor* d, void* p, int cpu, bool several, string file, int line)
    {
        ulong idx = SlabDescriptor.IndexOf(d, (ulong)p);
        if (idx >= d->Total) return d->Cache->Reject(p, Status.Misaligned, file, line);
        byte* a = SlabDescriptor.AllocBytes(d) + idx;
        if (*a == 0) return d->Cache->Reject(p, Status.DoubleFree, file, line);
        if (!hp->HotEnabled) return d->Cache->FreeSlow(d, (uint)idx, p, file, line);
        *a = 0;
        // An object of a slab this CPU does not own is never handed out here again: it waits
        // with the returns and goes home with them, to its owner's inbox or its slab (Owner is
        // read without the lock: only this CPU makes a slab this CPU's, or stops it being so
        // while it has objects in use).
        if (several && d->Owner != (uint)cpu) return ReturnForeign(d, cpu, p);
        ref HotSlot hot = ref hp->Hot[cpu];
        ulong ownerWord = hot.OwnerWord;
        if (ownerWord != 0 && (ownerWord & HotSlot.Lent) == 0)
        {
            // Move the parked object out: to its slab when that slab is at least a quarter free,
            // else to its cache's magazine. Rare cases are tail calls (nothing stays live across a
            // call). InUse is read without the cache lock: a hint, and the slab cannot go away
            // (the parked object keeps it in use).
            SlabCache* owner = (SlabCache*)ownerWord;
            SlabDescriptor* hd = hot.Slab;
            if ((uint)hd->InUse * 4 <= (uint)hd->Total * 3) return EvictToSparseSlab(owner, hp, cpu, d, a, p);
            ref Magazine m = ref owner->_cpu[cpu];
            uint n = m.Count;
            if (n >= m.Capacity) return FreeWithFullMagazine(owner, hp, cpu, d, a, p);
            ref MagazineEntry e = ref m.At(n);
            e.Object = hot.Object;
            e.Mark = hot.Mark;
            m.Count = n + 1;
        }
        Park(hp, ref hot, d, a, p);
        return Status.Ok;
    }

    // Parks p (allocated byte a, slab d) in the slot, which is empty, lent (forgotten: an
    // allocated object) or just emptied.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Park(HeapPages* hp, ref HotSlot hot, SlabDescriptor* d, byte* a, void* p)
    {
        hot.Object = (ulong)p;
        hot.Mark = (ulong)a;
        hot.OwnerWord = (ulong)d->Cache;
        hot.Slab = d;
    }

    // FreeObject's tail when the parked hot object's slab is at least a quarter free: the
    // object goes back to that slab (this CPU's, or shared), not to a magazine where it would be
    // handed out again and keep the slab alive. Refills take from the fullest slabs, so sparse slabs drain and are
    // given back instead of every slab staying a little used at the high-water mark (SLUB's
    // frees to a slab other than the CPU slab behave alike). Measured on W3: pages held 1.359x
    // the live bytes without this, 1.334x with it. The object joins the magazine's returns,
    // which go back ReturnCapacity at a time under one cache-lock acquisition (one acquisition
    // per object was 6% of W6's time on 2 CPUs, waiting for the lock). Then p is parked.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Status EvictToSparseSlab(SlabCache* owner, HeapPages* hp, int cpu, SlabDescriptor* d, byte* a, void* p)
    {
        ref HotSlot hot = ref hp->Hot[cpu];
        ref Magazine m = ref owner->_cpu[cpu];
        if (m.AddReturn(hot.Object, hot.Mark, hot.Slab->Owner) == Magazine.ReturnCapacity) owner->ReturnPending(ref m, cpu, toInboxes: true);
        Park(hp, ref hot, d, a, p);
        return Status.Ok;
    }

    // FreeObject's tail for an object of slab d (its allocated byte already cleared) that another
    // CPU owns, or no CPU: into the returns, which go home a batch at a time (to the owner's
    // inbox, or to their slabs), so that this CPU's magazines and hot slot hold objects of its
    // own slabs only and it writes no other CPU's slab descriptor on its fast paths (SLUB frees
    // to a slab other than the CPU slab alike; mimalloc's pages are thread-local). p is not
    // parked. Three arguments, the allocated byte found again here: with two more, the inlined
    // free around the call kept more values on the stack, and the one-CPU hot pair (W3h, which
    // never calls this) measured 10% slower.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Status ReturnForeign(SlabDescriptor* d, int cpu, void* p)
    {
        SlabCache* owner = d->Cache;
        byte* a = SlabDescriptor.AllocBytes(d) + SlabDescriptor.IndexOf(d, (ulong)p);
        ref Magazine m = ref owner->_cpu[cpu];
        if (m.AddReturn((ulong)p, (ulong)a, d->Owner) == Magazine.ReturnCapacity) owner->ReturnPending(ref m, cpu, toInboxes: true);
        return Status.Ok;
    }

    // Marks a return handed to its owner's inbox (not a CPU number, not SlabDescriptor.Shared).
    private const byte SentToInbox = 0xFE;

    // A magazine's returns (CPU cpu's) go home: with toInboxes, those of slabs another CPU
    // online owns to that CPU's inbox, one acquisition of its inbox lock per owner; the rest
    // (this CPU's objects on their way to sparse slabs, objects of shared slabs, any an inbox has
    // no room for) back to their slabs under one acquisition of the cache lock. A drain sends
    // everything to the slabs: it gives memory back rather than filling another CPU's cache.
    // Without magazines nothing would empty an inbox, so everything goes to the slabs.
    private void ReturnPending(ref Magazine m, int cpu, bool toInboxes)
    {
        uint n = m.Returning;
        if (n == 0) return;
        if (toInboxes && m.Capacity != 0) n = SendToInboxes(ref m, cpu, n);
        if (n != 0)
        {
            ReturnToSlabs(ref m.ReturnAt(0), n, "heap: returning object is not an object of its cache");
        }
        m.Returning = 0;
    }

    // Moves the first n returns whose slab another CPU online owns into that CPU's inbox while
    // it has room. Return: how many are left for their slabs, moved to the front.
    private uint SendToInboxes(ref Magazine m, int cpu, uint n)
    {
        uint online = (uint)Cpu.Online, capacity = Inbox.CapacityFor(m.Capacity);
        for (uint i = 0; i < n; i++)
        {
            byte owner = m.OwnerAt(i);
            if (owner >= online || owner == (uint)cpu) continue; // shared, sent, or this CPU's
            Inbox* box = InboxOf(owner);
            if (box != null) box->Lock.Acquire();
            uint c = box != null ? box->Count : 0, room = box != null ? capacity : 0;
            for (uint j = i; j < n; j++)
            {
                if (m.OwnerAt(j) != owner) continue;
                if (c < room)
                {
                    box->At(c++) = m.ReturnAt(j);
                    m.OwnerAt(j) = SentToInbox;
                }
                else m.OwnerAt(j) = SlabDescriptor.Shared; // no inbox, or no room: to its slab
            }
            if (box == null) continue;
            box->Count = c;
            box->Lock.Release();
        }
        uint left = 0;
        for (uint i = 0; i < n; i++)
        {
            if (m.OwnerAt(i) == SentToInbox) continue;
            if (left != i)
            {
                m.ReturnAt(left) = m.ReturnAt(i);
                m.OwnerAt(left) = m.OwnerAt(i);
            }
            left++;
        }
        return left;
    }

    // Every object in CPU owner's inbox back to its slab (a drain of that CPU, or a shrink on
    // any CPU). The inbox lock is held across the cache lock's (SlabInbox comes first), so the
    // objects are never in neither place.
    private void DrainInbox(int owner)
    {
        Inbox* box = InboxOf(owner);
        if (box == null || Volatile.Read(ref box->Count) == 0) return;
        box->Lock.Acquire();
        uint c = box->Count;
        if (c != 0)
        {
            ReturnToSlabs(ref box->At(0), c, "heap: inbox holds an object of no slab of its cache");
            box->Count = 0;
        }
        box->Lock.Release();
    }

    // n parked entries from `first` on (a magazine's, its returns', an inbox's) back to their
    // slabs under one acquisition of the cache lock, then the empty slabs beyond those kept back
    // to the page allocator. invariant: the panic's message when an entry is not this cache's.
    private void ReturnToSlabs(ref MagazineEntry first, uint n, string invariant)
    {
        _lock.Acquire();
        for (uint i = 0; i < n; i++) ReturnObject(Unsafe.Add(ref first, (nint)i).Object, invariant);
        TrimEmpty();
        _lock.Release();
    }

    // Object obj, free and parked in this cache's per-CPU layers, back to its slab. Under the lock.
    private void ReturnObject(ulong obj, string invariant)
    {
        SlabDescriptor* d = _pages->SlabOf((void*)obj);
        if (d == null || d->Cache != Self) Panic.Fail(invariant, obj);
        ulong idx = SlabDescriptor.IndexOf(d, obj);
        if (idx >= d->Total) Panic.Fail("heap: parked pointer is not an object boundary", obj);
        ReturnToSlab(d, (uint)idx);
    }

    // FreeObject's tail when the hot object's magazine (this CPU's, of the owner cache) is full:
    // a safe point to answer a drain request; else return the magazine's oldest batch to the
    // slabs and move the hot object into it. Then park p in the slot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Status FreeWithFullMagazine(SlabCache* owner, HeapPages* hp, int cpu, SlabDescriptor* d, byte* a, void* p)
    {
        if (hp->DrainRequested(cpu)) hp->DrainCpu(cpu);
        else
        {
            ref Magazine m = ref owner->_cpu[cpu];
            owner->Flush(ref m, m.Batch);
            owner->EvictInto(ref m, ref hp->Hot[cpu]);
        }
        Park(hp, ref hp->Hot[cpu], d, a, p);
        return Status.Ok;
    }

    private void EvictInto(ref Magazine m, ref HotSlot hot)
    {
        if (hot.OwnerWord != (ulong)Self || m.Count >= m.Capacity) Panic.Fail("heap: hot object evicted into a full or foreign magazine", hot.Object);
        ref MagazineEntry e = ref m.At(m.Count);
        e.Object = hot.Object;
        e.Mark = hot.Mark;
        m.Count++;
        hot.Clear();
    }

    /// <summary>Empties CPU <paramref name="cpu"/>'s hot slot when it holds an object of this
    /// cache: a parked object moves into this cache's magazine for that CPU, a lent one is
    /// forgotten (it is allocated). Only that CPU may call this (or anyone while every CPU is
    /// quiescent).</summary>
    internal void EvictHot(int cpu)
    {
        ref HotSlot hot = ref _pages->Hot[cpu];
        if (hot.Owner != Self) return;
        if (hot.IsLent) { hot.Clear(); return; }
        ref Magazine m = ref _cpu[cpu];
        if (m.Count >= m.Capacity) Flush(ref m, m.Batch);
        EvictInto(ref m, ref hot);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status Reject(void* p, Status s, string file, int line)
    {
        if (_debug)
        {
            uint site = _pages->Debug->Site(file, line);
            _pages->Debug->Record(s == Status.DoubleFree ? HeapEventKind.DoubleFree : HeapEventKind.InvalidFree, s, (ulong)p, 0, site);
        }
        return s;
    }

    // Debug mode, or no per-CPU layer (magazines off): the object goes straight back to its
    // slab. The object has been validated: a boundary of slab d whose allocated byte is set.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Status FreeSlow(SlabDescriptor* d, uint idx, void* p, string file, int line)
    {
        if (_debug) return FreeDebug(d, idx, p, file, line);
        SlabDescriptor.AllocBytes(d)[idx] = 0;
        _lock.Acquire();
        ReturnToSlab(d, idx);
        TrimEmpty();
        _lock.Release();
        return Status.Ok;
    }

    // Returns the oldest `count` entries of a magazine (the caller's CPU's) to their slabs.
    private void Flush(ref Magazine m, uint count)
    {
        if (count > m.Count) count = m.Count;
        if (count == 0) return;
        ReturnToSlabs(ref m.At(0), count, "heap: magazine holds an object of no slab of its cache");
        uint rest = m.Count - count;
        for (uint i = 0; i < rest; i++) m.At(i) = m.At(i + count);
        m.Count = rest;
    }

    // Object idx of slab d becomes free in the slab. Under the lock.
    private void ReturnToSlab(SlabDescriptor* d, uint idx)
    {
        ulong* f = SlabDescriptor.FreeBits(d) + (idx >> 6);
        ulong bit = 1UL << (int)idx;
        if ((*f & bit) != 0 || SlabDescriptor.AllocBytes(d)[idx] != 0)
            Panic.Fail("heap: object returned to its slab is already free there or still marked allocated", d->Start + (ulong)idx * _slot);
        *f |= bit;
        uint before = d->InUse;
        d->InUse = (ushort)(d->InUse - 1);
        _inUse--;
        Reclassify(d, before);
    }

    /// <summary>
    /// Gives back CPU <paramref name="cpu"/>'s cached objects of this cache: its hot object, if
    /// this cache's, its returns, its inbox, and its magazine (unless a refill of it is under
    /// way). Only that CPU may call this, at a point where it is changing none of its per-CPU
    /// layers.
    /// </summary>
    internal void DrainCpu(int cpu)
    {
        if (!_live) return;
        EvictHot(cpu);
        ref Magazine m = ref _cpu[cpu];
        ReturnPending(ref m, cpu, toInboxes: false);
        DrainInbox(cpu);
        m.InboxRefused = 0;
        if (m.Refilling != 0) return; // its slabs stay its own: the refill is filling the magazine from them
        Flush(ref m, m.Count);
        Disown(cpu);
    }

    // CPU cpu's slabs become shared (its layers hold none of their objects now): any CPU's
    // refill may take them whole.
    private void Disown(int cpu)
    {
        int first = cpu * GroupLists;
        _lock.Acquire();
        for (int l = first; l < first + GroupLists; l++)
            while (_head[l] != 0)
            {
                SlabDescriptor* d = (SlabDescriptor*)_head[l];
                Unlink(d, l);
                d->Owner = SlabDescriptor.Shared;
                Link(d, ListOf(d->Owner, d->InUse));
            }
        _lock.Release();
    }

    // Slab d becomes CPU cpu's (a refill of cpu's magazine takes objects from it). Under the lock.
    private void Adopt(SlabDescriptor* d, int cpu)
    {
        if (d->Owner == (byte)cpu) return;
        int was = ListOf(d->Owner, d->InUse);
        d->Owner = (byte)cpu;
        int now = ListOf(d->Owner, d->InUse);
        if (was == now) return;
        Unlink(d, was);
        Link(d, now);
    }

    /// <summary>
    /// Flushes the current CPU's hot object and magazine, returns every CPU's inbox to the slabs
    /// (an inbox has a lock, so any CPU may) and gives every empty slab back to the buddy
    /// allocator (memory pressure). Other CPUs' magazines and hot slots are drained by those CPUs
    /// (<see cref="HeapPages.DrainCurrentCpu"/>). Return: pages given back.
    /// </summary>
    public ulong Shrink()
    {
        if (!_live) return 0;
        DrainCpu(HeapPages.CurrentCpu);
        return ReleaseEmptySlabs();
    }

    // Every CPU's inbox back to the slabs (an inbox has a lock, so any CPU may do this), then
    // every empty slab back to the buddy allocator. Return: pages given back.
    internal ulong ReleaseEmptySlabs()
    {
        if (!_live) return 0;
        for (int c = 0; c < Cpu.MaxCpus; c++) DrainInbox(c);
        ulong released = 0;
        _lock.Acquire();
        while (_head[EmptyList] != 0)
        {
            ReleaseSlab((SlabDescriptor*)_head[EmptyList]);
            released += 1UL << (int)_order;
        }
        _lock.Release();
        return released;
    }

    // ---------------------------------------------------------------- slabs and lists

    // A new slab, not yet on a list (LinkNewSlab does that under the lock). Called without the
    // cache lock: the page allocation may reclaim, which takes every cache's lock.
    private Status NewSlab(out SlabDescriptor* d)
    {
        d = null;
        Status s = _pages->AllocateSlab(_order, _descBytes, out Pfn pfn, out byte* slab, out SlabDescriptor* nd);
        if (s != Status.Ok) return s;
        nd->Start = (ulong)slab + _leftPad;
        nd->Inverse = _inverse;
        nd->Shift = _shift;
        nd->Total = (ushort)_objects;
        nd->InUse = 0;
        nd->Owner = SlabDescriptor.Shared;
        nd->Cache = Self;
        ulong* f = SlabDescriptor.FreeBits(nd);
        for (uint w = 0; w < _words; w++)
        {
            uint left = _objects - w * 64;
            f[w] = left >= 64 ? ulong.MaxValue : (1UL << (int)left) - 1;
        }
        if (_debug)
        {
            for (uint i = 0; i < _objects; i++) PaintFree(nd->Start + (ulong)i * _slot, true);
        }
        _pages->SetOwner(pfn, 1UL << (int)_order, (ulong)nd);
        d = nd;
        return Status.Ok;
    }

    // Under the lock.
    private void LinkNewSlab(SlabDescriptor* d)
    {
        Link(d, EmptyList);
        _slabsCreated++;
    }

    // Under the lock (the heap's page lock is taken inside: it comes after the cache lock).
    private void ReleaseSlab(SlabDescriptor* d)
    {
        if (d->InUse != 0) Panic.Fail("heap: releasing a slab with objects in use", (ulong)d);
        Unlink(d, EmptyList);
        byte* slab = (byte*)(d->Start - _leftPad);
        _pages->ReleaseSlabPages(d, _pages->Source.PfnOf(slab), _order);
        _slabsReleased++;
    }

    // Empty slabs kept: KeepEmptySlabs for each CPU online. Slabs empty when other CPUs return
    // their owner's objects (frees on another CPU go home), and every owner's next refill would
    // otherwise take a new slab through the page lock.
    private void TrimEmpty()
    {
        ulong keep = (ulong)_keepEmpty * (ulong)Cpu.Online;
        while (_count[EmptyList] > keep) ReleaseSlab((SlabDescriptor*)_head[EmptyList]);
    }

    // Refills take from the fullest partial slab first, then a kept empty one: sparse slabs
    // are left to drain (random frees empty them) and go back to the buddy allocator, instead
    // of every slab staying a little used at the high-water mark. A CPU's refill looks at its
    // own slabs first, then the shared ones (group: a CPU, or SharedGroup).
    private readonly SlabDescriptor* FullestWithFree(int group)
    {
        int own = group * GroupLists, shared = SharedGroup * GroupLists;
        for (int l = own + FirstPartial; l < own + GroupLists; l++)
            if (_head[l] != 0) return (SlabDescriptor*)_head[l];
        for (int l = shared + FirstPartial; l < shared + GroupLists; l++)
            if (_head[l] != 0) return (SlabDescriptor*)_head[l];
        return (SlabDescriptor*)_head[EmptyList];
    }

    private readonly int ListOf(byte owner, uint inUse)
    {
        if (inUse == 0) return EmptyList;
        int group = (owner == SlabDescriptor.Shared ? SharedGroup : owner) * GroupLists;
        if (inUse == _objects) return group + FullList;
        return group + FirstPartial + BitOperations.Log2(_objects - inUse);
    }

    // The slab's list after its in-use count changed from before; an empty slab is no CPU's.
    private void Reclassify(SlabDescriptor* d, uint before)
    {
        int was = ListOf(d->Owner, before), now = ListOf(d->Owner, d->InUse);
        if (now == EmptyList) d->Owner = SlabDescriptor.Shared;
        if (was == now) return;
        Unlink(d, was);
        Link(d, now);
    }

    private void Link(SlabDescriptor* d, int list)
    {
        SlabDescriptor* head = (SlabDescriptor*)_head[list];
        SlabLinks* l = SlabDescriptor.Links(d);
        l->Next = head;
        l->Prev = null;
        if (head != null) SlabDescriptor.Links(head)->Prev = d;
        _head[list] = (ulong)d;
        _count[list]++;
    }

    private void Unlink(SlabDescriptor* d, int list)
    {
        SlabLinks* l = SlabDescriptor.Links(d);
        if (l->Prev != null) SlabDescriptor.Links(l->Prev)->Next = l->Next;
        else
        {
            if (_head[list] != (ulong)d) Panic.Fail("heap: slab unlinked from a list it does not head", (ulong)d);
            _head[list] = (ulong)l->Next;
        }
        if (l->Next != null) SlabDescriptor.Links(l->Next)->Prev = l->Prev;
        l->Next = null;
        l->Prev = null;
        _count[list]--;
    }

    // ---------------------------------------------------------------- debug mode

    private Status AllocateDebug(uint requested, out void* obj, string file, int line)
    {
        obj = null;
        if (requested == 0 || requested > _objectBytes) Panic.Fail("heap: request larger than the cache's objects", requested);
        Status s = TakeOne(out SlabDescriptor* d, out uint idx);
        if (s != Status.Ok) return s;
        SlabDescriptor.AllocBytes(d)[idx] = 1;
        byte* o = (byte*)(d->Start + (ulong)idx * _slot);
        Trailer* t = TrailerOf(o);
        HeapDebug* dbg = _pages->Debug;
        if (!AllBytes(o, _objectBytes, PoisonFree))
            dbg->Record(HeapEventKind.UseAfterFree, Status.Ok, (ulong)o, t->AllocSite, t->FreeSite);
        if (!AllBytes(o - _leftPad, _leftPad, RedInactive) || !AllBytes(o + _objectBytes, RedZoneBytes, RedInactive))
            dbg->Record(HeapEventKind.FreeRedZoneDamaged, Status.Ok, (ulong)o, t->AllocSite, t->FreeSite);
        uint site = dbg->Site(file, line);
        MemoryOps.Fill(o - _leftPad, RedActive, _leftPad);
        MemoryOps.Fill(o, PoisonAlloc, requested);
        MemoryOps.Fill(o + requested, RedActive, _objectBytes + RedZoneBytes - requested);
        t->AllocSite = site;
        t->FreeSite = 0;
        t->Requested = requested;
        t->Magic = TrailerMagic;
        dbg->Allocated(site, requested);
        obj = o;
        return Status.Ok;
    }

    private Status FreeDebug(SlabDescriptor* d, uint idx, void* p, string file, int line)
    {
        byte* o = (byte*)p;
        Trailer* t = TrailerOf(o);
        HeapDebug* dbg = _pages->Debug;
        uint site = dbg->Site(file, line);
        if (t->Magic != TrailerMagic || t->Requested == 0 || t->Requested > _objectBytes)
        {
            dbg->Record(HeapEventKind.RedZoneOverflow, Status.Malformed, (ulong)o, t->AllocSite, site);
            return Status.Malformed;
        }
        uint req = t->Requested;
        if (!AllBytes(o - _leftPad, _leftPad, RedActive) || !AllBytes(o + req, _objectBytes + RedZoneBytes - req, RedActive))
        {
            dbg->Record(HeapEventKind.RedZoneOverflow, Status.Malformed, (ulong)o, t->AllocSite, site);
            return Status.Malformed;
        }
        dbg->Released(t->AllocSite, req);
        PaintFree((ulong)o, false);
        t->FreeSite = site;
        SlabDescriptor.AllocBytes(d)[idx] = 0;
        _lock.Acquire();
        ReturnToSlab(d, idx);
        TrimEmpty();
        _lock.Release();
        return Status.Ok;
    }

    /// <summary>Debug mode: the size requested for a live object (what krealloc copies and
    /// what the red zone starts after); 0 when the trailer is not intact.</summary>
    internal readonly uint RequestedSize(void* obj)
    {
        Trailer* t = TrailerOf((byte*)obj);
        return t->Magic == TrailerMagic ? t->Requested : 0;
    }

    /// <summary>Debug mode: changes a live object's recorded request to <paramref name="requested"/>
    /// (krealloc within the object), moving the red zone; bytes that become part of the object are
    /// filled with the allocation poison.</summary>
    internal void Resize(void* obj, uint requested)
    {
        byte* o = (byte*)obj;
        Trailer* t = TrailerOf(o);
        uint old = t->Requested;
        if (requested == 0 || requested > _objectBytes || t->Magic != TrailerMagic) Panic.Fail("heap: resize of a slab object beyond its size", requested);
        if (requested > old) MemoryOps.Fill(o + old, PoisonAlloc, requested - old);
        MemoryOps.Fill(o + requested, RedActive, _objectBytes + RedZoneBytes - requested);
        _pages->Debug->Resized(t->AllocSite, old, requested);
        t->Requested = requested;
    }

    private readonly Trailer* TrailerOf(byte* o) => (Trailer*)(o + _objectBytes + RedZoneBytes);

    private readonly void PaintFree(ulong objAddr, bool fresh)
    {
        byte* o = (byte*)objAddr;
        MemoryOps.Fill(o - _leftPad, RedInactive, _leftPad);
        MemoryOps.Fill(o, PoisonFree, _objectBytes);
        MemoryOps.Fill(o + _objectBytes, RedInactive, RedZoneBytes);
        if (fresh) MemoryOps.Zero(o + _objectBytes + RedZoneBytes, TrailerBytes);
    }

    private static bool AllBytes(byte* p, ulong n, byte v)
    {
        for (ulong i = 0; i < n; i++) if (p[i] != v) return false;
        return true;
    }

    // ---------------------------------------------------------------- validation

    /// <summary>
    /// O(slabs) consistency check; panics naming the first broken invariant: each list's
    /// slabs are this cache's with the list's fill level, counts equal list lengths, the bitmaps
    /// agree with InUse (free bits = objects - InUse; no object both allocated and free; no bit
    /// past the last object), the slab frames' owner words name the descriptor, the entries of
    /// every CPU's magazine, its returns, its inbox and its hot slot are this cache's objects
    /// that are neither allocated nor free in their slab, their marks their allocated bytes, and handed-out + parked objects add up to the in-use count (so an
    /// object parked twice, on one CPU or two, is caught). Every CPU must be quiescent.
    /// </summary>
    public readonly void Validate()
    {
        if (!_live) return;
        ulong inUse = 0, allocated = 0;
        for (int l = 0; l < Lists; l++)
            inUse += ValidateList((SlabDescriptor*)_head[l], l, _count[l], ref allocated);
        if (inUse != _inUse) Panic.Fail("heap: cache in-use count disagrees with its slabs", _inUse);
        ulong parked = 0;
        for (int c = 0; c < Cpu.MaxCpus; c++)
        {
            Magazine m = _cpu[c];
            if (m.Count > m.Capacity) Panic.Fail("heap: magazine above its capacity", m.Count);
            for (uint i = 0; i < m.Count; i++)
            {
                MagazineEntry e = m.At(i);
                ValidateParked(e.Object, e.Mark);
                for (uint k = 0; k < i; k++)
                    if (m.At(k).Object == e.Object) Panic.Fail("heap: object parked twice", e.Object);
            }
            parked += m.Count;
            if (m.Returning > Magazine.ReturnCapacity) Panic.Fail("heap: magazine's returns above their capacity", m.Returning);
            for (uint i = 0; i < m.Returning; i++)
            {
                MagazineEntry r = m.ReturnAt(i);
                ValidateParked(r.Object, r.Mark);
                byte owner = m.OwnerAt(i);
                if (owner != SlabDescriptor.Shared && owner >= Cpu.MaxCpus) Panic.Fail("heap: return's recorded owner is no CPU", owner);
                for (uint k = 0; k < i; k++)
                    if (m.ReturnAt(k).Object == r.Object) Panic.Fail("heap: object parked twice", r.Object);
                for (uint k = 0; k < m.Count; k++)
                    if (m.At(k).Object == r.Object) Panic.Fail("heap: object parked twice", r.Object);
            }
            parked += m.Returning;
            parked += ValidateInbox(InboxOf(c));
            HotSlot hot = _pages->Hot[c];
            if (hot.OwnerWord == (ulong)ReadonlySelf)
            {
                ValidateParked(hot.Object, hot.Mark);
                if (hot.Slab != _pages->SlabOf((void*)hot.Object)) Panic.Fail("heap: hot object's slab is not its slab", hot.Object);
                parked++;
            }
        }
        if (allocated + parked != _inUse) Panic.Fail("heap: handed-out plus parked objects disagree with the in-use count", allocated + parked);
    }

    // A CPU's inbox (null: none): set up for this cache, within its capacity, its entries
    // parked objects, none twice. Return: the objects in it.
    private readonly uint ValidateInbox(Inbox* box)
    {
        if (box == null) return 0;
        if (box->Lock.Rank != LockRank.SlabInbox) Panic.Fail("heap: inbox not set up as one", (ulong)box);
        if (box->Count > InboxCapacity) Panic.Fail("heap: inbox above its capacity", box->Count);
        for (uint i = 0; i < box->Count; i++)
        {
            MagazineEntry e = box->At(i);
            ValidateParked(e.Object, e.Mark);
            for (uint k = 0; k < i; k++)
                if (box->At(k).Object == e.Object) Panic.Fail("heap: object parked twice", e.Object);
        }
        return box->Count;
    }

    // An object waiting in a magazine or a hot slot: this cache's, an object boundary, neither
    // allocated nor free in its slab, its mark the address of its allocated byte.
    private readonly void ValidateParked(ulong obj, ulong mark)
    {
        if (mark != (ulong)ValidateFreeObject(obj)) Panic.Fail("heap: parked entry's mark does not point at its allocated byte", obj);
    }

    // An object of this cache's per-CPU layers: an object boundary of one of its slabs, neither
    // allocated nor free there. Return: the address of its allocated byte.
    private readonly byte* ValidateFreeObject(ulong obj)
    {
        SlabDescriptor* d = _pages->SlabOf((void*)obj);
        if (d == null || d->Cache != ReadonlySelf) Panic.Fail("heap: parked entry is not an object of this cache", obj);
        ulong idx = SlabDescriptor.IndexOf(d, obj);
        if (idx >= d->Total) Panic.Fail("heap: parked entry is not an object boundary", obj);
        byte* a = SlabDescriptor.AllocBytes(d) + idx;
        if (*a != 0 || (SlabDescriptor.FreeBits(d)[idx >> 6] & (1UL << (int)idx)) != 0)
            Panic.Fail("heap: parked object is marked allocated or free", obj);
        return a;
    }

    private readonly ulong ValidateList(SlabDescriptor* head, int kind, ulong count, ref ulong allocated)
    {
        ulong n = 0, inUse = 0;
        SlabDescriptor* prev = null;
        for (SlabDescriptor* d = head; d != null; d = SlabDescriptor.Links(d)->Next)
        {
            if (d->Cache != ReadonlySelf) Panic.Fail("heap: slab on another cache's list", (ulong)d);
            if (SlabDescriptor.Links(d)->Prev != prev) Panic.Fail("heap: slab list back link broken", (ulong)d);
            if (d->Total != _objects || d->Inverse != _inverse || d->Shift != _shift) Panic.Fail("heap: slab geometry differs from its cache", (ulong)d);
            if (d->Owner != SlabDescriptor.Shared && (d->Owner >= Cpu.MaxCpus || d->InUse == 0)) Panic.Fail("heap: slab owned by no valid CPU, or an empty slab owned", (ulong)d);
            if (ListOf(d->Owner, d->InUse) != kind || d->InUse > d->Total) Panic.Fail("heap: slab on the wrong list for its owner and fill level", (ulong)d);
            byte* a = SlabDescriptor.AllocBytes(d);
            ulong* f = SlabDescriptor.FreeBits(d);
            ulong free = 0, alloc = 0;
            for (uint w = 0; w < _words; w++)
            {
                uint left = _objects - w * 64;
                ulong valid = left >= 64 ? ulong.MaxValue : (1UL << (int)left) - 1;
                if ((f[w] & ~valid) != 0) Panic.Fail("heap: bitmap bit past the last object", (ulong)d);
                free += (ulong)BitOperations.PopCount(f[w]);
            }
            for (uint i = 0; i < _objects; i++)
            {
                if (a[i] > 1) Panic.Fail("heap: allocated byte neither 0 nor 1", (ulong)d);
                if (a[i] == 0) continue;
                if ((f[i >> 6] & (1UL << (int)i)) != 0) Panic.Fail("heap: object both allocated and free", (ulong)d);
                alloc++;
            }
            for (uint i = _objects; i < SlabDescriptor.AllocBytesFor(_objects); i++)
                if (a[i] != 0) Panic.Fail("heap: allocated byte past the last object", (ulong)d);
            if (free != (ulong)(d->Total - d->InUse)) Panic.Fail("heap: free bits disagree with the slab's in-use count", (ulong)d);
            Pfn pfn = _pages->Source.PfnOf((void*)(d->Start - _leftPad));
            for (ulong k = 0; k < (1UL << (int)_order); k++)
                if (!_pages->TryOwner(pfn.Add(k), out ulong word) || word != (ulong)d) Panic.Fail("heap: a slab frame's owner word does not name the slab", pfn.Value + k);
            allocated += alloc;
            inUse += d->InUse;
            prev = d;
            if (++n > count) Panic.Fail("heap: slab list longer than its count", count);
        }
        if (n != count) Panic.Fail("heap: slab list shorter than its count", count);
        return inUse;
    }
}
