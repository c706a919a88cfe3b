namespace SharpMM.Boot;

/// <summary>Why a physical range is reserved in <see cref="Memblock"/>; shown in dumps and JSON.</summary>
public enum ReservedFor : byte
{
    /// <summary>Not reserved / unknown.</summary>
    None = 0,
    /// <summary>Page 0, kept unmapped so null dereferences fault.</summary>
    PageZero,
    /// <summary>Low memory below 1 MiB, handed to the low-memory allocator instead of the buddy.</summary>
    LowMemory,
    /// <summary>The kernel image (text, data, bss).</summary>
    KernelImage,
    /// <summary>The boot information structure (Multiboot info).</summary>
    BootInfo,
    /// <summary>Boot modules (initrd and the like).</summary>
    Modules,
    /// <summary>The firmware memory map buffer.</summary>
    MemoryMap,
    /// <summary>Page-allocator metadata: frame descriptors, buddy bitmaps, section table.</summary>
    FrameMetadata,
    /// <summary>Page tables built at boot.</summary>
    PageTables,
    /// <summary>Kernel stacks.</summary>
    Stack,
    /// <summary>An allocation made through <see cref="Memblock.Allocate"/> by other boot code.</summary>
    BootAllocation,
    /// <summary>Reserved by the caller for a reason not listed.</summary>
    Other,
}

/// <summary>Names of <see cref="ReservedFor"/> values (freestanding: no Enum.ToString).</summary>
public static class ReservedForNames
{
    /// <summary>A short lowercase name, e.g. "kernel-image".</summary>
    public static string Name(ReservedFor r) => r switch
    {
        ReservedFor.PageZero => "page-zero",
        ReservedFor.LowMemory => "low-memory",
        ReservedFor.KernelImage => "kernel-image",
        ReservedFor.BootInfo => "boot-info",
        ReservedFor.Modules => "modules",
        ReservedFor.MemoryMap => "memory-map",
        ReservedFor.FrameMetadata => "frame-metadata",
        ReservedFor.PageTables => "page-tables",
        ReservedFor.Stack => "stack",
        ReservedFor.BootAllocation => "boot-allocation",
        ReservedFor.Other => "other",
        _ => "none",
    };

    /// <summary>The name for machine-readable output: <see cref="Name"/> in snake_case, e.g.
    /// "kernel_image".</summary>
    public static string JsonName(ReservedFor r) => r switch
    {
        ReservedFor.PageZero => "page_zero",
        ReservedFor.LowMemory => "low_memory",
        ReservedFor.KernelImage => "kernel_image",
        ReservedFor.BootInfo => "boot_info",
        ReservedFor.Modules => "modules",
        ReservedFor.MemoryMap => "memory_map",
        ReservedFor.FrameMetadata => "frame_metadata",
        ReservedFor.PageTables => "page_tables",
        ReservedFor.Stack => "stack",
        ReservedFor.BootAllocation => "boot_allocation",
        ReservedFor.Other => "other",
        _ => "none",
    };
}
