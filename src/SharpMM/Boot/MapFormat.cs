namespace SharpMM.Boot;

/// <summary>The input formats <see cref="MapLoader"/> recognises.</summary>
public enum MapFormat : byte
{
    /// <summary>Not recognised.</summary>
    Unknown = 0,
    /// <summary>Linux boot-log text with e820 table lines (<see cref="BootLogParser"/>).</summary>
    BootLog,
    /// <summary>A whole Multiboot 2 boot-information structure.</summary>
    Multiboot2Info,
    /// <summary>A bare Multiboot 2 memory-map tag (type 6).</summary>
    Multiboot2MemoryMapTag,
    /// <summary>A Multiboot 1 mmap buffer (size-prefixed entries).</summary>
    Multiboot1Mmap,
    /// <summary>Bare 20-byte E820 entries.</summary>
    E820Entries20,
    /// <summary>Bare 24-byte E820 entries with ACPI 3.0 extended attributes.</summary>
    E820Entries24,
}
