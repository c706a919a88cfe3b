namespace SharpMM.Physical;

/// <summary>
/// How physical memory is split into zones: up to four consecutive zones covering [0, 2^64),
/// each ending at a boundary that is a multiple of 4 MiB (the largest buddy block, so no block
/// straddles two zones), plus which zone each <see cref="MemoryClass"/> may reach.
///
/// <code>
///  X86_64 (default)     0 ---- 16 MiB ------ 4 GiB ---------------------->
///                         DMA        DMA32          Normal
///  I386 (3G/1G split)   0 ---- 16 MiB ------ 896 MiB --------------------->
///                         DMA        Normal          HighMem (not direct-mapped)
///  LowHigh (2G/2G)      0 ---- 16 MiB ------ 2 GiB (i386-low-2g: 1920 MiB) ->
///                         DMA        Low             HighMem
///  Flat                 0 ----------------------------------------------->
///                         Normal (one zone: benchmarks, small tests)
/// </code>
/// </summary>
public unsafe struct ZoneLayout
{
    /// <summary>Most zones a layout may have.</summary>
    public const int MaxZones = 4;

    private fixed ulong _endPfn[MaxZones];
    private fixed byte _kind[MaxZones];
    private fixed byte _classZone[4];
    private int _count;

    /// <summary>Number of zones.</summary>
    public readonly int Count => _count;

    /// <summary>Kind of zone <paramref name="i"/>.</summary>
    public readonly ZoneKind Kind(int i) => (ZoneKind)_kind[i];

    /// <summary>One past the last frame of zone <paramref name="i"/> (the last zone: 2^64 / 4 KiB).</summary>
    public readonly ulong EndPfn(int i) => _endPfn[i];

    /// <summary>First frame of zone <paramref name="i"/>.</summary>
    public readonly ulong StartPfn(int i) => i == 0 ? 0 : _endPfn[i - 1];

    /// <summary>The highest zone index an allocation of class <paramref name="c"/> may use.</summary>
    public readonly int HighestZoneFor(MemoryClass c) => _classZone[(int)c];

    private void Add(ZoneKind kind, ulong endBytes)
    {
        _kind[_count] = (byte)kind;
        _endPfn[_count] = endBytes >> 12;
        _count++;
    }

    private void Classes(int dma, int dma32, int kernel, int user)
    {
        _classZone[0] = (byte)dma; _classZone[1] = (byte)dma32; _classZone[2] = (byte)kernel; _classZone[3] = (byte)user;
    }

    private const ulong Unbounded = 1UL << 52;

    /// <summary>x86-64: DMA below 16 MiB, DMA32 below 4 GiB, Normal above.</summary>
    public static ZoneLayout X86_64()
    {
        ZoneLayout l = default;
        l.Add(ZoneKind.Dma, 16UL << 20);
        l.Add(ZoneKind.Dma32, 4UL << 30);
        l.Add(ZoneKind.Normal, Unbounded);
        l.Classes(0, 1, 2, 2);
        return l;
    }

    /// <summary>A 32-bit higher-half kernel with a direct map of <paramref name="directMapLimitBytes"/>
    /// (896 MiB for the classic 3G/1G split): DMA, Normal, then HighMem above the limit.
    /// The limit must be a multiple of 4 MiB above 16 MiB.</summary>
    public static ZoneLayout I386(ulong directMapLimitBytes = 896UL << 20)
    {
        if ((directMapLimitBytes & ((4UL << 20) - 1)) != 0 || directMapLimitBytes <= (16UL << 20))
            Panic.Fail("ZoneLayout.I386: direct-map limit must be a multiple of 4 MiB above 16 MiB", directMapLimitBytes);
        ZoneLayout l = default;
        l.Add(ZoneKind.Dma, 16UL << 20);
        l.Add(ZoneKind.Normal, directMapLimitBytes);
        l.Add(ZoneKind.HighMem, Unbounded);
        l.Classes(0, 1, 1, 2);
        return l;
    }

    /// <summary>The 2G/2G split's layout: a Low zone below <paramref name="lowLimitBytes"/> (2 GiB
    /// by default; i386-low-2g's linear map ends at 1920 MiB), DMA carved out below 16 MiB, and a
    /// HighMem zone above. The limit must be a multiple of 4 MiB above 16 MiB.</summary>
    public static ZoneLayout LowHigh(ulong lowLimitBytes = 2UL << 30)
    {
        if ((lowLimitBytes & ((4UL << 20) - 1)) != 0 || lowLimitBytes <= (16UL << 20))
            Panic.Fail("ZoneLayout.LowHigh: the Low zone's limit must be a multiple of 4 MiB above 16 MiB", lowLimitBytes);
        ZoneLayout l = default;
        l.Add(ZoneKind.Dma, 16UL << 20);
        l.Add(ZoneKind.Low, lowLimitBytes);
        l.Add(ZoneKind.HighMem, Unbounded);
        l.Classes(0, 1, 1, 2);
        return l;
    }

    /// <summary>One Normal zone over everything (benchmarks and small tests).</summary>
    public static ZoneLayout Flat()
    {
        ZoneLayout l = default;
        l.Add(ZoneKind.Normal, Unbounded);
        l.Classes(0, 0, 0, 0);
        return l;
    }
}
