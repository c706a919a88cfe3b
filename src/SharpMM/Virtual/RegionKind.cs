namespace SharpMM.Virtual;

/// <summary>What a region of an address-space layout holds.</summary>
public enum RegionKind : byte
{
    /// <summary>Never mapped: catches null pointers and wild addresses.</summary>
    Guard,
    /// <summary>Kernel text, data and bss.</summary>
    KernelImage,
    /// <summary>The kernel heap (kmalloc's large path, slabs when not direct-mapped).</summary>
    KernelHeap,
    /// <summary>Kernel stacks, growing down.</summary>
    KernelStack,
    /// <summary>The page tables as seen through the recursive self-map.</summary>
    PageTables,
    /// <summary>The page directory itself through the recursive self-map.</summary>
    PageDirectory,
    /// <summary>All RAM mapped at a fixed offset (the direct map).</summary>
    DirectMap,
    /// <summary>RAM identity-mapped (virtual == physical).</summary>
    IdentityMap,
    /// <summary>Virtually contiguous kernel allocations (vmalloc).</summary>
    Vmalloc,
    /// <summary>Device memory mappings (MMIO, ioremap): an address-space pool kept unmapped until used.</summary>
    DevicePool,
    /// <summary>Persistent object space (Phantom OS).</summary>
    ObjectSpace,
    /// <summary>User program text and data.</summary>
    UserText,
    /// <summary>User heap, growing up from the end of the data (brk).</summary>
    UserHeap,
    /// <summary>Shared libraries and anonymous mmap.</summary>
    SharedLibraries,
    /// <summary>User stack, growing down.</summary>
    UserStack,
    /// <summary>The mapping of high memory pages into kernel space on demand (kmap).</summary>
    HighMemWindow,
}

/// <summary>Names for <see cref="RegionKind"/> (freestanding: no Enum.ToString).</summary>
public static class RegionNames
{
    /// <summary>A short lowercase name, e.g. "kernel-heap".</summary>
    public static string Name(RegionKind k) => k switch
    {
        RegionKind.Guard => "guard",
        RegionKind.KernelImage => "kernel-image",
        RegionKind.KernelHeap => "kernel-heap",
        RegionKind.KernelStack => "kernel-stack",
        RegionKind.PageTables => "page-tables",
        RegionKind.PageDirectory => "page-directory",
        RegionKind.DirectMap => "direct-map",
        RegionKind.IdentityMap => "identity-map",
        RegionKind.Vmalloc => "vmalloc",
        RegionKind.DevicePool => "device-pool",
        RegionKind.ObjectSpace => "object-space",
        RegionKind.UserText => "user-text",
        RegionKind.UserHeap => "user-heap",
        RegionKind.SharedLibraries => "shared-libraries",
        RegionKind.UserStack => "user-stack",
        _ => "highmem-window",
    };
}
