namespace SharpMM.User.Linux;

/// <summary>mmap's and mprotect's PROT_* bits (include/uapi/asm-generic/mman-common.h).</summary>
public static class LinuxProt
{
    /// <summary>No access.</summary>
    public const ulong PROT_NONE = 0;
    /// <summary>Readable.</summary>
    public const ulong PROT_READ = 0x1;
    /// <summary>Writable.</summary>
    public const ulong PROT_WRITE = 0x2;
    /// <summary>Executable.</summary>
    public const ulong PROT_EXEC = 0x4;
    /// <summary>Usable for atomic operations (accepted, no effect on x86).</summary>
    public const ulong PROT_SEM = 0x8;
    /// <summary>mprotect: extend the change down to the start of a grows-down (stack) region.</summary>
    public const ulong PROT_GROWSDOWN = 0x01000000;
    /// <summary>mprotect: extend the change up to the end of a grows-up region (none on x86).</summary>
    public const ulong PROT_GROWSUP = 0x02000000;
}

/// <summary>mmap's MAP_* flags as x86-64 and i386 define them (asm-generic/mman-common.h,
/// linux/mman.h, asm/mman.h).</summary>
public static class LinuxMap
{
    /// <summary>Share changes with other mappings of the object (and forked children).</summary>
    public const ulong MAP_SHARED = 0x01;
    /// <summary>Changes are private (copy-on-write).</summary>
    public const ulong MAP_PRIVATE = 0x02;
    /// <summary>MAP_SHARED, and unknown flags are refused (EOPNOTSUPP) instead of ignored.</summary>
    public const ulong MAP_SHARED_VALIDATE = 0x03;
    /// <summary>The mapping type's bits.</summary>
    public const ulong MAP_TYPE = 0x0f;
    /// <summary>Exactly at addr, replacing what is there.</summary>
    public const ulong MAP_FIXED = 0x10;
    /// <summary>Not backed by a file: zero-filled.</summary>
    public const ulong MAP_ANONYMOUS = 0x20;
    /// <summary>x86-64: in the first 2 GiB (placed in [1 GiB, 2 GiB)).</summary>
    public const ulong MAP_32BIT = 0x40;
    /// <summary>A stack-like segment (accepted; mapped as a plain region here).</summary>
    public const ulong MAP_GROWSDOWN = 0x0100;
    /// <summary>Ignored (as Linux does).</summary>
    public const ulong MAP_DENYWRITE = 0x0800;
    /// <summary>Ignored (as Linux does).</summary>
    public const ulong MAP_EXECUTABLE = 0x1000;
    /// <summary>Pages locked in memory: populated here, never locked.</summary>
    public const ulong MAP_LOCKED = 0x2000;
    /// <summary>No swap reservation (there is none to skip).</summary>
    public const ulong MAP_NORESERVE = 0x4000;
    /// <summary>Populate the pages now.</summary>
    public const ulong MAP_POPULATE = 0x8000;
    /// <summary>With MAP_POPULATE: do not populate.</summary>
    public const ulong MAP_NONBLOCK = 0x10000;
    /// <summary>A thread stack (no effect).</summary>
    public const ulong MAP_STACK = 0x20000;
    /// <summary>Huge pages (not supported: EINVAL).</summary>
    public const ulong MAP_HUGETLB = 0x40000;
    /// <summary>Synchronous page faults for DAX files (only with MAP_SHARED_VALIDATE).</summary>
    public const ulong MAP_SYNC = 0x80000;
    /// <summary>Like MAP_FIXED, but EEXIST instead of replacing.</summary>
    public const ulong MAP_FIXED_NOREPLACE = 0x100000;
    /// <summary>Skip zeroing (needs a kernel configured for it; ignored).</summary>
    public const ulong MAP_UNINITIALIZED = 0x4000000;
    /// <summary>The huge page size's bits (MAP_HUGE_SHIFT 26, 6 bits).</summary>
    public const ulong MAP_HUGE_MASK = 0x3FUL << 26;

    /// <summary>The flags Linux knows besides the type (LEGACY_MAP_MASK): what
    /// MAP_SHARED_VALIDATE accepts for a file without MAP_SYNC support.</summary>
    public const ulong LegacyMask = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE
        | MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK
        | MAP_HUGETLB | MAP_32BIT | MAP_HUGE_MASK;
}

/// <summary>mremap's flags (include/uapi/linux/mman.h).</summary>
public static class LinuxMremap
{
    /// <summary>The mapping may move when it cannot grow in place.</summary>
    public const ulong MREMAP_MAYMOVE = 1;
    /// <summary>Move to new_address exactly, replacing what is there (needs MAYMOVE).</summary>
    public const ulong MREMAP_FIXED = 2;
    /// <summary>Move the pages but keep the old range mapped, empty (needs MAYMOVE and equal lengths).</summary>
    public const ulong MREMAP_DONTUNMAP = 4;
}

/// <summary>madvise's advice values (include/uapi/asm-generic/mman-common.h).</summary>
public static class LinuxMadv
{
    /// <summary>No special treatment.</summary>
    public const int MADV_NORMAL = 0;
    /// <summary>Expect random references.</summary>
    public const int MADV_RANDOM = 1;
    /// <summary>Expect sequential references.</summary>
    public const int MADV_SEQUENTIAL = 2;
    /// <summary>Will need these pages.</summary>
    public const int MADV_WILLNEED = 3;
    /// <summary>Drop the pages: the next touch refills them (zero, or the file's bytes).</summary>
    public const int MADV_DONTNEED = 4;
    /// <summary>The pages may be freed (private anonymous memory only).</summary>
    public const int MADV_FREE = 8;
    /// <summary>Free a shared object's pages and backing store.</summary>
    public const int MADV_REMOVE = 9;
    /// <summary>Do not inherit across fork.</summary>
    public const int MADV_DONTFORK = 10;
    /// <summary>Inherit across fork again.</summary>
    public const int MADV_DOFORK = 11;
    /// <summary>KSM may merge identical pages.</summary>
    public const int MADV_MERGEABLE = 12;
    /// <summary>KSM may not merge.</summary>
    public const int MADV_UNMERGEABLE = 13;
    /// <summary>Worth backing with transparent huge pages.</summary>
    public const int MADV_HUGEPAGE = 14;
    /// <summary>Not worth backing with huge pages.</summary>
    public const int MADV_NOHUGEPAGE = 15;
    /// <summary>Leave out of a core dump.</summary>
    public const int MADV_DONTDUMP = 16;
    /// <summary>Put back into core dumps.</summary>
    public const int MADV_DODUMP = 17;
    /// <summary>Zero-filled in a forked child.</summary>
    public const int MADV_WIPEONFORK = 18;
    /// <summary>Undo MADV_WIPEONFORK.</summary>
    public const int MADV_KEEPONFORK = 19;
    /// <summary>Deactivate the pages (reclaim them first).</summary>
    public const int MADV_COLD = 20;
    /// <summary>Reclaim the pages now.</summary>
    public const int MADV_PAGEOUT = 21;
    /// <summary>Populate (prefault) readable.</summary>
    public const int MADV_POPULATE_READ = 22;
    /// <summary>Populate (prefault) writable.</summary>
    public const int MADV_POPULATE_WRITE = 23;
}
