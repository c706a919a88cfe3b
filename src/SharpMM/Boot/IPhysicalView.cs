namespace SharpMM.Boot;

/// <summary>
/// How a parser of firmware tables reaches physical memory: the kernel through its direct map,
/// tests through a byte array standing in for low memory. A view refuses (returns null) a range
/// it cannot reach, and the parser turns that into a status; it never reads outside a range it
/// was given.
/// </summary>
public unsafe interface IPhysicalView
{
    /// <summary>A pointer to [<paramref name="phys"/>, <paramref name="phys"/> + <paramref name="byteCount"/>),
    /// or null when the range (or part of it) is out of reach.</summary>
    byte* Map(ulong phys, ulong byteCount);
}
