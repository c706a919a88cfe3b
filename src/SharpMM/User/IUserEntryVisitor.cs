namespace SharpMM.User;

/// <summary>Receives the non-zero level-0 entries of a user half (<c>AddressSpace.VisitEntries</c>).</summary>
public interface IUserEntryVisitor
{
    /// <summary>The entry for the page at <paramref name="va"/>: present, or a swap entry.</summary>
    void Entry(ulong va, ulong entry);
}
