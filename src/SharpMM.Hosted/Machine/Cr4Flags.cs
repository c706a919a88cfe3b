using System;

namespace SharpMM.Hosted.Machine;

/// <summary>The CR4 bits the model gives meaning to (SDM vol. 3A, 2.5). Bits that would change
/// translation but are not modelled (LA57, PCIDE, SMEP, SMAP, PKE, CET) are refused when set.</summary>
[Flags]
public enum Cr4Flags : ulong
{
    /// <summary>No bit set.</summary>
    None = 0,
    /// <summary>PSE (bit 4): 4 MiB pages with 32-bit paging (PDE.PS is ignored without it).</summary>
    PageSizeExtensions = 1UL << 4,
    /// <summary>PAE (bit 5): PAE or 4-level paging.</summary>
    PhysicalAddressExtension = 1UL << 5,
    /// <summary>PGE (bit 7): honour the G bit; global TLB entries survive CR3 loads. Changing it
    /// flushes the whole TLB, global entries included (SDM 4.10.4.1).</summary>
    PageGlobalEnable = 1UL << 7,
}
