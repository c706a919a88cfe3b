using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>Inline storage for a magazine's entries.</summary>
[InlineArray(Magazine.MaxCapacity)]
public struct MagazineSlots
{
    private MagazineEntry _first;
}
