using SharpMM.Addressing;

namespace SharpMM.Physical;

/// <summary>Receives the free ranges memblock hands over when the page allocator takes over
/// (implemented by the allocators here, called by Boot's memblock).</summary>
public interface IFreeRangeSink
{
    /// <summary>Frames [<paramref name="start"/>, <paramref name="end"/>) are free RAM and now belong to the receiver.</summary>
    void AddFreeRange(Pfn start, Pfn end);
}
