using System;

namespace SharpMM.Hosted.Machine;

/// <summary>The CR0 bits the model gives meaning to (SDM vol. 3A, 2.5). Other bits are stored
/// but have no effect.</summary>
[Flags]
public enum Cr0Flags : ulong
{
    /// <summary>No bit set.</summary>
    None = 0,
    /// <summary>PE (bit 0): protected mode. Stored only; paging does not require it in the model.</summary>
    ProtectionEnable = 1UL << 0,
    /// <summary>WP (bit 16): supervisor writes honour R/W = 0 (SDM 4.6).</summary>
    WriteProtect = 1UL << 16,
    /// <summary>PG (bit 31): paging on. Changing it flushes the whole TLB.</summary>
    Paging = 1UL << 31,
}
