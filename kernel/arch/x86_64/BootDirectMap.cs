using SharpMM.Boot;

namespace SharpMM.Kernel;

/// <summary>
/// The boot stub direct-maps [0, 4 GiB) at <see cref="Arch.DirectMapBase"/>. This extends the same
/// map (2 MiB pages, writable, cacheable) over RAM the firmware reports above 4 GiB, so code can touch all memory
/// before the library builds the kernel's own page tables (KernelAddressSpace), which replace
/// these tables in CR3; they are not used after that.
/// <code>
///   PML4[273] -> boot_pdpt[0..3]   PDs from boot.S                  0 - 4 GiB
///                boot_pdpt[4..63]  PDs from direct_map_pd_pool      4 - 64 GiB, filled here
/// </code>
/// direct_map_pd_pool (boot.S .bss) holds 60 page directories = 240 KiB: enough for 64 GiB of
/// physical address space. RAM above 64 GiB is left unmapped and reported (SkippedBytes). Only
/// RAM-like entries (usable, ACPI data, ACPI NVS) are mapped: a reserved range high up is usually
/// device memory and must not be mapped cacheable.
/// </summary>
internal static unsafe class BootDirectMap
{
    public const ulong IdentityLimit = 4UL << 30;
    public const ulong Limit = 64UL << 30;
    private const ulong LargePage = 2UL << 20;
    private const ulong Present = 1, Writable = 2, LargePageFlag = 1UL << 7;
    private const ulong AddressMask = 0x000FFFFFFFFFF000UL;

    /// <summary>One past the highest mapped address (at least 4 GiB).</summary>
    public static ulong End { get; private set; } = IdentityLimit;

    /// <summary>Bytes of RAM mapped above 4 GiB.</summary>
    public static ulong MappedBytes { get; private set; }

    /// <summary>Bytes of RAM above <see cref="Limit"/> that could not be mapped.</summary>
    public static ulong SkippedBytes { get; private set; }

    /// <summary>Page directories taken from the pool.</summary>
    public static int PageDirectoriesUsed { get; private set; }

    /// <summary>Maps every RAM-like entry of <paramref name="map"/> above 4 GiB, rounded out to
    /// 2 MiB. Idempotent. Reloads CR3 when anything changed.</summary>
    public static void Extend(in MemoryMap map)
    {
        ulong* pdpt = Arch.BootPdpt();
        ulong* pool = Arch.DirectMapPdPool();
        bool changed = false;
        for (int i = 0; i < map.Count; i++)
        {
            MemoryMapEntry e = map[i];
            if (e.Type != MemoryType.Usable && e.Type != MemoryType.AcpiData && e.Type != MemoryType.AcpiNvs) continue;
            if (e.End <= IdentityLimit) continue;
            ulong start = e.Start < IdentityLimit ? IdentityLimit : e.Start & ~(LargePage - 1);
            ulong end = e.End > ulong.MaxValue - (LargePage - 1) ? ulong.MaxValue & ~(LargePage - 1) : (e.End + LargePage - 1) & ~(LargePage - 1);
            if (end > Limit)
            {
                SkippedBytes += e.End - (e.Start > Limit ? e.Start : Limit);
                end = Limit;
            }
            for (ulong a = start; a < end; a += LargePage)
            {
                int pdptIndex = (int)(a >> 30);
                if ((pdpt[pdptIndex] & Present) == 0)
                {
                    ulong* pd = pool + (pdptIndex - 4) * 512;
                    pdpt[pdptIndex] = KernelImage.ToPhys((ulong)pd) | Present | Writable;
                    PageDirectoriesUsed++;
                }
                ulong* dir = (ulong*)Platform.DirectMap.ToVirt(pdpt[pdptIndex] & AddressMask);
                int pdIndex = (int)((a >> 21) & 511);
                if ((dir[pdIndex] & Present) == 0)
                {
                    dir[pdIndex] = a | Present | Writable | LargePageFlag;
                    MappedBytes += LargePage;
                    changed = true;
                }
                if (a + LargePage > End) End = a + LargePage;
            }
        }
        if (changed) Arch.WriteCr3(Arch.ReadCr3());
    }
}
