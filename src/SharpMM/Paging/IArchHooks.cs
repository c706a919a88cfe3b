namespace SharpMM.Paging;

/// <summary>
/// The CPU operations paging code needs, behind a struct type parameter so the portable code
/// never contains an instruction: the kernel implements them with CR3 moves and invlpg; the
/// hosted machine implements them against its MMU and TLB model.
/// </summary>
public interface IArchHooks
{
    /// <summary>Reads CR3 (the physical address of the top-level table, flags masked off).</summary>
    ulong ReadCr3();
    /// <summary>Loads CR3, which flushes every non-global TLB entry.</summary>
    void WriteCr3(ulong topLevelTablePhys);
    /// <summary>Invalidates the TLB entry for the page containing <paramref name="virtualAddress"/>
    /// (invlpg; also removes a global entry).</summary>
    void InvalidatePage(ulong virtualAddress);
    /// <summary>Flushes every TLB entry, global ones included (toggle CR4.PGE on x86).</summary>
    void FlushAll();
    /// <summary>False on an i386 without invlpg: single-page invalidation must reload CR3.</summary>
    bool HasInvalidatePage { get; }
    /// <summary><see cref="InvalidatePage"/> when the hooks can do it at once (true); false, with
    /// nothing done, otherwise (no invlpg, or a way the hooks prefer not to take inline), and the
    /// caller takes the general path (<see cref="HasInvalidatePage"/>, <see cref="InvalidatePage"/>).
    /// What a single-page flush tries first: one call instead of a question and an order.
    /// <paramref name="virtualAddress"/> is an address in the page; its offset bits may be set
    /// (invlpg takes any address in the page).</summary>
    bool TryInvalidatePage(ulong virtualAddress);
}
