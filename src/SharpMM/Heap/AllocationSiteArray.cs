using System.Runtime.CompilerServices;

namespace SharpMM.Heap;

/// <summary>Inline storage for <see cref="HeapDebug"/>'s site table.</summary>
[InlineArray(HeapDebug.SiteCapacity)]
public struct AllocationSiteArray
{
    private AllocationSite _first;
}
