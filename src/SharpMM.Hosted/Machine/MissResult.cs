namespace SharpMM.Hosted.Machine;

/// <summary>What the model's TLB-miss path found for one access: the result and the physical
/// address as one value of 16 bytes, returned in two registers, so the out-of-line paths need no
/// address-taken out parameter.</summary>
internal readonly struct MissResult
{
    public readonly ulong PhysicalAddress;
    public readonly TranslationResult Result;

    public MissResult(ulong physicalAddress, TranslationResult result)
    {
        PhysicalAddress = physicalAddress;
        Result = result;
    }
}
