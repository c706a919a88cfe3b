namespace SharpMM.Hosted.Machine;

/// <summary>What <see cref="Mmu.Translate"/> produced.</summary>
public enum TranslationResult
{
    /// <summary>The access may proceed at the physical address returned.</summary>
    Ok,
    /// <summary>A page fault (#PF): CR2 and <see cref="Mmu.LastFault"/> hold the address and error code.</summary>
    PageFault,
    /// <summary>A general-protection exception (#GP): a non-canonical address in 4-level mode, or an
    /// address above 4 GiB in a 32-bit mode. CR2 is unchanged; no page fault is delivered.</summary>
    GeneralProtection,
}
