namespace SharpMM.Hosted.Machine;

/// <summary>A translation's result and physical address as one value: 16 bytes, returned in two
/// registers, so the out-of-line paths need no address-taken out parameter.</summary>
internal readonly struct Translation
{
    public readonly ulong PhysicalAddress;
    public readonly TranslationResult Result;

    public Translation(ulong physicalAddress, TranslationResult result)
    {
        PhysicalAddress = physicalAddress;
        Result = result;
    }
}
