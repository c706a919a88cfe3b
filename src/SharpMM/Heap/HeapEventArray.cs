using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>Inline storage for <see cref="HeapDebug"/>'s event ring.</summary>
[InlineArray(HeapDebug.EventCapacity)]
public struct HeapEventArray
{
    private HeapEvent _first;
}
