using System;
using SharpMM.Paging;

namespace SharpMM.Hosted.Machine;

/// <summary>
/// The library's <see cref="IArchHooks"/> on the model: CR3 loads, invlpg and full flushes go to
/// the <see cref="Mmu"/> and its TLB, so paging code run hosted is held to the invalidation rules
/// of SDM vol. 3A, 4.10.4. A struct so it can be a generic type argument (static dispatch).
/// </summary>
public readonly struct MmuArchHooks : IArchHooks
{
    private readonly Mmu _mmu;

    /// <summary>Hooks driving <paramref name="mmu"/>.</summary>
    public MmuArchHooks(Mmu mmu) => _mmu = mmu ?? throw new ArgumentNullException(nameof(mmu));

    /// <inheritdoc/>
    public ulong ReadCr3() => _mmu.Cr3 & _mmu.Cr3AddressMask;

    /// <inheritdoc/>
    public void WriteCr3(ulong topLevelTablePhys) => _mmu.WriteCr3(topLevelTablePhys);

    /// <inheritdoc/>
    public void InvalidatePage(ulong virtualAddress) => _mmu.InvalidatePage(virtualAddress);

    /// <inheritdoc/>
    public void FlushAll() => _mmu.FlushAll();

    /// <inheritdoc/>
    public bool HasInvalidatePage => _mmu.HasInvalidatePage;

    /// <inheritdoc/>
    public bool TryInvalidatePage(ulong virtualAddress) => _mmu.TryInvalidatePage(virtualAddress);
}
