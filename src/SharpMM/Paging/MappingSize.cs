namespace SharpMM.Paging;

/// <summary>
/// The size of one mapping (one leaf entry), named by its byte count; the value is log2 of the
/// size, so <c>1UL &lt;&lt; (int)size</c> is the byte count. Which sizes a format can map is
/// <see cref="IPagingFormat.CanBeLeaf"/> at the level whose <see cref="IPagingFormat.IndexShift"/>
/// equals the value: 4 KiB everywhere; 4 MiB on 32-bit x86 (PSE) and Sv32; 2 MiB on PAE, x86-64
/// and Sv39; 1 GiB on x86-64 and Sv39. (Named apart from <c>SharpMM.Addressing.PageSize</c>, the
/// base-page constants.)
/// </summary>
public enum MappingSize : byte
{
    /// <summary>4 KiB: a base page (a PTE on x86, a level-0 leaf on RISC-V).</summary>
    Size4KiB = 12,
    /// <summary>2 MiB: a PDE with PS on PAE and x86-64, a level-1 leaf on Sv39.</summary>
    Size2MiB = 21,
    /// <summary>4 MiB: a PDE with PS on 32-bit x86 (CR4.PSE), a level-1 leaf (megapage) on Sv32.</summary>
    Size4MiB = 22,
    /// <summary>1 GiB: a PDPTE with PS on x86-64 (needs CPUID pdpe1gb), a level-2 leaf (gigapage) on Sv39.</summary>
    Size1GiB = 30,
}
