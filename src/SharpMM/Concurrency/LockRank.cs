namespace SharpMM.Concurrency;

/// <summary>
/// The one lock order of the library (docs/architecture.md, "Locks"): a CPU may take a lock only
/// while every lock it holds has a lower rank. Locks of one kind (the zone locks of two zones) share
/// a rank, so no CPU holds two of them at once. Gaps leave room for new kinds between old ones.
/// </summary>
public enum LockRank : byte
{
    /// <summary>No rank: a lock that was never initialised (taking it panics).</summary>
    None = 0,
    /// <summary>An address space's regions (Linux's mmap_lock): region changes and faults.</summary>
    AddressSpace = 10,
    /// <summary>An address space's page tables (Linux's page_table_lock), one per space. Never
    /// two taken by waiting: a CPU that holds one takes another space's only with a try-lock
    /// (reclaim skips a busy space, as Linux's shrinkers do), or a space no other CPU knows yet
    /// (fork's child).</summary>
    PageTables = 20,
    /// <summary>User memory's state shared between spaces: user frames' mapping counts, swap
    /// slots, the registry and the clock's hand, the counters.</summary>
    UserFrames = 25,
    /// <summary>The kernel's virtual address ranges (vmalloc, device mappings).</summary>
    KernelVirtual = 30,
    /// <summary>A CPU's inbox in a slab cache: objects of its slabs freed on other CPUs
    /// (<see cref="SharpMM.Heap.Inbox"/>). Before the cache lock: a drain empties an inbox
    /// into the slabs holding both.</summary>
    SlabInbox = 35,
    /// <summary>A slab cache's shared lists (partial, full, empty slabs).</summary>
    SlabCache = 40,
    /// <summary>The kernel heap's large-allocation and page lists.</summary>
    HeapPages = 45,
    /// <summary>A zone of the buddy allocator (free lists, counters).</summary>
    Zone = 50,
    /// <summary>The low-memory and other single-pool frame allocators.</summary>
    FramePool = 55,
    /// <summary>The frame table's owner marks when they change outside an allocator lock.</summary>
    FrameTable = 60,
    /// <summary>Shootdown bookkeeping (the sender's slot while it waits).</summary>
    Shootdown = 70,
    /// <summary>Test and diagnostic locks, innermost (a log line may be printed under any lock).</summary>
    Diagnostics = 90,
}

/// <summary>Names of the ranks, for panics and lock statistics.</summary>
public static class LockNames
{
    /// <summary>The rank's name (a string literal: usable in the kernel).</summary>
    public static string Name(LockRank rank) => rank switch
    {
        LockRank.AddressSpace => "address-space",
        LockRank.PageTables => "page-tables",
        LockRank.UserFrames => "user-frames",
        LockRank.KernelVirtual => "kernel-virtual",
        LockRank.SlabInbox => "slab-inbox",
        LockRank.SlabCache => "slab-cache",
        LockRank.HeapPages => "heap-pages",
        LockRank.Zone => "zone",
        LockRank.FramePool => "frame-pool",
        LockRank.FrameTable => "frame-table",
        LockRank.Shootdown => "shootdown",
        LockRank.Diagnostics => "diagnostics",
        _ => "unranked",
    };

    /// <summary>The rank's name as a JSON member (snake_case, as every JSON name of the project).</summary>
    public static string JsonName(LockRank rank) => rank switch
    {
        LockRank.AddressSpace => "address_space",
        LockRank.PageTables => "page_tables",
        LockRank.KernelVirtual => "kernel_virtual",
        LockRank.SlabInbox => "slab_inbox",
        LockRank.SlabCache => "slab_cache",
        LockRank.HeapPages => "heap_pages",
        LockRank.Zone => "zone",
        LockRank.FramePool => "frame_pool",
        LockRank.UserFrames => "user_frames",
        LockRank.FrameTable => "frame_table",
        LockRank.Shootdown => "shootdown",
        LockRank.Diagnostics => "diagnostics",
        _ => "unranked",
    };
}
