namespace SharpMM.Boot;

/// <summary>
/// Firmware memory types as E820 (and Multiboot 1/2, which reuse the numbering) define them.
/// Any other 32-bit value is kept as is and printed as "type N". When entries overlap, the
/// higher number wins (Linux's rule: every non-RAM type is more restrictive than RAM).
/// </summary>
public enum MemoryType : uint
{
    /// <summary>Usable RAM ("usable", "System RAM").</summary>
    Usable = 1,
    /// <summary>Reserved by firmware or chipset ("reserved", "device reserved").</summary>
    Reserved = 2,
    /// <summary>ACPI tables, reclaimable once parsed ("ACPI data").</summary>
    AcpiData = 3,
    /// <summary>ACPI non-volatile storage, must be preserved ("ACPI NVS").</summary>
    AcpiNvs = 4,
    /// <summary>Memory with detected errors ("unusable").</summary>
    Unusable = 5,
    /// <summary>Disabled memory (ACPI 6).</summary>
    Disabled = 6,
    /// <summary>Persistent memory (ACPI 6 PMEM; Linux prints "persistent (type 7)").</summary>
    Persistent = 7,
    /// <summary>Legacy persistent RAM ("persistent (type 12)").</summary>
    PersistentLegacy = 12,
    /// <summary>Soft-reserved memory (EFI_MEMORY_SP, "soft reserved"): RAM set aside for a driver.
    /// Linux's E820_TYPE_SOFT_RESERVED; as the highest number it wins every overlap.</summary>
    SoftReserved = 0xefffffff,
}
