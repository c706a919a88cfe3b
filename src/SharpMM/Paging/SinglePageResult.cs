namespace SharpMM.Paging;

/// <summary>What a single-page Map or Unmap walk did: its status and what the caller's flush
/// token must ask for. One 32-bit field (the status in bits 7:0, the token's kinds above), so
/// that the JIT keeps it in a register: Map and Unmap build the token from it themselves, and
/// the token never needs an address on their common path.</summary>
internal readonly struct SinglePageResult
{
    private readonly uint _bits;

    public SinglePageResult(Status status, FlushToken.Kind kinds) => _bits = (uint)status | (uint)kinds << 8;

    public Status Status => (Status)(byte)_bits;
    public FlushToken.Kind Kinds => (FlushToken.Kind)(_bits >> 8);
}
