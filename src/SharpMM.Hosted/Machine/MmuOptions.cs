namespace SharpMM.Hosted.Machine;

/// <summary>The fixed properties of the modelled CPU (what CPUID would report).</summary>
public sealed record MmuOptions
{
    /// <summary>MAXPHYADDR, 36..52 (CPUID 80000008H:EAX[7:0]). Entry bits from here to 51 (62 with
    /// PAE) are reserved. Default 46, a server core; QEMU's TCG default is 40.</summary>
    public int MaxPhysicalAddressBits { get; init; } = 46;
    /// <summary>1 GiB pages (CPUID 80000001H:EDX[26]); without them PDPTE.PS = 1 is a reserved-bit fault.</summary>
    public bool Supports1GiBPages { get; init; } = true;
    /// <summary>invlpg exists (false models an i386: <see cref="Mmu.InvalidatePage"/> then throws, as #UD).</summary>
    public bool HasInvalidatePage { get; init; } = true;
    /// <summary>Serve the common 4-level TLB miss (a 4 KiB page, every entry present and valid,
    /// the non-leaf entries already accessed, the access allowed) with the fast walk; anything
    /// else takes the general walker either way. The results, counters and RAM updates are the
    /// same without it, which tests check; default true.</summary>
    public bool FastWalk { get; init; } = true;
    /// <summary>TLB array sizes.</summary>
    public TlbGeometry Tlb { get; init; } = TlbGeometry.Default;
}
