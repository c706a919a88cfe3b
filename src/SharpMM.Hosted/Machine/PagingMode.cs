namespace SharpMM.Hosted.Machine;

/// <summary>
/// The paging mode the control registers select (Intel SDM vol. 3A, 4.1.1, Table 4-1):
/// CR0.PG = 0: none; CR4.PAE = 0: 32-bit; EFER.LME = 0: PAE; otherwise 4-level.
/// 5-level paging (CR4.LA57) is not modelled.
/// </summary>
public enum PagingMode
{
    /// <summary>CR0.PG = 0: linear addresses are physical addresses (32 bits wide).</summary>
    Disabled,
    /// <summary>32-bit paging (SDM 4.3): two levels of 1024 four-byte entries, 4 MiB pages with CR4.PSE.</summary>
    Bits32,
    /// <summary>PAE paging (SDM 4.4): four PDPTE registers, then two levels of 512 eight-byte entries, 2 MiB pages.</summary>
    Pae,
    /// <summary>4-level paging (SDM 4.5): 48-bit canonical linear addresses, 2 MiB and 1 GiB pages.</summary>
    FourLevel,
}
