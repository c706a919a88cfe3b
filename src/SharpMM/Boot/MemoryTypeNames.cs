using SharpMM.Diagnostics;

namespace SharpMM.Boot;

/// <summary>Names for <see cref="MemoryType"/> values, allocation-free.</summary>
public static class MemoryTypeNames
{
    /// <summary>
    /// Writes the type as Linux's e820 table printed it before 6.16 (and as
    /// <see cref="BootLogParser"/> reads it back): "usable", "reserved", "ACPI data", "ACPI NVS",
    /// "unusable", "persistent (type 7)", "persistent (type 12)", "soft reserved", otherwise
    /// "type N" (N in decimal).
    /// </summary>
    public static void Write<TSink>(ref TextWriter<TSink> w, MemoryType t) where TSink : struct, ITextSink
    {
        switch (t)
        {
            case MemoryType.Usable: w.Str("usable"); break;
            case MemoryType.Reserved: w.Str("reserved"); break;
            case MemoryType.AcpiData: w.Str("ACPI data"); break;
            case MemoryType.AcpiNvs: w.Str("ACPI NVS"); break;
            case MemoryType.Unusable: w.Str("unusable"); break;
            case MemoryType.SoftReserved: w.Str("soft reserved"); break;
            case MemoryType.Persistent:
            case MemoryType.PersistentLegacy:
                w.Str("persistent (type "); w.Dec((ulong)t); w.Char(')');
                break;
            default:
                w.Str("type "); w.Dec((ulong)t);
                break;
        }
    }

    /// <summary>
    /// A stable snake_case name for machine-readable output: "usable", "reserved", "acpi_data",
    /// "acpi_nvs", "unusable", "persistent" (types 7 and 12), "soft_reserved", and "other" for
    /// every other number (disabled, vendor and unknown types), which a consumer should pair with
    /// the numeric type.
    /// </summary>
    public static string JsonName(MemoryType t) => t switch
    {
        MemoryType.Usable => "usable",
        MemoryType.Reserved => "reserved",
        MemoryType.AcpiData => "acpi_data",
        MemoryType.AcpiNvs => "acpi_nvs",
        MemoryType.Unusable => "unusable",
        MemoryType.Persistent => "persistent",
        MemoryType.PersistentLegacy => "persistent",
        MemoryType.SoftReserved => "soft_reserved",
        _ => "other",
    };
}
