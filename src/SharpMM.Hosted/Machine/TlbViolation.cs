namespace SharpMM.Hosted.Machine;

/// <summary>
/// A translation served from the TLB after an entry it was built from changed in RAM without an
/// invalidation (invlpg, CR3 load, full flush) in between: the bug the model exists to catch.
/// </summary>
/// <param name="VirtualAddress">The linear address of the access that used the stale translation.</param>
/// <param name="Kind">How the tables now differ.</param>
/// <param name="Access">The access.</param>
/// <param name="Level">The changed entry's level, 1 = PTE .. 4 = PML4E (the highest changed one).</param>
/// <param name="EntryAddress">Physical address of the changed entry.</param>
/// <param name="CachedValue">Its value when the translation was cached.</param>
/// <param name="CurrentValue">Its value now.</param>
public readonly record struct TlbViolation(
    ulong VirtualAddress, StaleKind Kind, AccessKind Access, int Level,
    ulong EntryAddress, ulong CachedValue, ulong CurrentValue)
{
    /// <summary>One line naming the address, the entry and both values.</summary>
    public override string ToString() => Kind == StaleKind.PdpteNotReloaded
        ? $"PDPTE at physical 0x{EntryAddress:x} changed in memory without a CR3 load: the walk for linear 0x{VirtualAddress:x} used the register value 0x{CachedValue:x}, memory holds 0x{CurrentValue:x}"
        : $"translation used after its entry changed without invalidation: linear 0x{VirtualAddress:x} ({Access}, {Kind}); the {EntryBits.LevelName(Level)} at physical 0x{EntryAddress:x} was 0x{CachedValue:x} when cached, now 0x{CurrentValue:x}";
}
