namespace SharpMM.Physical;

/// <summary>What a zone is for; decides its name in reports.</summary>
public enum ZoneKind : byte
{
    /// <summary>Below 16 MiB: ISA DMA can reach it.</summary>
    Dma,
    /// <summary>Below 4 GiB: 32-bit DMA devices can reach it.</summary>
    Dma32,
    /// <summary>Directly mapped kernel memory.</summary>
    Normal,
    /// <summary>The low, identity-mapped zone of a two-zone 32-bit layout.</summary>
    Low,
    /// <summary>Above the direct-map limit of a 32-bit kernel: mapped on demand.</summary>
    HighMem,
}

/// <summary>Where an allocation may come from; each layout maps a class to the highest zone
/// it may use, and allocation falls back to lower zones from there (as GFP zone modifiers do).</summary>
public enum MemoryClass : byte
{
    /// <summary>ISA DMA: below 16 MiB.</summary>
    Dma = 0,
    /// <summary>32-bit DMA: below 4 GiB.</summary>
    Dma32 = 1,
    /// <summary>Kernel memory: must be directly mapped.</summary>
    Kernel = 2,
    /// <summary>User pages: any zone, high memory first.</summary>
    User = 3,
}

/// <summary>Zone and class names (freestanding: no Enum.ToString).</summary>
public static class ZoneNames
{
    /// <summary>The zone's name as Linux prints it ("DMA", "DMA32", "Normal", "HighMem").</summary>
    public static string Name(ZoneKind k) => k switch
    {
        ZoneKind.Dma => "DMA",
        ZoneKind.Dma32 => "DMA32",
        ZoneKind.Normal => "Normal",
        ZoneKind.Low => "Low",
        _ => "HighMem",
    };
}
