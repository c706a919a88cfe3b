namespace SharpMM.Addressing;

/// <summary>
/// How the library reaches physical memory: virt = Offset + phys. Hosted, Offset is the address
/// of the native buffer that stands for RAM; in the kernel it is the direct-map base. Nothing
/// else in the library knows which target it runs on. Passed by value to every object that
/// touches memory (several simulated machines may live in one process).
/// </summary>
public readonly unsafe struct DirectMap
{
    /// <summary>virt - phys for every mapped physical address.</summary>
    public readonly ulong Offset;

    /// <summary>A direct map at <paramref name="offset"/>.</summary>
    public DirectMap(ulong offset) { Offset = offset; }

    /// <summary>The pointer through which <paramref name="phys"/> is reached.</summary>
    public byte* ToVirt(ulong phys) => (byte*)(Offset + phys);

    /// <summary>The physical address behind a direct-map pointer.</summary>
    public ulong ToPhys(void* virt) => (ulong)virt - Offset;
}
