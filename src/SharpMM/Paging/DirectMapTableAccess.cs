using System.Runtime.CompilerServices;
using SharpMM.Addressing;

namespace SharpMM.Paging;

/// <summary>
/// Reaches every table frame through the direct map: pointer = <see cref="DirectMap.Offset"/> +
/// physical address. Hosted, the offset is the simulated RAM buffer; in the kernel, the base of
/// the direct map (or 0 under the boot identity map). Frames are reachable before they are
/// linked, so new tables are zeroed before they become visible to the page walker, and large
/// pages can be split. Nothing is reserved.
/// </summary>
public readonly unsafe struct DirectMapTableAccess : ITableAccess
{
    private readonly DirectMap _map;

    /// <summary>Access through <paramref name="map"/>.</summary>
    public DirectMapTableAccess(DirectMap map) { _map = map; }

    /// <summary>The direct map used.</summary>
    public DirectMap Map => _map;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Table(ulong tablePhys, int level, ulong va) => (byte*)(_map.Offset + tablePhys);
    /// <inheritdoc/>
    public byte* BeginUnlinked(ulong framePhys) => _map.ToVirt(framePhys);
    /// <inheritdoc/>
    public void EndUnlinked(ulong framePhys) { }
    /// <inheritdoc/>
    public void Linked(int level, ulong va) { }
    /// <inheritdoc/>
    public void Unlinked(int level, ulong va) { }
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool OverlapsReserved(ulong first, ulong last) => false;
    /// <inheritdoc/>
    public bool WithinReserved(ulong first, ulong last) => false;
}
