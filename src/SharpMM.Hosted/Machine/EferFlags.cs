using System;

namespace SharpMM.Hosted.Machine;

/// <summary>The IA32_EFER bits the model gives meaning to (SDM vol. 3A, 2.2.1).</summary>
[Flags]
public enum EferFlags : ulong
{
    /// <summary>No bit set.</summary>
    None = 0,
    /// <summary>LME (bit 8): with CR4.PAE and CR0.PG, 4-level paging. Cannot change while paging is on.</summary>
    LongModeEnable = 1UL << 8,
    /// <summary>LMA (bit 10): read-only, set while LME and PG are both 1. Ignored on write.</summary>
    LongModeActive = 1UL << 10,
    /// <summary>NXE (bit 11): bit 63 of PAE and 4-level entries is execute-disable; without it the
    /// bit is reserved.</summary>
    NoExecuteEnable = 1UL << 11,
}
